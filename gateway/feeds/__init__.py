"""Platform feed codecs: read the posts out of a Reddit, X, Mastodon or Bluesky feed body, write
interventions back.

Pure functions over strings, no I/O::

    platform = platform_for_url(request.url)           # "reddit", "x", "mastodon", "bluesky" or None
    doc = parse_feed(platform, body)                    # FeedParseError if body is not that format
    for post in doc.posts: ...                          # FeedPost(id, title, body, image_urls, image_alts)
    out = doc.render({post.id: PostEdit.blur(["war"])}, shift_cursor_for=request.url)

Marker syntax and escaping live in :mod:`.markers`; the codecs call it, callers never build
marker strings themselves.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from .bluesky import BlueskyDocument
from .mastodon import MastodonDocument
from .model import (
    Blur,
    FeedDocument,
    FeedParseError,
    FeedPost,
    Overlay,
    Platform,
    PostEdit,
    Rewrite,
    TextEdit,
)
from .reddit import RedditDocument
from .twitter import XDocument

__all__ = [
    "Blur",
    "FeedDocument",
    "FeedParseError",
    "FeedPost",
    "Overlay",
    "Platform",
    "PostEdit",
    "Rewrite",
    "TextEdit",
    "parse_feed",
    "platform_for_url",
]

_HOSTS: dict[str, Platform] = {"reddit.com": "reddit", "x.com": "x", "twitter.com": "x"}
# Mastodon and Bluesky run on any host (instances, AppViews, PDS proxies): the API path says which.
_PATHS: list[tuple[re.Pattern[str], Platform]] = [
    (re.compile(r"/api/v1/timelines/(?:home|public|tag/[^/]+|list/[^/]+)/?"), "mastodon"),
    (re.compile(r"/xrpc/app\.bsky\.feed\.(?:getTimeline|getFeed|getAuthorFeed)/?"), "bluesky"),
]


def platform_for_url(url: str) -> Platform | None:
    """The platform whose host (or a subdomain of it) serves ``url``, else the platform whose timeline
    API path ``url`` has (Mastodon, Bluesky: any host); None for anything else.

    The host is taken from the parsed URL, never by substring, so ``https://evil.com/?reddit.com``
    and ``https://reddit.com.evil.com/`` are not Reddit. Backslashes count as slashes, as in
    browsers, so ``https://evil.com\\@reddit.com`` is evil.com.
    """
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip().replace("\\", "/"))
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    host = host.rstrip(".")
    for domain, platform in _HOSTS.items():
        if host == domain or host.endswith("." + domain):
            return platform
    for pattern, platform in _PATHS:
        if pattern.fullmatch(parts.path):
            return platform
    return None


def parse_feed(platform: Platform, body: str) -> FeedDocument:
    """Parse a feed body of the given platform. Raises only :class:`FeedParseError`."""
    if platform == "reddit":
        return RedditDocument(body)
    if platform == "x":
        return XDocument(body)
    if platform == "mastodon":
        return MastodonDocument(body)
    if platform == "bluesky":
        return BlueskyDocument(body)
    raise FeedParseError(f"unsupported platform: {platform!r}")
