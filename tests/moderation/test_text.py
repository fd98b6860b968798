"""Normalising, tokenising and stemming."""

from __future__ import annotations

import pytest

from shared.moderation.text import stem, tokenize


@pytest.mark.parametrize(
    ("forms", "same"),
    [
        (["spider", "spiders", "Spider's"], True),
        (["injection", "injections"], True),
        (["vote", "votes", "voted", "voting"], True),
        (["stab", "stabbed", "stabbing"], True),
        (["bleed", "bleeding", "bled"], True),
        (["centipede", "centipedes"], True),
        (["crawly", "crawlies"], True),
        (["scar", "scared"], False),  # Porter's CVC rule keeps "scare" apart from "scar"
        (["news", "new"], False),
        (["does", "doe"], False),
    ],
)
def test_stemming_folds_plural_and_verb_forms(forms: list[str], same: bool) -> None:
    stems = {tokenize(f).stems[0] for f in forms}
    assert (len(stems) == 1) is same, stems


def test_stem_is_readable_for_the_common_cases() -> None:
    assert stem("spiders") == "spider"
    assert stem("injections") == "injection"


def test_normalisation_folds_case_accents_apostrophes_and_hyphens() -> None:
    tokens = tokenize("SPIDER\u2019S Caf\u00e9, eight-legged  isn\u2019t")
    assert tokens.words == ["spider's", "cafe", "eight", "legged", "isn't"]
    assert tokens.stems[:2] == ["spider", "cafe"]


def test_offsets_point_into_the_original_text_even_after_unicode_folding() -> None:
    # Full-width letters, a ligature, an em dash, curly quotes and accents.
    text = "\uff33\uff50\uff49\uff44\uff45\uff52 in the \ufb01eld \u2014 \u201cTarantula\u201d d\u00e9j\u00e0 vu"
    tokens = tokenize(text)
    spans = [tokens.span(i, i) for i in range(len(tokens))]
    assert "Tarantula" in spans and "d\u00e9j\u00e0" in spans
    assert tokens.stems[0] == "spider"
    assert all(s in text for s in spans)


def test_clause_breaks_are_recorded() -> None:
    tokens = tokenize("No, it is a spider. Not pregnant")
    assert tokens.clauses[0] != tokens.clauses[1]  # "No," is its own clause
    assert tokens.clauses[4] != tokens.clauses[5]


@pytest.mark.parametrize("text", [
    "a_b c__d e'f 'g h' i''j 12'34 x - y x-y",
    "No,it's|(spiders)[2]{x}\"q\"\u2014dash\u2013dash;semi:colon!?.\n\nnext",
    "SPIDER\u2019S Caf\u00e9 \ufb01eld \uff33\uff50\uff49\uff44\uff45\uff52 d\u00e9j\u00e0",
])
def test_words_found_at_once_line_up_with_the_offsets_and_clauses_read_later(text: str) -> None:
    tokens = tokenize(text)
    assert len(tokens.starts) == len(tokens.ends) == len(tokens.clauses) == len(tokens.words)
    # Each offset pair covers the original text of its word (folded the same way).
    assert [tokenize(tokens.span(i, i)).words for i in range(len(tokens))] == [[w] for w in tokens.words]
