"""The platform-neutral view of a feed: posts to judge, and the edits to write back."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Platform = Literal["reddit", "x", "mastodon", "bluesky"]


class FeedParseError(ValueError):
    """The body is not what its platform sends (not JSON for X, not decodable text, ...)."""


@dataclass(frozen=True)
class FeedPost:
    """One post as the user sees it: entity-decoded text, image URLs as the browser resolves them."""

    id: str
    title: str
    body: str
    image_urls: list[str]
    image_alts: list[str]


@dataclass(frozen=True)
class Blur:
    """Blur every occurrence of these substrings (longest first, no nesting)."""

    spans: tuple[str, ...]

    def __init__(self, spans: Any) -> None:
        # Accept any iterable of strings (an LLM's list) but store an immutable tuple.
        object.__setattr__(self, "spans", tuple(s for s in (spans or ()) if isinstance(s, str)))


@dataclass(frozen=True)
class Overlay:
    """Hide the whole text behind a click-to-reveal warning.

    With ``rewrite`` set, the revealed text is that rewrite (docs/protocol.md §3.1, aggressive mode).
    """

    warning: str
    rewrite: str | None = None


@dataclass(frozen=True)
class Rewrite:
    """Replace the whole text with this rewritten text, flagged "Modified by DIY-MOD"."""

    text: str


TextEdit = Blur | Overlay | Rewrite


@dataclass(frozen=True)
class PostEdit:
    """What to change in one post. Each text part gets at most one intervention.

    ``images`` maps an image URL exactly as given in :attr:`FeedPost.image_urls` to the config
    dict for the extension (``{"type": "edit_to_replace", "status": "DEFERRED", "filters": [...]}``).
    Reddit writes it to ``diy-mod-image`` (plus ``srcset=""`` and class ``diy-mod-processed``);
    a config with ``status == "COMPLETED"`` and a ``processedUrl`` (or ``processed_image_url``)
    also swaps ``src``. X stores it as the ``diy_mod_config`` JSON string on the photo entities.
    X posts have no title: a title edit is ignored there.
    """

    title: TextEdit | None = None
    body: TextEdit | None = None
    images: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @classmethod
    def blur(cls, spans: Any) -> PostEdit:
        """The original backend's "Modify Segments": the same spans are blurred in title and body."""
        edit = Blur(spans)
        return cls(title=edit, body=edit)

    @classmethod
    def overlay(cls, warning: str) -> PostEdit:
        """The original backend's "Add Warning": title and body behind the same warning."""
        edit = Overlay(warning)
        return cls(title=edit, body=edit)

    @classmethod
    def rewrite(cls, title: str | None = None, body: str | None = None) -> PostEdit:
        return cls(
            title=Rewrite(title) if title is not None else None,
            body=Rewrite(body) if body is not None else None,
        )

    def is_empty(self) -> bool:
        return self.title is None and self.body is None and not self.images


class FeedDocument(ABC):
    """A parsed feed body. :meth:`render` never mutates the document, so it can be called again."""

    platform: Platform

    @property
    @abstractmethod
    def posts(self) -> list[FeedPost]: ...

    @abstractmethod
    def render(self, edits: Mapping[str, PostEdit] | None = None, *, shift_cursor_for: str | None = None) -> str:
        """The body with ``edits`` (by post id) applied; everything else is left as it was.

        ``shift_cursor_for`` is the intercepted request URL; when given, Reddit's pagination cursor
        is moved earlier (docs/protocol.md §2.1). X ignores it. With nothing to change, the very input
        string is returned. Raises :class:`FeedParseError` only if a Reddit tag that must be
        rewritten was read differently by the tokenizer and the parser (never seen in practice).
        """
