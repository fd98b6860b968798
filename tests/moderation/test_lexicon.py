"""Integrity of the concept lexicon: mistakes here silently disable whole concepts."""

from __future__ import annotations

import pytest

from shared.moderation.lexicon import CONCEPTS, Concept
from shared.moderation.parse import plan_filter
from shared.moderation.text import WILD, phrase_pattern


@pytest.mark.parametrize("concept", CONCEPTS, ids=lambda c: c.id)
def test_no_idiom_stems_like_one_of_its_own_terms(concept: Concept) -> None:
    # An exclusion that stems to the same words as a term ("spidered" → "spider") would shadow it.
    positive = {phrase_pattern(p) for p in [*concept.terms, *concept.cues]}
    positive |= {phrase_pattern(w) for rule in concept.pairs for w in (*rule.left, *rule.right)}
    clashes = [e for e in concept.exclude if phrase_pattern(e) in positive]
    assert clashes == []


@pytest.mark.parametrize("concept", CONCEPTS, ids=lambda c: c.id)
def test_terms_that_stem_alike_agree_on_their_weight(concept: Concept) -> None:
    weights: dict[tuple[str, ...], set[float]] = {}
    for phrase, weight in concept.terms.items():
        weights.setdefault(phrase_pattern(phrase), set()).add(weight)
    assert {p: w for p, w in weights.items() if len(w) > 1} == {}


@pytest.mark.parametrize("concept", CONCEPTS, ids=lambda c: c.id)
def test_every_key_selects_its_concept(concept: Concept) -> None:
    for key in concept.keys:
        assert concept.id in [c.id for c in plan_filter(key).concepts], key


def test_no_phrase_starts_with_a_wildcard() -> None:
    for concept in CONCEPTS:
        for phrase in [*concept.terms, *concept.cues, *concept.exclude]:
            assert phrase_pattern(phrase)[0] != WILD, phrase
