"""How the offline matcher reacts to cloud filter expansions, on the open-vocabulary development set.

    .venv/bin/python -m bench.eval_expansion

No cloud call: the expansions are hand-written stand-ins (``bench/data/expansions_by_hand.json``,
written from the filter texts alone, in the schema's shape and bounds), so the figures say what the
plumbing and the calibration do with expanded concepts, not how good a real model's expansions are.
Two readings, each with and without the expansions, side by side:

* ``shipped calibration``: the weights in ``calibration.json`` (fitted on this set's rule concepts, so
  the "without" column is in-sample);
* ``leave-one-filter-out``: each filter judged by a fit on the other eleven, features computed with
  (or without) the expansions: what a calibration refitted on expanded concepts would give.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from bench.calibrate_open_vocab import leave_one_filter_out
from bench.evaluation import score
from bench.open_vocab_data import dev_set
from shared.config import load_settings
from shared.models import Filter
from shared.moderation.embedder import Embedder
from shared.moderation.expansion import Expansions, normalise_filter_text, parse_expansion
from shared.moderation.open_vocab import OpenVocabMatcher
from shared.moderation.vectors import MemoVectors
from shared.moderation.vocabulary import WordVectors

EXPANSIONS_FILE = Path(__file__).with_name("data") / "expansions_by_hand.json"


def load_expansions(filters: list[Filter]) -> Expansions:
    raw = json.loads(EXPANSIONS_FILE.read_text())
    return {normalise_filter_text(f.filter_text): parse_expansion(raw[f.filter_text]) for f in filters}


async def run() -> int:
    import numpy as np

    settings = load_settings()
    cache = Path(settings.data_dir) / "models"
    embedder = Embedder(cache)
    matcher = OpenVocabMatcher(MemoVectors(embedder), WordVectors(embedder, cache))
    filters, posts = dev_set()
    ids = [f.id for f in filters]
    gold = {lp.post.id: sorted(lp.gold) for lp in posts}
    arms: dict[str, Expansions | None] = {"rules only": None, "with expansions": load_expansions(filters)}
    results: dict[str, dict[str, dict]] = {"shipped calibration": {}, "leave-one-filter-out": {}}
    for arm, expansions in arms.items():
        shipped: dict[str, list[int]] = {}
        rows, labels, keys = [], [], []
        for start in range(0, len(posts), 25):
            page = [lp.post for lp in posts[start:start + 25]]
            verdicts = await matcher.judge(page, filters, expansions)
            shipped.update({p.id: verdicts[p.id].matched_filter_ids for p in page})
            evidence = await matcher.gather(page, filters, expansions)
            for lp in posts[start:start + 25]:
                for f in filters:
                    rows.append(evidence[(lp.post.id, f.id)].vector())
                    labels.append(1.0 if f.id in lp.gold else 0.0)
                    keys.append((lp.post.id, f.id))
        results["shipped calibration"][arm] = score(gold, shipped, ids)
        lofo = leave_one_filter_out(np.array(rows), np.array(labels), keys, ids)
        results["leave-one-filter-out"][arm] = score(gold, lofo, ids)
    print(f"open-vocabulary development set, {len(posts)} posts, {len(filters)} filters")
    for reading, by_arm in results.items():
        print(f"\n== {reading}")
        print(f"{'id':>3} {'filter':<40} " + " ".join(f"{a:>18}" for a in by_arm))
        for f in filters:
            print(f"{f.id:>3} {f.filter_text[:40]:<40} "
                  + " ".join(f"{r['per_filter'][f.id]['f1']:>18.2f}" for r in by_arm.values()))
        for name in ("precision", "recall", "f1"):
            print(f"{'':>3} {'micro ' + name:<40} " + " ".join(f"{r['micro'][name]:>18.3f}" for r in by_arm.values()))
        print(f"{'':>3} {'macro F1':<40} " + " ".join(f"{r['macro_f1']:>18.3f}" for r in by_arm.values()))
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(run()))
