"""A cloud model's filter expansion: validated and bounded before use, merged into the rule concept. No network
here; the calls, the cache and their use in /get_feed are in tests/gateway/test_filter_expansion.py."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from shared.moderation.concepts import compile_concept
from shared.moderation.expansion import (
    MAX_DESCRIPTIONS,
    MAX_EXAMPLES,
    MAX_EXCLUSIONS,
    MAX_ITEM_CHARS,
    MAX_REPLY_CHARS,
    ExpansionRejected,
    FilterExpansion,
    normalise_filter_text,
    parse_expansion,
)


def reply(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "descriptions": ["a delayed satellite launch programme"],
        "exclusions": ["the northern lights"],
        "examples": ["the launch slipped again, now they say March"],
        "passing_mention_counts": True,
    }
    return {**base, **overrides}


def test_a_well_formed_reply_parses_from_json_text() -> None:
    expansion = parse_expansion(orjson.dumps(reply()).decode())
    assert expansion == FilterExpansion(("a delayed satellite launch programme",), ("the northern lights",),
                                        ("the launch slipped again, now they say March",), True)
    assert parse_expansion(expansion.to_json()) == expansion  # what the cache holds reads back the same


def test_oversized_lists_are_cut_to_their_caps_and_duplicates_dropped() -> None:
    many = [f"kind of post number {i}" for i in range(50)]
    expansion = parse_expansion(reply(descriptions=["Same thing", "same  thing", *many], exclusions=many,
                                      examples=many * 3))
    assert expansion.descriptions[0] == "Same thing" and "same  thing" not in expansion.descriptions
    assert len(expansion.descriptions) == MAX_DESCRIPTIONS
    assert len(expansion.exclusions) == MAX_EXCLUSIONS and len(expansion.examples) == MAX_EXAMPLES


@pytest.mark.parametrize("item", [
    "<script>alert(1)</script>",
    "a launch <b>slipped</b>",
    "rockets &amp; satellites",
    "tab\tis fine but a bell\x07 is not",
    "right-to-left \u202e override",
    "x" * (MAX_ITEM_CHARS + 1),
    "   ",
])
def test_items_with_markup_control_characters_or_too_long_are_dropped(item: str) -> None:
    expansion = parse_expansion(reply(descriptions=[item, "a satellite launch"], exclusions=[item]))
    assert expansion.descriptions == ("a satellite launch",)
    assert expansion.exclusions == ()


def test_whitespace_inside_an_item_is_collapsed() -> None:
    assert parse_expansion(reply(examples=["  the launch\n slipped\tagain "])).examples == ("the launch slipped again",)


@pytest.mark.parametrize("raw", [
    "not json at all",
    "[1, 2, 3]",
    orjson.dumps(reply(descriptions="a single string")).decode(),
    orjson.dumps(reply(examples=[{"text": "nested"}])).decode(),
    orjson.dumps(reply(exclusions=None)).decode(),
    orjson.dumps(reply(passing_mention_counts="yes")).decode(),
    orjson.dumps({k: v for k, v in reply().items() if k != "passing_mention_counts"}).decode(),
    orjson.dumps(reply(descriptions=["<b>only markup</b>"], examples=[])).decode(),
    orjson.dumps(reply(descriptions=["valid but far too long a reply"] * (MAX_REPLY_CHARS // 20))).decode(),
])
def test_a_reply_of_the_wrong_shape_or_with_nothing_usable_is_rejected(raw: str) -> None:
    with pytest.raises(ExpansionRejected):
        parse_expansion(raw)


def test_filter_texts_normalise_to_one_key() -> None:
    assert normalise_filter_text("  Project   Aurora. ") == normalise_filter_text("project aurora") == "project aurora"


def test_the_expansion_adds_to_the_rule_concept_and_never_removes_from_it() -> None:
    rules = compile_concept("sharks")
    expansion = parse_expansion(reply(descriptions=["a great white near swimmers"],
                                      exclusions=["the San Jose Sharks hockey team", "Sharks", rules.descriptions[0]],
                                      examples=["a fin circled our boat"], passing_mention_counts=True))
    merged = rules.with_expansion(expansion)
    assert merged.descriptions[: len(rules.descriptions)] == rules.descriptions
    assert merged.descriptions[len(rules.descriptions):] == ("a great white near swimmers", "a fin circled our boat")
    # An exclusion naming the subject or a rule description would cancel the filter itself: ignored.
    assert merged.exclusions == (*rules.exclusions, "the San Jose Sharks hockey team")
    assert merged.information and not rules.information
    assert (merged.topic, merged.subject, merged.user_exclusions) == (rules.topic, rules.subject, rules.user_exclusions)
    assert rules.with_expansion(None) is rules
