"""How the offline matcher does with cloud filter expansions, on the filters that have hand-written ones.

    .venv/bin/python -m bench.eval_expansion

No cloud call: the expansions are hand-written stand-ins (``bench/data/expansions_by_hand.json``, written
from the first author's twelve filter texts alone, in the schema's shape and bounds), so the figures say
what the plumbing and the calibration do with expanded concepts, not how good a real model's expansions
are. The posts: that author's two sets (``dev.jsonl`` + ``heldout.jsonl``, 213 posts, 12 filters; both
development data). Two readings:

* ``shipped calibration``: ``calibration.json`` as the matcher uses it: rules only (``combined``); with the
  expansions scored by the rule variant (as before the expanded variant existed); with the expansions
  scored by ``combined_expanded`` (the matcher now). All in-sample: both variants were fitted on these posts.
* ``leave-one-filter-out``: each filter judged by fits that never saw it: the rule variant fitted on the
  other 33 pooled filters, and each way of fitting the expanded variant (``EXPANDED_FITS``) on the other
  eleven, with the spread of its difference to rules only over a bootstrap of the twelve filters.
"""

from __future__ import annotations

import asyncio

import numpy as np

from bench.calibrate_open_vocab import (
    EXPANDED_FIT,
    EXPANDED_FITS,
    expanded_features,
    leave_one_expanded_filter_out,
    leave_one_filter_out,
    pooled_features,
    pooled_gold,
)
from bench.eval_wordnet import bootstrap
from bench.evaluation import LabelledPost, score
from bench.expansions_by_hand import load_expansions
from bench.open_vocab_data import pooled_development, pooled_filters
from shared.config import load_settings
from shared.models import Filter
from shared.moderation.evidence import FEATURES
from shared.moderation.expansion import Expansions
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import Calibration, OpenVocabMatcher
from shared.moderation.vectors import MemoVectors


async def shipped(matcher: OpenVocabMatcher, posts: list[LabelledPost], filters: list[Filter],
                  expansions: Expansions | None) -> dict[str, list[int]]:
    predicted: dict[str, list[int]] = {}
    for start in range(0, len(posts), 25):
        page = [lp.post for lp in posts[start:start + 25]]
        verdicts = await matcher.judge(page, filters, expansions)
        predicted.update({p.id: verdicts[p.id].matched_filter_ids for p in page})
    return predicted


def _row(name: str, result: dict, dev_ids: set[str], gold: dict, ids: list[int], predicted: dict,
         spread: str = "") -> str:
    dev = score({k: v for k, v in gold.items() if k in dev_ids}, predicted, ids)
    m = result["micro"]
    return (f"{name:<58} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} {result['macro_f1']:>6.3f}"
            f" {dev['micro']['f1']:>8.3f}  {spread}")


async def run() -> int:
    model = load_offline_model(load_settings())
    source = MemoVectors(model.embedder)
    groups = pooled_development()
    features = OpenVocabMatcher(source, model.words, Calibration(np.zeros(len(FEATURES)), 0.5))
    rules = await pooled_features(groups, features)
    chosen, expanded = await expanded_features(features, groups)
    filters = pooled_filters(chosen)
    ids = [f.id for f in filters]
    expansions = load_expansions(filters)
    posts = [lp for g in chosen for lp in g.posts]
    gold = pooled_gold(chosen)
    dev_ids = {lp.post.id for g in chosen if g.name == "dev" for lp in g.posts}
    header = (f"{'':<58} {'P':>6} {'R':>6} {'F1':>6} {'macro':>6} {'dev F1':>8}  "
              "difference to rules only (LOFO), micro [5th, 95th] / macro")
    print(f"{len(posts)} posts ({', '.join(g.name for g in chosen)}), {len(ids)} filters with hand-written "
          "expansions; micro P / R / F1, macro F1, and micro F1 on dev.jsonl's posts alone")

    rule_variant = Calibration.load("combined")
    arms = {
        "rules only (combined)": (OpenVocabMatcher(source, model.words), None),
        "expanded, scored by the rule variant": (
            OpenVocabMatcher(source, model.words, rule_variant, expanded_calibration=rule_variant), expansions),
        "expanded, scored by combined_expanded": (OpenVocabMatcher(source, model.words), expansions),
    }
    print("\n== shipped calibration (in-sample: both variants were fitted on these posts)\n" + header)
    for name, (matcher, with_expansions) in arms.items():
        predicted = await shipped(matcher, posts, filters, with_expansions)
        print(_row(name, score(gold, predicted, ids), dev_ids, gold, ids, predicted))

    print("\n== leave-one-filter-out (each filter judged by fits without it)\n" + header)
    rule_lofo = leave_one_filter_out(*rules, [f.id for f in pooled_filters(groups)])
    base = score(gold, rule_lofo, ids)
    others = len(pooled_filters(groups)) - 1
    print(_row(f"rules only (combined, fitted on the other {others})", base, dev_ids, gold, ids, rule_lofo))
    for how in EXPANDED_FITS:
        predicted = leave_one_expanded_filter_out(rules, expanded, ids, how)
        result = score(gold, predicted, ids)
        lo_mi, hi_mi, lo_ma, hi_ma = bootstrap(base, result)
        spread = (f"{result['micro']['f1'] - base['micro']['f1']:+.3f} [{lo_mi:+.3f}, {hi_mi:+.3f}] / "
                  f"{result['macro_f1'] - base['macro_f1']:+.3f} [{lo_ma:+.3f}, {hi_ma:+.3f}]")
        name = f"expanded, {how.name}" + (" *" if how == EXPANDED_FIT else "")
        print(_row(name, result, dev_ids, gold, ids, predicted, spread))
    print("* the fit calibration.json's combined_expanded stores")
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run()))
