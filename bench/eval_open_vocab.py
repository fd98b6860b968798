"""``make eval``: the known topics and the open-vocabulary sets side by side, for three matchers.

    .venv/bin/python -m bench.eval_open_vocab [--final]

Matchers: ``lexicon`` (the hand-curated ``LocalMatcher`` alone), ``embedding`` (cosine similarity to
the compiled filter descriptions, one global threshold) and ``combined`` (``OpenVocabMatcher``: the
calibrated score, with the lexicon as a precision layer on the topics it was curated for).

Sets:
* known topics: the reference set beside the checkout when present, otherwise the in-repo
  ``tests/moderation/heldout_posts.py`` (``bench/eval_sets.py``; the output says which); the weights
  never saw either;
* the pooled open-vocabulary development data (``bench.open_vocab_data.pooled_development``: dev,
  heldout, heldout2, heldout3, heldout4, heldout5, heldout6 and heldout7, 1,152 posts over 78 filters): embedding and
  combined figures are leave-one-filter-out (each filter judged by a fit on the other 77), never in-sample;
  then the same predictions per source set. The seven held-out sets were each scored once for a report and
  are development data now: their rows are not test figures;
* with ``--final``, the final blind set (``heldout8_filters.json`` + ``heldout8.jsonl``, written by a
  separate author and added at the end), judged by the fit on the whole pool (``calibration.json``). It
  is scored once, for the final report: nothing may be tuned on it. Without those files it says so and
  exits with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any

from bench.calibrate_open_vocab import (
    leave_one_filter_out,
    pooled_features,
    pooled_gold,
    similarity_columns,
)
from bench.eval_sets import default_set
from bench.evaluation import aevaluate, score
from bench.open_vocab_data import (
    FINAL_FILTERS,
    FINAL_POSTS,
    OPEN_VOCAB_DIR,
    LabelledGroup,
    final_set,
    pooled_development,
    pooled_filters,
)
from shared.config import load_settings
from shared.models import Filter
from shared.moderation.local import LocalMatcher
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import Calibration, OpenVocabMatcher
from shared.moderation.provider import ModerationProvider
from shared.moderation.vectors import MemoVectors

MATCHERS = ("lexicon", "embedding", "combined")


def build_matchers() -> dict[str, Any]:
    model = load_offline_model(load_settings())
    source = MemoVectors(model.embedder)
    return {
        "lexicon": LocalMatcher(),
        "embedding": OpenVocabMatcher(source, model.words, Calibration.load("similarity_only"), lexicon_layer=False),
        "combined": OpenVocabMatcher(source, model.words, Calibration.load("combined")),
    }


def table(title: str, results: dict[str, dict[str, Any]], filters: list[Filter]) -> str:
    lines = [f"\n== {title}", f"{'id':>3} {'filter':<44} " + " ".join(f"{m + ' F1':>13}" for m in results)]
    for f in filters:
        row = " ".join(f"{r['per_filter'][f.id]['f1']:>13.2f}" for r in results.values())
        lines.append(f"{f.id:>3} {f.filter_text[:44]:<44} {row}")
    lines.append(f"{'':>3} {'micro F1':<44} " + " ".join(f"{r['micro']['f1']:>13.3f}" for r in results.values()))
    lines.append(f"{'':>3} {'macro F1':<44} " + " ".join(f"{r['macro_f1']:>13.3f}" for r in results.values()))
    return "\n".join(lines)


async def pooled_predictions(groups: list[LabelledGroup], matchers: dict[str, Any]) -> dict[str, dict[str, list[int]]]:
    """Per matcher, post id -> predicted filter ids: the lexicon as it runs, the others leave-one-filter-out."""
    lexicon: dict[str, list[int]] = {}
    for g in groups:
        lexicon.update((await aevaluate(matchers["lexicon"], g.posts, g.filters))["predictions"])
    ids = [f.id for f in pooled_filters(groups)]
    x, y, keys = await pooled_features(groups, matchers["combined"])
    return {
        "lexicon": lexicon,
        "embedding": leave_one_filter_out(x, y, keys, ids, similarity_columns()),
        "combined": leave_one_filter_out(x, y, keys, ids),
    }


def pooled_report(groups: list[LabelledGroup], predicted: dict[str, dict[str, list[int]]]) -> str:
    filters = pooled_filters(groups)
    gold = pooled_gold(groups)
    ids = [f.id for f in filters]
    pooled = {m: score(gold, predicted[m], ids) for m in MATCHERS}
    out = [table(f"open vocabulary, pooled development data ({len(gold)} posts, {len(ids)} filters; embedding "
                 "and combined are leave-one-filter-out)", pooled, filters)]
    out.append("\n   the same predictions by source set (all development data now: the held-out sets were each "
               "scored once for a report, then tuned on), micro / macro F1")
    for g in groups:
        sub = {lp.post.id: sorted(lp.gold) for lp in g.posts}
        row = "  ".join(f"{m} {r['micro']['f1']:.3f} / {r['macro_f1']:.3f}"
                        for m, r in ((m, score(sub, predicted[m], [f.id for f in g.filters])) for m in MATCHERS))
        out.append(f"   {g.name:<9} ({len(g.posts):>3} posts, {len(g.filters):>2} filters)  {row}")
    return "\n".join(out)


async def final_report(matchers: dict[str, ModerationProvider], directory: Path = OPEN_VOCAB_DIR) -> tuple[int, str]:
    """(exit status, text): the final blind set judged by the shipped fit, or 1 and why when it is not there."""
    loaded = final_set(directory)
    if loaded is None:
        return 1, (f"\n== FINAL blind set MISSING: {directory / FINAL_FILTERS} and {directory / FINAL_POSTS} are not "
                   "both there; nothing was scored")
    filters, posts = loaded
    results = {m: await aevaluate(matchers[m], posts, filters) for m in MATCHERS}
    return 0, table(f"open vocabulary, FINAL blind set ({directory / FINAL_POSTS}: {len(posts)} posts, "
                    f"{len(filters)} new filters; judged by the fit on the whole pooled development data)",
                    results, filters)


async def run(final: bool, final_dir: Path = OPEN_VOCAB_DIR) -> int:
    matchers = build_matchers()
    embedder = load_offline_model(load_settings()).embedder
    print(f"model loaded in {embedder.load.seconds:.2f} s ({'derived now' if embedder.load.derived_now else 'cached'})")

    filters, posts, where = default_set()
    label = f"known topics: {where}"
    print(table(label, {m: await aevaluate(matchers[m], posts, filters) for m in MATCHERS}, filters))

    groups = pooled_development()
    print(pooled_report(groups, await pooled_predictions(groups, matchers)))
    if final:
        status, report = await final_report(matchers, final_dir)
        print(report)
        return status
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--final", action="store_true",
                        help=f"also score the final blind set ({FINAL_FILTERS} + {FINAL_POSTS}; once, for the final "
                             "report)")
    args = parser.parse_args()
    return asyncio.run(run(args.final))


if __name__ == "__main__":
    raise SystemExit(main())
