"""Deciding which of a user's filters each post in a feed page matches.

``ModerationProvider`` is the interface; ``LocalMatcher`` is the offline implementation.
"""

from shared.moderation.local import LocalMatcher
from shared.moderation.provider import ModerationProvider
from shared.moderation.types import Match, Post, PostVerdict, ProviderError

__all__ = ["LocalMatcher", "Match", "ModerationProvider", "Post", "PostVerdict", "ProviderError"]
