"""Free filter text to concepts."""

from __future__ import annotations

import pytest

from shared.moderation.parse import plan_filter


@pytest.mark.parametrize(
    ("text", "concepts"),
    [
        ("spiders", ["spider"]),
        ("news about elections", ["election"]),
        ("food and eating, I'm recovering from an eating disorder", ["food"]),
        ("war and civilian casualties", ["war"]),
        ("needles and injections", ["needles"]),
        ("animals being hurt", ["animal_harm"]),
        ("violent crime news", ["violent_crime"]),
        ("pregnancy announcements", ["pregnancy"]),
        ("close-up photos of spiders or other creepy crawlies", ["spider", "creepy_crawly"]),
        ("spoilers for The Last of Us", ["tlou"]),
        ("Photos of Blood", ["blood"]),
    ],
)
def test_framing_is_stripped_and_concepts_found(text: str, concepts: list[str]) -> None:
    assert [c.id for c in plan_filter(text).concepts] == concepts


def test_close_up_is_a_modifier_not_a_concept() -> None:
    assert plan_filter("close-up photos of spiders").closeup is True
    assert plan_filter("spiders").closeup is False


def test_unknown_text_falls_back_to_its_own_words() -> None:
    (concept,) = plan_filter("news about dogs in distress").concepts
    assert concept.id == "literal:dogs in distress"
    assert concept.terms["dogs in distress"] == 1.0
    # Each content word alone is not enough; together they are.
    assert concept.terms["dogs"] < 1.0 and concept.terms["dogs"] + concept.terms["distress"] >= 1.0


def test_an_idiom_of_a_concept_does_not_select_it() -> None:
    assert [c.id for c in plan_filter("Spider-Man movies").concepts] == ["literal:spider man movies"]


def test_spoilers_for_an_unknown_work_need_a_plot_event() -> None:
    (concept,) = plan_filter("Severance spoilers").concepts
    assert concept.id == "spoiler:severance"
    assert concept.require_cue
