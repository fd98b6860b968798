"""Does a proposed filter repeat one the user already has?

Texts are compared by their content stems (the moderation's own stemmer, so "spiders" meets "spider"),
by word overlap, and by character similarity (typos: "spidres"). ``exact`` means the same filter in other
words; a near match ("spiders" vs "close-up spiders, drawings are fine") is probably a change to it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from shared.models import Filter
from shared.moderation.text import stems_of

# Words that carry no topic of their own, so "posts about spiders" and "spiders" compare equal.
_IGNORED = frozenset(
    "a an the and or of for to in on at by with about from into as is are be it its this that these those my "
    "your any all some other such very really just also not no me i post posts content stuff thing things "
    "photo photos picture pictures image images video videos news anything everything related".split()
)
EXACT_RATIO = 0.9
NEAR_RATIO = 0.75
NEAR_JACCARD = 0.5


@dataclass(frozen=True)
class Similar:
    filter: Filter
    exact: bool
    score: float


def content_stems(text: str) -> frozenset[str]:
    stems = set(stems_of(text))
    return frozenset(s for s in stems if s not in _IGNORED and len(s) > 1)


def _compare(candidate: str, existing: str) -> tuple[bool, float] | None:
    """(exact?, score) when the two texts name the same or overlapping things, else None."""
    a, b = content_stems(candidate), content_stems(existing)
    if not a or not b:
        return None
    ratio = difflib.SequenceMatcher(None, " ".join(sorted(a)), " ".join(sorted(b))).ratio()
    if a == b or ratio >= EXACT_RATIO:
        return True, 1.0
    jaccard = len(a & b) / len(a | b)
    if a <= b or b <= a or jaccard >= NEAR_JACCARD or ratio >= NEAR_RATIO:
        return False, max(jaccard, ratio)
    return None


def find_similar(candidate: str, filters: list[Filter]) -> Similar | None:
    """The existing filter most like ``candidate``, if any is like it at all."""
    best: Similar | None = None
    for item in filters:
        found = _compare(candidate, item.filter_text)
        if found is None:
            continue
        exact, score = found
        if best is None or (exact, score) > (best.exact, best.score):
            best = Similar(item, exact, score)
    return best
