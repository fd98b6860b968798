"""The interface every moderation provider implements."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from shared.models import Filter
from shared.moderation.expansion import Expansions
from shared.moderation.types import Post, PostVerdict


@runtime_checkable
class ModerationProvider(Protocol):
    """Judges a whole page of posts against all of a user's active filters in one call.

    One call per page (not per post) is the contract because cloud providers make one model request
    per page. Implementations must respect ``Filter.content_type``: a ``text`` filter sees only title
    and body, an ``image`` filter only the image evidence (``image_alt``), and ``all`` sees both.
    The result has one verdict per input post, keyed by ``Post.id``; failures raise ``ProviderError``.
    ``expansions`` (by normalised filter text) are what a cloud model said some filters mean, read once
    per page by the caller; a provider that cannot use them ignores them.
    """

    name: str
    # What the verdict cache keys on besides the name: it changes whenever the same page and filters could be judged
    # otherwise (weights, model, prompt), so verdicts of an older version are never served after an upgrade, nor
    # shared between two versions running side by side during one.
    version: str
    can_rewrite: bool

    async def judge(self, posts: list[Post], filters: list[Filter],
                    expansions: Expansions | None = None) -> dict[str, PostVerdict]: ...
