"""Turning what a user typed into concepts the matcher can look for.

"close-up photos of spiders or other creepy crawlies" becomes the lexicon concepts ``spider`` and
``creepy_crawly`` plus the ``closeup`` modifier; "food and eating, I'm recovering from an eating
disorder" becomes ``food`` (three times over, deduplicated); text no concept covers ("dogs in
distress") becomes a literal concept built from its own stemmed words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from shared.moderation.lexicon import (
    CLOSEUP_WORDS,
    CONCEPTS,
    CONCEPTS_BY_ID,
    LEADING_FRAMING,
    PLOT_CUES,
    SPOILER_WORDS,
    STOPWORDS,
    TRAILING_FRAMING,
    Concept,
)
from shared.moderation.text import phrase_pattern, stems_of, tokenize

_PIECE_BREAK = re.compile(r"[,;/&+\n]|\s-\s|\.\s")
_CONJUNCTIONS = frozenset({"and", "or", "nor", "plus", "etc"})


@dataclass(frozen=True)
class FilterPlan:
    concepts: tuple[Concept, ...]
    closeup: bool  # "close-up photos of X": drop image evidence that is explicitly distant


def _words(text: str) -> list[str]:
    return tokenize(text).words


def _phrases_as_words(phrases: tuple[str, ...]) -> list[list[str]]:
    # Longest first, so "news about" is stripped before "about".
    return sorted((_words(p) for p in phrases), key=len, reverse=True)


_LEADING = _phrases_as_words(LEADING_FRAMING)
_TRAILING = _phrases_as_words(TRAILING_FRAMING)
_SPOILER_LEAD = _phrases_as_words(SPOILER_WORDS)
_CLOSEUP = _phrases_as_words(CLOSEUP_WORDS)


def _strip_framing(words: list[str]) -> list[str]:
    changed = True
    while changed and words:
        changed = False
        for frame in _LEADING:
            if len(frame) < len(words) and words[: len(frame)] == frame:
                words = words[len(frame) :]
                changed = True
                break
        for frame in _TRAILING:
            if len(frame) < len(words) and words[-len(frame) :] == frame:
                words = words[: -len(frame)]
                changed = True
                break
    return words


def _contains(haystack: tuple[str, ...], needle: tuple[str, ...]) -> bool:
    n = len(needle)
    return n > 0 and any(haystack[i : i + n] == needle for i in range(len(haystack) - n + 1))


def _content(stems: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(s for s in stems if s not in STOPWORDS)


@lru_cache(maxsize=1)
def _key_index() -> list[tuple[tuple[str, ...], tuple[str, ...], Concept]]:
    """(key stems, key content stems, concept) for every lexicon key."""
    index = []
    for concept in CONCEPTS:
        for key in concept.keys:
            stems = stems_of(key)
            index.append((stems, _content(stems), concept))
    return index


@lru_cache(maxsize=1)
def _exclusion_stems() -> dict[str, list[tuple[str, ...]]]:
    return {c.id: [phrase_pattern(e) for e in c.exclude] for c in CONCEPTS}


def _lexicon_concepts(words: list[str]) -> list[Concept]:
    stems = tuple(tokenize(" ".join(words)).stems)
    content = _content(stems)
    found: dict[str, Concept] = {}
    for key, key_content, concept in _key_index():
        # Whole key, or its content words when the key is more than function words plus one word
        # ("animals being hurt" meets "animal hurt"; "last of us" must not shrink to "last").
        if _contains(stems, key) or (
            (len(key_content) >= 2 or key_content == key) and _contains(content, key_content)
        ):
            found.setdefault(concept.id, concept)
    # A filter phrase that is itself one of a concept's idioms ("spider-man movies") is not that concept.
    return [
        c for c in found.values() if not any(_contains(stems, e) for e in _exclusion_stems()[c.id])
    ]


def _literal_concept(words: list[str]) -> Concept | None:
    """A concept for text no lexicon entry covers: the phrase itself, or all of its content words."""
    phrase = " ".join(words)
    content = [w for w in words if w not in STOPWORDS]
    if not content:
        return None
    terms = {phrase: 1.0}
    if len(content) > 1:
        # Every content word has to appear (in any order) for the weights to reach 1.0.
        share = round(1.0 / len(content), 4) + 0.0001
        for word in content:
            terms.setdefault(word, share)
    return Concept(id=f"literal:{phrase}", keys=(phrase,), terms=terms)


def _spoiler_concept(title_words: list[str]) -> Concept | None:
    """Spoilers for a work the lexicon does not know: its title next to a plot-event word."""
    title = " ".join(title_words)
    if not title:
        return None
    return Concept(
        id=f"spoiler:{title}", keys=(title,), terms={title: 0.5}, cues=PLOT_CUES, require_cue=True
    )


def _pieces(text: str) -> list[list[str]]:
    pieces: list[list[str]] = []
    for chunk in _PIECE_BREAK.split(text):
        current: list[str] = []
        for word in _words(chunk):
            if word in _CONJUNCTIONS:
                if current:
                    pieces.append(current)
                current = []
            else:
                current.append(word)
        if current:
            pieces.append(current)
    return pieces


def _has_phrase(words: list[str], phrases: list[list[str]]) -> bool:
    return any(words[i : i + len(p)] == p for p in phrases for i in range(len(words) - len(p) + 1))


def _spoiler_title(words: list[str]) -> list[str] | None:
    for lead in _SPOILER_LEAD:
        if words[: len(lead)] == lead:
            return words[len(lead) :]
    if len(words) > 1 and words[-1] in ("spoiler", "spoilers"):
        return words[:-1]
    return None


@lru_cache(maxsize=1024)
def plan_filter(filter_text: str) -> FilterPlan:
    closeup = _has_phrase(_words(filter_text), _CLOSEUP)
    concepts: dict[str, Concept] = {}
    for raw in _pieces(filter_text):
        words = _strip_framing(raw)
        title = _spoiler_title(words)
        if title is not None:
            title = _strip_framing(title)
            known = _lexicon_concepts(title) if title else []
            found = known or [c for c in [_spoiler_concept(title)] if c]
        else:
            found = _lexicon_concepts(words) or [c for c in [_literal_concept(words)] if c]
        for concept in found:
            concepts.setdefault(concept.id, concept)
    return FilterPlan(concepts=tuple(concepts.values()), closeup=closeup)


def included(concept: Concept) -> list[Concept]:
    """The concept followed by everything it includes, transitively."""
    seen: dict[str, Concept] = {}
    stack = [concept]
    while stack:
        current = stack.pop()
        if current.id in seen:
            continue
        seen[current.id] = current
        stack.extend(CONCEPTS_BY_ID[i] for i in current.includes)
    return list(seen.values())
