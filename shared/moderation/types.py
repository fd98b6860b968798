"""Value types exchanged between the feed pipeline and any moderation provider.

They live in their own module so that providers (``local``, and the cloud ones added later) and
their callers import the same definitions without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

# Defined with the rest of the provider plumbing; re-exported here, where moderation code has always found it.
from shared.providers.errors import ProviderError as ProviderError

MatchSource = Literal["text", "image"]


@dataclass(frozen=True)
class Post:
    """One feed item as a provider sees it; ``image_alt`` stands in for the image itself."""

    id: str
    title: str = ""
    body: str = ""
    image_alt: str = ""
    has_image: bool = False


@dataclass
class Match:
    """Why one post matches one filter.

    ``spans`` are exact substrings of the post's title or body (as given), so the caller can wrap each
    one in blur markers with ``str.replace``. ``on`` is ``"image"`` when the evidence came from the
    image description rather than the text; such a match may carry no spans at all.
    """

    filter_id: int
    on: MatchSource
    reason: str
    spans: list[str]
    confidence: float


@dataclass
class PostVerdict:
    post_id: str
    matches: list[Match] = field(default_factory=list)
    rewritten_title: str | None = None
    rewritten_body: str | None = None

    @property
    def matched_filter_ids(self) -> list[int]:
        return sorted({m.filter_id for m in self.matches})
