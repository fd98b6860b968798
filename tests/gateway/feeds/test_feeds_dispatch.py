from __future__ import annotations

import pytest

from gateway.feeds import FeedParseError, parse_feed, platform_for_url
from gateway.feeds.reddit import RedditDocument
from gateway.feeds.twitter import XDocument


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://www.reddit.com/svc/shreddit/feeds/home-feed?after=x", "reddit"),
        ("https://reddit.com/r/pics/", "reddit"),
        ("https://old.reddit.com./hot", "reddit"),
        ("HTTPS://WWW.REDDIT.COM:443/x", "reddit"),
        ("https://x.com/i/api/graphql/abc/HomeTimeline?variables=%7B%7D", "x"),
        ("https://twitter.com/i/api/graphql/abc/HomeLatestTimeline", "x"),
        ("https://api.x.com/graphql", "x"),
        ("https://evil.com/?reddit.com", None),
        ("https://evil.com/reddit.com/x", None),
        ("https://reddit.com.evil.com/", None),
        ("https://notreddit.com/", None),
        ("https://fox.com/", None),
        ("https://evil.com#x.com", None),
        ("https://reddit.com@evil.com/", None),
        ("https://evil.com\\@reddit.com/", None),
        ("javascript://reddit.com/%0aalert(1)", None),
        ("reddit.com/r/pics", None),
        ("https://[::1/", None),
        ("", None),
    ],
)
def test_platform_for_url(url: str, platform: str | None) -> None:
    assert platform_for_url(url) == platform


def test_parse_feed_dispatch() -> None:
    assert isinstance(parse_feed("reddit", "<p>x</p>"), RedditDocument)
    assert isinstance(parse_feed("x", "{}"), XDocument)
    with pytest.raises(FeedParseError):
        parse_feed("mastodon", "{}")  # type: ignore[arg-type]
