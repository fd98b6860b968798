"""What a cloud model said a filter means: a ``FilterExpansion``, validated and bounded before anything uses it.

With a cloud key the gateway asks a model once per distinct filter text (``gateway.expansions``) for
descriptions, uses of the filter's words that never count, example phrasings, and whether a passing
mention counts. The reply is untrusted: it is parsed here into plain, short, printable strings in
bounded lists (anything else is dropped, a reply of the wrong shape is rejected), and is only ever
compared with posts (embedded) or quoted inside a JSON document to a model; it is never executed.
``FilterConcept.with_expansion`` merges it into the rule-compiled concept.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

MAX_DESCRIPTIONS = 6
MAX_EXCLUSIONS = 6
MAX_EXAMPLES = 6
MAX_ITEM_CHARS = 160
MAX_REPLY_CHARS = 20_000  # a longer reply is not what was asked for; it is rejected unread
_LIST_FIELDS = {"descriptions": MAX_DESCRIPTIONS, "exclusions": MAX_EXCLUSIONS, "examples": MAX_EXAMPLES}
# Markup and character references have no place in a description; an item carrying them is dropped.
_MARKUP = re.compile(r"[<>]|&#?\w+;")
_TRAILING = re.compile(r"[\s.!?,;:]+$")


class ExpansionRejected(ValueError):
    """A model's reply that is not a usable expansion (not JSON, wrong shape or types, nothing usable left)."""


@dataclass(frozen=True)
class FilterExpansion:
    descriptions: tuple[str, ...]  # what posts it is meant to catch, in other words than the filter's
    exclusions: tuple[str, ...]  # homonyms, idioms, names using its words that never count
    examples: tuple[str, ...]  # short example posts that should be caught
    passing_mention_counts: bool  # one sentence delivering the information is enough (news, spoilers)

    def texts(self) -> tuple[str, ...]:
        """Every text the offline model embeds for this expansion."""
        return (*self.descriptions, *self.examples, *self.exclusions)

    def to_json(self) -> bytes:
        return orjson.dumps({
            "descriptions": list(self.descriptions),
            "exclusions": list(self.exclusions),
            "examples": list(self.examples),
            "passing_mention_counts": self.passing_mention_counts,
        })

    def digest(self) -> str:
        """Short fingerprint: part of the verdict cache's filter signature, so a new expansion is a new page."""
        return hashlib.sha256(self.to_json()).hexdigest()[:16]


# Keyed by ``normalise_filter_text`` of the filter text it expands.
Expansions = Mapping[str, FilterExpansion]


def normalise_filter_text(text: str) -> str:
    """One key per filter as people type it: case, spacing and trailing punctuation do not matter."""
    return _TRAILING.sub("", " ".join(text.split()).casefold())


def expansion_for(expansions: Expansions | None, filter_text: str) -> FilterExpansion | None:
    return expansions.get(normalise_filter_text(filter_text)) if expansions else None


def _clean_item(value: Any) -> str | None:
    if not isinstance(value, str):
        raise ExpansionRejected(f"list item is {type(value).__name__}, not a string")
    text = " ".join(value.split())
    if not text or len(text) > MAX_ITEM_CHARS or not text.isprintable() or _MARKUP.search(text):
        return None
    return text


def _clean_list(data: Mapping[str, Any], name: str, limit: int) -> tuple[str, ...]:
    raw = data.get(name)
    if not isinstance(raw, list):
        raise ExpansionRejected(f"{name} is {type(raw).__name__}, not a list")
    kept: dict[str, str] = {}
    for item in raw[: limit * 4]:  # a flood of junk items is not read to the end
        text = _clean_item(item)
        if text is not None and text.casefold() not in kept:
            kept[text.casefold()] = text
        if len(kept) == limit:
            break
    return tuple(kept.values())


def parse_expansion(raw: str | bytes | Mapping[str, Any]) -> FilterExpansion:
    """A validated, bounded expansion from a model's JSON reply (or from the cache); ``ExpansionRejected`` if unusable.

    Lists are cut to their caps; items that are too long, empty, not printable or carry markup are
    dropped; a value of the wrong type rejects the whole reply (the model did not follow the schema).
    """
    if isinstance(raw, str | bytes):
        if len(raw) > MAX_REPLY_CHARS:
            raise ExpansionRejected(f"reply of {len(raw)} characters is longer than {MAX_REPLY_CHARS}")
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ExpansionRejected(f"reply is not JSON: {exc}") from exc
    else:
        data = raw
    if not isinstance(data, Mapping):
        raise ExpansionRejected(f"reply is {type(data).__name__}, not an object")
    lists = {name: _clean_list(data, name, limit) for name, limit in _LIST_FIELDS.items()}
    passing = data.get("passing_mention_counts")
    if not isinstance(passing, bool):
        raise ExpansionRejected("passing_mention_counts is not a boolean")
    if not lists["descriptions"] and not lists["examples"]:
        raise ExpansionRejected("no usable description or example")
    return FilterExpansion(passing_mention_counts=passing, **lists)
