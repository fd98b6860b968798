"""Fit the open-vocabulary matcher's weights and threshold on the pooled development data.

    .venv/bin/python -m bench.calibrate_open_vocab [--write]

The pool (``bench.open_vocab_data.pooled_development``): 1,152 posts over 78 filters, each post judged
against its own set's filters. Features per (post, filter) come from ``OpenVocabMatcher.gather``
(``shared/moderation/evidence.py``). A logistic regression (L2, Newton steps) combines them; one global
threshold maximises F1. The figures printed are leave-one-filter-out: each filter is scored by weights
and a threshold fitted on the other 77, so they say how the matcher does on a filter it was not tuned
on. ``--write`` stores the fit on all 78 in ``shared/moderation/calibration.json``. The final blind set
(``heldout8``) is never read here.

The second variant, ``combined_expanded``, scores filters with a cloud expansion. It is fitted (``EXPANDED_FIT``)
on the only filters with expansions to fit on: the first author's twelve with the hand-written stand-ins of
``bench/data/expansions_by_hand.json`` (not model output), on their posts (dev + heldout), and validated
leave-one-filter-out over those twelve (a left-out filter is out of the rule fit too).
``bench/eval_expansion.py`` compares the ways of fitting it.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.evaluation import LabelledPost, score
from bench.expansions_by_hand import EXPANSIONS_FILE, expanded_groups, load_expansions
from bench.open_vocab_data import LabelledGroup, pooled_development, pooled_files, pooled_filters
from shared.config import load_settings
from shared.models import Filter
from shared.moderation.embedder import Embedder
from shared.moderation.evidence import FEATURES
from shared.moderation.expansion import Expansions
from shared.moderation.open_vocab import CALIBRATION_FILE, Calibration, OpenVocabMatcher
from shared.moderation.vectors import MemoVectors
from shared.moderation.vocabulary import WordVectors

L2 = 0.1


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float | np.ndarray | None = None, steps: int = 30,
                 toward: np.ndarray | None = None) -> np.ndarray:
    """L2-penalised logistic regression (``l2`` one strength or one per feature); the penalty pulls toward
    ``toward`` (zero by default), the bias is free."""
    l2 = L2 if l2 is None else l2
    prior = np.zeros(x.shape[1]) if toward is None else toward
    w = prior.copy()
    penalty = np.diag(np.broadcast_to(np.asarray(l2, dtype=np.float64), (x.shape[1],))).copy()
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - y) + penalty @ (w - prior)
        hess = x.T @ (x * (p * (1 - p))[:, None]) + penalty + 1e-9 * np.eye(x.shape[1])
        w -= np.linalg.solve(hess, grad)
    return w


def best_threshold(p: np.ndarray, y: np.ndarray) -> float:
    best, best_f1 = 0.5, -1.0
    for t in np.unique(np.round(p, 4)):
        pred = p >= t
        tp = float((pred & (y == 1)).sum())
        f1 = 2 * tp / (pred.sum() + y.sum()) if pred.sum() + y.sum() else 0.0
        if f1 > best_f1:
            best, best_f1 = float(t), f1
    return best


async def pair_features(posts: list[LabelledPost], filters: list[Filter], matcher: OpenVocabMatcher,
                        expansions: Expansions | None = None,
                        ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    rows, labels, keys = [], [], []
    for start in range(0, len(posts), 25):
        page = posts[start:start + 25]
        evidence = await matcher.gather([lp.post for lp in page], filters, expansions)
        for lp in page:
            for f in filters:
                rows.append(evidence[(lp.post.id, f.id)].vector())
                labels.append(1.0 if f.id in lp.gold else 0.0)
                keys.append((lp.post.id, f.id))
    return np.array(rows), np.array(labels), keys


async def pooled_features(groups: list[LabelledGroup], matcher: OpenVocabMatcher,
                          expansions: Expansions | None = None,
                          ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """``pair_features`` of every group (each post against its own group's filters), stacked."""
    parts = [await pair_features(g.posts, g.filters, matcher, expansions) for g in groups]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            [k for p in parts for k in p[2]])


def pooled_gold(groups: list[LabelledGroup]) -> dict[str, list[int]]:
    return {lp.post.id: sorted(lp.gold) for g in groups for lp in g.posts}


def similarity_columns() -> list[int]:
    """The embedding-only baseline: similarity and the bias."""
    return [FEATURES.index("similarity"), len(FEATURES) - 1]


def leave_one_filter_out(x: np.ndarray, y: np.ndarray, keys: list[tuple[str, int]], filter_ids: list[int],
                         columns: list[int] | None = None) -> dict[str, list[int]]:
    """Predictions for each filter from a fit on the other filters only."""
    cols = columns if columns is not None else list(range(x.shape[1]))
    fids = np.array([k[1] for k in keys])
    predicted: dict[str, list[int]] = {k[0]: [] for k in keys}
    for fid in filter_ids:
        train, test = fids != fid, fids == fid
        w = fit_logistic(x[train][:, cols], y[train])
        p_train = 1 / (1 + np.exp(-x[train][:, cols] @ w))
        t = best_threshold(p_train, y[train])
        p_test = 1 / (1 + np.exp(-x[test][:, cols] @ w))
        for (post_id, _), hit in zip([k for k, m in zip(keys, test, strict=True) if m], p_test >= t, strict=True):
            if hit:
                predicted[post_id].append(fid)
    return predicted


Features = tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]
KEPT_L2 = 1e4
# What an expansion does not change: the user's own exclusions, the lexicon, mentions of the filter's words and
# of WordNet's related words. Twelve filters exercise them little (one has a user exclusion); the rule fit saw 34.
UNEXPANDED_FEATURES = ("margin_over_user_exclusions", "lexicon_match", "negated_mention", "related_mention")


def context_band(x: np.ndarray) -> list[float]:
    """The range of context_similarity - similarity over the pairs whose post holds the filter's words (where the
    two differ), rounded outward: the band ``Calibration.settled_context`` settles within. All of it: with the
    0.5th-99.5th percentiles, the one pair beyond the top (a copy more similar than its post) was decided
    otherwise than by its computed copy once the weights were refitted."""
    s, c = FEATURES.index("similarity"), FEATURES.index("context_similarity")
    gap = (x[:, c] - x[:, s])[x[:, c] != x[:, s]]
    return [math.floor(float(gap.min()) * 1e4) / 1e4, math.ceil(float(gap.max()) * 1e4) / 1e4]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-np.clip(z, -50, 50)))


@dataclass(frozen=True)
class ExpandedFit:
    """How the expanded variant (filters with a cloud expansion) is fitted from the rule variant's data and the
    expanded concepts' features.

    ``l2`` None keeps the rule weights; otherwise the weights are refitted on the expanded features with that
    L2 pulling them toward the rule weights (``toward_rules``) or toward zero. ``own_threshold`` chooses the
    threshold on the expanded features, else the rule fit's threshold is kept.
    """

    name: str
    l2: float | None
    toward_rules: bool = True
    own_threshold: bool = True
    kept: tuple[str, ...] = ()  # features held at the rule weights (an L2 of KEPT_L2 toward them)

    def fit(self, rules: Features, expanded: Features) -> tuple[np.ndarray, float]:
        rule_w = fit_logistic(rules[0], rules[1])
        if self.l2 is None:
            w = rule_w
        else:
            kept = np.array([f in self.kept for f in FEATURES])
            prior = np.where(kept | self.toward_rules, rule_w, 0.0)
            w = fit_logistic(expanded[0], expanded[1], np.where(kept, KEPT_L2, self.l2), toward=prior)
        x, y = (expanded[0], expanded[1]) if self.own_threshold else (rules[0], rules[1])
        return w, best_threshold(_sigmoid(x @ w), y)


# The stored fit (``--write``): the description and exclusion features refitted on the expanded concepts (the
# expansion changes exactly those; its specific exclusions make the margin over them informative, where the rule
# fit weighs it negatively), with the rule variant's L2, and what an expansion does not change held at the rule
# weights (fitted on 78 filters). Chosen among ``EXPANDED_FITS`` on their leave-one-filter-out figures
# (``bench/eval_expansion.py``), so its figure is somewhat optimistic.
EXPANDED_FIT = ExpandedFit("unexpanded features kept, the rest L2 0.1", L2, toward_rules=False,
                           kept=UNEXPANDED_FEATURES)
EXPANDED_FITS = (
    ExpandedFit("rule variant as it is", None, own_threshold=False),
    ExpandedFit("rule weights, own threshold", None),
    ExpandedFit("toward the rule weights, L2 1", 1.0),
    ExpandedFit("toward the rule weights, L2 10", 10.0),
    ExpandedFit("free fit, L2 0.1", L2, toward_rules=False),
    ExpandedFit("free fit, L2 1", 1.0, toward_rules=False),
    ExpandedFit("unexpanded features kept, the rest L2 0.03", 0.03, toward_rules=False, kept=UNEXPANDED_FEATURES),
    EXPANDED_FIT,
    ExpandedFit("unexpanded features kept, the rest L2 0.3", 0.3, toward_rules=False, kept=UNEXPANDED_FEATURES),
    ExpandedFit("unexpanded features kept, the rest L2 1", 1.0, toward_rules=False, kept=UNEXPANDED_FEATURES),
)


def _without(features: Features, filter_id: int) -> Features:
    x, y, keys = features
    keep = np.array([k[1] != filter_id for k in keys])
    return x[keep], y[keep], [k for k, m in zip(keys, keep, strict=True) if m]


def leave_one_expanded_filter_out(rules: Features, expanded: Features, filter_ids: list[int],
                                  how: ExpandedFit = EXPANDED_FIT) -> dict[str, list[int]]:
    """Predictions for each expanded filter by an expanded variant fitted without it: its rule concept is left
    out of the rule fit (the prior) and its expanded concept out of the expanded fit."""
    x, _, keys = expanded
    fids = np.array([k[1] for k in keys])
    predicted: dict[str, list[int]] = {k[0]: [] for k in keys}
    for fid in filter_ids:
        w, t = how.fit(_without(rules, fid), _without(expanded, fid))
        test = fids == fid
        for (post_id, _), hit in zip([k for k, m in zip(keys, test, strict=True) if m], _sigmoid(x[test] @ w) >= t,
                                     strict=True):
            if hit:
                predicted[post_id].append(fid)
    return predicted


async def expanded_features(matcher: OpenVocabMatcher, groups: list[LabelledGroup],
                            ) -> tuple[list[LabelledGroup], Features]:
    """The groups with hand-written expansions and their features with the expansions merged."""
    chosen = expanded_groups(groups)
    expansions = load_expansions(pooled_filters(chosen))
    return chosen, await pooled_features(chosen, matcher, expansions)


def _fit_all(x: np.ndarray, y: np.ndarray, cols: list[int]) -> dict:
    """Weights over all features (zero where a variant leaves one out) and the F1-best threshold."""
    w_sub = fit_logistic(x[:, cols], y)
    weights = np.zeros(x.shape[1])
    weights[cols] = w_sub
    threshold = best_threshold(1 / (1 + np.exp(-x[:, cols] @ w_sub)), y)
    return {"weights": [round(float(v), 6) for v in weights], "threshold": round(threshold, 6)}


def _summary(result: dict) -> dict:
    return {"micro_f1": round(result["micro"]["f1"], 4), "macro_f1": round(result["macro_f1"], 4)}


def _dataset_digest() -> str:
    h = hashlib.sha256()
    for path in pooled_files():
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def print_score(title: str, result: dict, filters: list[Filter]) -> None:
    texts = {f.id: f.filter_text for f in filters}
    print(f"\n{title}")
    for fid, m in result["per_filter"].items():
        print(f"  {fid:>3} {texts[fid][:40]:<40} P {m['precision']:.2f} R {m['recall']:.2f} F1 {m['f1']:.2f}")
    print(f"  micro F1 {result['micro']['f1']:.3f}  macro F1 {result['macro_f1']:.3f}")


async def _expanded_variant(matcher: OpenVocabMatcher, groups: list[LabelledGroup], rules: Features) -> dict:
    """The variant for filters with a cloud expansion: fitted on the filters that have a hand-written stand-in
    (``EXPANDED_FIT``), validated leave-one-filter-out over them."""
    chosen, expanded = await expanded_features(matcher, groups)
    filters = pooled_filters(chosen)
    ids = [f.id for f in filters]
    result = score(pooled_gold(chosen), leave_one_expanded_filter_out(rules, expanded, ids), ids)
    print_score(f"combined_expanded, {EXPANDED_FIT.name} (leave-one-filter-out over the {len(ids)} filters "
                f"with hand-written expansions, {sum(len(g.posts) for g in chosen)} posts)", result, filters)
    w, t = EXPANDED_FIT.fit(rules, expanded)
    fit = {"weights": [round(float(v), 6) for v in w], "threshold": round(t, 6),
           "leave_one_filter_out": _summary(result),
           "fitted_on": f"{' + '.join(g.name for g in chosen)} ({len(ids)} filters) with the hand-written stand-in "
                        f"expansions of {EXPANSIONS_FILE.name}, {EXPANDED_FIT.name}"}
    print(f"fit on all {len(ids)}:", json.dumps(fit))
    return fit


async def main_async(write: bool) -> int:
    settings = load_settings()
    cache = Path(settings.data_dir) / "models"
    embedder = Embedder(cache)
    zero = Calibration(np.zeros(len(FEATURES)), 0.5)
    matcher = OpenVocabMatcher(MemoVectors(embedder), WordVectors(embedder, cache), zero)
    groups = pooled_development()
    filters = pooled_filters(groups)
    x, y, keys = await pooled_features(groups, matcher)
    gold = pooled_gold(groups)
    ids = [f.id for f in filters]
    combined = score(gold, leave_one_filter_out(x, y, keys, ids), ids)
    similarity_cols = similarity_columns()
    semantic_only = score(gold, leave_one_filter_out(x, y, keys, ids, similarity_cols), ids)
    print_score("semantic similarity only, one threshold (leave-one-filter-out)", semantic_only, filters)
    print_score("combined (leave-one-filter-out)", combined, filters)
    fits = {"combined": _fit_all(x, y, list(range(len(FEATURES)))), "similarity_only": _fit_all(x, y, similarity_cols)}
    fits["combined"]["leave_one_filter_out"] = _summary(combined)
    fits["similarity_only"]["leave_one_filter_out"] = _summary(semantic_only)
    print(f"\nfit on all {len(ids)} filters:", json.dumps(fits["combined"]))
    fits["combined_expanded"] = await _expanded_variant(matcher, groups, (x, y, keys))
    if write:
        CALIBRATION_FILE.write_text(json.dumps({
            "features": list(FEATURES),
            "fitted_on": "bench/data/open_vocab/ pooled development data: "
                         + " + ".join(p.name for p in pooled_files()) + f" (sha256 {_dataset_digest()})",
            "context_band": context_band(x),
            **fits,
        }, indent=2) + "\n")
        print(f"wrote {CALIBRATION_FILE}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="store the fit in shared/moderation/calibration.json")
    return asyncio.run(main_async(parser.parse_args().write))


if __name__ == "__main__":
    raise SystemExit(main())
