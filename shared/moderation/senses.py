"""What WordNet says about a filter's subject: other words for it and its kinds, and what it means.

The subject's first WordNet sense is taken as meant (WordNet orders senses by frequency), with its
other senses in the same lexicographer file ("vomit" the substance; "shark" the fish, not the ruthless
person). From the meant senses come the related words: their words and their hyponyms' down to three
levels ("shark" -> hammerhead, mako, great white shark; "earthquake" -> quake, temblor, aftershock),
without proper or scientific names, and only where the word's own first sense lies in that tree
("shock" and "play" mostly mean something else), never a word of what the user said is fine ("birds,
but chickens are fine" drops hen and rooster). ``concepts.py`` turns them into a description naming a
few kinds, the meant sense's definition as another description, and the words a post may mention
(``evidence.related_evidence``). Measured on the pooled development data (``bench/eval_wordnet.py``).

A subject WordNet does not know as a whole ("drinking and alcohol", "worms and maggots", "stuff touching
eyeballs (contacts, eye drops, lasik)") is read part by part (``filter_senses``): each part's related
words, definition and kinds, as for a one-word subject (fifth session: leave-one-filter-out +0.012 micro /
+0.013 macro on the 56-filter pool, README).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Protocol

from shared.moderation.wordnet import Sense

HYPONYM_DEPTH = 3
KINDS_NAMED = 6  # related words named in the "such as" description
# What separates the parts of a subject WordNet does not know as a whole: "X and Y", "X or Y", "X, Y", "X (Y, Z)".
_PARTS = re.compile(r"\s*(?:,|\(|\)|&|/|\band\b|\bor\b)\s*", re.IGNORECASE)


class Nouns(Protocol):
    """``shared.moderation.wordnet.WordNet`` at run time; ``bench.wordnet_senses.WordNetNouns`` in the bench."""

    def base_form(self, phrase: str) -> str | None: ...

    def senses(self, phrase: str) -> list[Sense]: ...

    def hyponyms(self, sense: Sense, depth: int) -> list[Sense]: ...


@dataclass(frozen=True)
class SubjectSenses:
    meant: tuple[Sense, ...] = ()  # the first sense and the others in its lexicographer file
    others: tuple[Sense, ...] = ()  # the senses not meant
    related: tuple[str, ...] = ()  # other words for the meant senses and their kinds
    # A subject read part by part ("drinking and alcohol"): each part WordNet knows, with its own senses.
    parts: tuple[tuple[str, SubjectSenses], ...] = ()

    def descriptions(self, subject: str) -> tuple[str, ...]:
        """The meant sense's definition, and the subject with a few of its kinds named (each part's, for a subject
        read part by part)."""
        if self.parts:
            return tuple(d for part, senses in self.parts for d in senses.descriptions(part))
        out = [self.meant[0].definition] if self.meant and self.meant[0].definition else []
        if self.related:
            out.append(f"{subject}, such as {', '.join(self.related[:KINDS_NAMED])}")
        return tuple(out)


def _tree(wordnet: Nouns, senses: list[Sense], depth: int) -> list[Sense]:
    return [*senses, *(h for s in senses for h in wordnet.hyponyms(s, depth))]


@lru_cache(maxsize=4096)
def subject_senses(wordnet: Nouns, subject: str, user_exclusions: tuple[str, ...] = (), depth: int = HYPONYM_DEPTH,
                   first_sense_only: bool = True) -> SubjectSenses:
    senses = wordnet.senses(subject)
    if not senses:
        return SubjectSenses()
    meant = [s for s in senses if s.lexname == senses[0].lexname]
    tree = _tree(wordnet, meant, depth)
    ids = {s.id for s in tree}
    base = wordnet.base_form(subject)
    # Only the excluded phrase itself: "cartoon snakes" is not in WordNet, and its head word would rule out every snake.
    excluded = {w.lower() for e in user_exclusions for s in _tree(wordnet, wordnet.senses(e), depth) for w in s.words}
    related: list[str] = []
    for s in tree:
        for word in s.words:
            lower = word.lower()
            if word != lower or lower == base or lower in excluded or lower in related:
                continue  # proper and scientific names, the subject itself, what the user allows
            own = wordnet.senses(lower)
            if not first_sense_only or (own and own[0].id in ids):
                related.append(lower)
    return SubjectSenses(tuple(meant), tuple(s for s in senses if s not in meant), tuple(related))


@lru_cache(maxsize=4096)
def filter_senses(wordnet: Nouns, subject: str, user_exclusions: tuple[str, ...] = ()) -> SubjectSenses:
    """``subject_senses`` of the subject, or where WordNet does not know it as a whole, of each of its parts: their
    related words in the parts' order, and each part's descriptions (``SubjectSenses.descriptions``)."""
    whole = subject_senses(wordnet, subject, user_exclusions)
    parts = [p for p in _PARTS.split(subject) if p.strip()]
    if whole.meant or len(parts) < 2:
        return whole
    known = [(p, senses) for p in parts if (senses := subject_senses(wordnet, p, user_exclusions)).meant]
    related = tuple(dict.fromkeys(w for _, senses in known for w in senses.related))
    return SubjectSenses(meant=tuple(s for _, senses in known for s in senses.meant),
                         others=tuple(s for _, senses in known for s in senses.others), related=related,
                         parts=tuple(known))
