"""Fit the open-vocabulary matcher's weights and threshold on the pooled development data.

    .venv/bin/python -m bench.calibrate_open_vocab [--write]

The pool (``bench.open_vocab_data.pooled_development``): 341 posts over 22 filters, each post judged
against its own set's filters. Features per (post, filter) come from ``OpenVocabMatcher.gather``
(``shared/moderation/evidence.py``). A logistic regression (L2, Newton steps) combines them; one global
threshold maximises F1. The figures printed are leave-one-filter-out: each filter is scored by weights
and a threshold fitted on the other 21, so they say how the matcher does on a filter it was not tuned
on. ``--write`` stores the fit on all 22 in ``shared/moderation/calibration.json``. The final blind set
(``heldout3``) is never read here.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
from pathlib import Path

import numpy as np

from bench.evaluation import LabelledPost, score
from bench.open_vocab_data import LabelledGroup, pooled_development, pooled_files, pooled_filters
from shared.config import load_settings
from shared.models import Filter
from shared.moderation.embedder import Embedder
from shared.moderation.evidence import FEATURES
from shared.moderation.open_vocab import CALIBRATION_FILE, Calibration, OpenVocabMatcher
from shared.moderation.vectors import MemoVectors
from shared.moderation.vocabulary import WordVectors

L2 = 0.1


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float | None = None, steps: int = 30) -> np.ndarray:
    l2 = L2 if l2 is None else l2
    w = np.zeros(x.shape[1])
    penalty = np.eye(x.shape[1]) * l2
    penalty[-1, -1] = 0.0  # the bias is not shrunk
    for _ in range(steps):
        p = 1 / (1 + np.exp(-np.clip(x @ w, -50, 50)))
        grad = x.T @ (p - y) + penalty @ w
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
                        ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    rows, labels, keys = [], [], []
    for start in range(0, len(posts), 25):
        page = posts[start:start + 25]
        evidence = await matcher.gather([lp.post for lp in page], filters)
        for lp in page:
            for f in filters:
                rows.append(evidence[(lp.post.id, f.id)].vector())
                labels.append(1.0 if f.id in lp.gold else 0.0)
                keys.append((lp.post.id, f.id))
    return np.array(rows), np.array(labels), keys


async def pooled_features(groups: list[LabelledGroup], matcher: OpenVocabMatcher,
                          ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, int]]]:
    """``pair_features`` of every group (each post against its own group's filters), stacked."""
    parts = [await pair_features(g.posts, g.filters, matcher) for g in groups]
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
    if write:
        CALIBRATION_FILE.write_text(json.dumps({
            "features": list(FEATURES),
            "fitted_on": "bench/data/open_vocab/ pooled development data: "
                         + " + ".join(p.name for p in pooled_files()) + f" (sha256 {_dataset_digest()})",
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
