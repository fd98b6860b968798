"""``make eval``: the known topics and the open-vocabulary sets side by side, for three matchers.

    .venv/bin/python -m bench.eval_open_vocab [--no-heldout] [--final]

Matchers: ``lexicon`` (the hand-curated ``LocalMatcher`` alone), ``embedding`` (cosine similarity to
the compiled filter descriptions, one global threshold) and ``combined`` (``OpenVocabMatcher``: the
calibrated score, with the lexicon as a precision layer on the topics it was curated for).

Sets:
* known topics: the reference set beside the checkout when present, otherwise the in-repo
  ``tests/moderation/heldout_posts.py`` (``bench/eval_sets.py``; the output says which); the weights
  never saw either;
* open-vocabulary development set (``bench/data/open_vocab/dev.jsonl``): embedding and combined
  figures are leave-one-filter-out (each filter judged by a fit on the other eleven), never in-sample;
* open-vocabulary held-out set (``heldout.jsonl``): judged by the fit on the whole development set;
* with ``--final``, the blind held-out set on ten new filters (``heldout2.jsonl``), judged the same way. It
  is meant to be scored once, for the final report: nothing may be tuned on it.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bench.calibrate_open_vocab import leave_one_filter_out, pair_features
from bench.eval_sets import default_set
from bench.evaluation import aevaluate, score
from bench.open_vocab_data import dev_set, heldout2_set, heldout_set
from shared.config import load_settings
from shared.models import Filter
from shared.moderation.embedder import Embedder
from shared.moderation.evidence import FEATURES
from shared.moderation.local import LocalMatcher
from shared.moderation.open_vocab import Calibration, OpenVocabMatcher
from shared.moderation.vectors import MemoVectors
from shared.moderation.vocabulary import WordVectors

MATCHERS = ("lexicon", "embedding", "combined")


def table(title: str, results: dict[str, dict[str, Any]], filters: list[Filter]) -> str:
    lines = [f"\n== {title}", f"{'id':>3} {'filter':<44} " + " ".join(f"{m + ' F1':>13}" for m in results)]
    for f in filters:
        row = " ".join(f"{r['per_filter'][f.id]['f1']:>13.2f}" for r in results.values())
        lines.append(f"{f.id:>3} {f.filter_text[:44]:<44} {row}")
    lines.append(f"{'':>3} {'micro F1':<44} " + " ".join(f"{r['micro']['f1']:>13.3f}" for r in results.values()))
    lines.append(f"{'':>3} {'macro F1':<44} " + " ".join(f"{r['macro_f1']:>13.3f}" for r in results.values()))
    return "\n".join(lines)


async def run(include_heldout: bool, final: bool = False) -> int:
    settings = load_settings()
    cache = Path(settings.data_dir) / "models"
    embedder = Embedder(cache)
    source, words = MemoVectors(embedder), WordVectors(embedder, cache)
    matchers = {
        "lexicon": LocalMatcher(),
        "embedding": OpenVocabMatcher(source, words, Calibration.load("similarity_only"), lexicon_layer=False),
        "combined": OpenVocabMatcher(source, words, Calibration.load("combined")),
    }
    print(f"model loaded in {embedder.load.seconds:.2f} s ({'derived now' if embedder.load.derived_now else 'cached'})")

    filters, posts, where = default_set()
    label = f"known topics: {where}"
    print(table(label, {m: await aevaluate(matchers[m], posts, filters) for m in MATCHERS}, filters))

    filters, posts = dev_set()
    gold = {lp.post.id: sorted(lp.gold) for lp in posts}
    ids = [f.id for f in filters]
    x, y, keys = await pair_features(posts, filters, matchers["combined"])
    dev = {
        "lexicon": await aevaluate(matchers["lexicon"], posts, filters),
        "embedding": score(gold, leave_one_filter_out(x, y, keys, ids, [FEATURES.index("similarity"),
                                                                        len(FEATURES) - 1]), ids),
        "combined": score(gold, leave_one_filter_out(x, y, keys, ids), ids),
    }
    print(table(f"open vocabulary, development set ({len(posts)} posts; embedding and combined are "
                "leave-one-filter-out)", dev, filters))
    if include_heldout:
        filters, posts = heldout_set()
        held = {m: await aevaluate(matchers[m], posts, filters) for m in MATCHERS}
        print(table(f"open vocabulary, held-out set ({len(posts)} posts; fit on the whole development set)",
                    held, filters))
    if final:
        filters, posts = heldout2_set()
        blind = {m: await aevaluate(matchers[m], posts, filters) for m in MATCHERS}
        print(table(f"open vocabulary, blind held-out on new filters ({len(posts)} posts; fit on the whole "
                    "development set)", blind, filters))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-heldout", action="store_true", help="leave the held-out set out")
    parser.add_argument("--final", action="store_true",
                        help="also score the blind held-out set on new filters (once, for the final report)")
    args = parser.parse_args()
    return asyncio.run(run(not args.no_heldout, args.final))


if __name__ == "__main__":
    raise SystemExit(main())
