"""FeedJudge's verdict cache is written in the background, off the response path, against real Redis."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from gateway import feed_judge
from gateway.feed_judge import FeedJudge, canonical_filters, filter_signature, verdict_key
from shared.models import Filter
from shared.moderation.local import LocalMatcher
from shared.moderation.types import Post

FILTERS = [Filter(id=7, filter_text="spiders", intensity=3)]


def page() -> list[Post]:
    tag = uuid.uuid4().hex  # new to the verdict cache
    return [Post(id="a", title=f"A huge spider in my bathtub {tag}"), Post(id="b", body=f"Lentil soup again {tag}")]


def keys_of(posts: list[Post]) -> list[str]:
    canonical, _ = canonical_filters(FILTERS)
    return [verdict_key(f"local-{LocalMatcher.version}", filter_signature(canonical), p) for p in posts]


@pytest.fixture
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    client = aioredis.Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def test_verdicts_are_stored_after_the_page_answered(client: aioredis.Redis) -> None:
    judge = FeedJudge(client, LocalMatcher(), None, 5.0)
    posts = page()
    first = await judge.judge_page(posts, FILTERS)
    assert first.provider_calls == 1 and first.verdicts["a"].matched_filter_ids == [7]
    assert len(judge._stores) == 1  # the answer came before the store: it is still under way
    await judge.drain()
    assert not judge._stores
    assert await client.exists(*keys_of(posts)) == 2
    again = await judge.judge_page(posts, FILTERS)
    assert again.provider_calls == 0 and again.cached == 2
    assert again.verdicts == first.verdicts


async def test_a_failing_store_is_logged_and_the_page_is_unaffected(
        client: aioredis.Redis, redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    # A real Redis user that may read but not write: the verdict read works, the store is refused (NOPERM).
    name, password = f"reader-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex
    await client.acl_setuser(name, enabled=True, passwords=[f"+{password}"], keys=["*"],
                             commands=["+@read", "+@connection"])
    reader = aioredis.Redis.from_url(redis_url, username=name, password=password)
    try:
        judge = FeedJudge(reader, LocalMatcher(), None, 5.0)
        posts = page()
        with caplog.at_level(logging.WARNING, logger=feed_judge.__name__):
            result = await judge.judge_page(posts, FILTERS)
            await judge.drain()
        assert result.fallback is None and result.verdicts["a"].matched_filter_ids == [7]
        assert result.undecided == []
        assert any("could not cache verdicts" in r.getMessage() for r in caplog.records), caplog.text
        assert await client.exists(*keys_of(posts)) == 0
    finally:
        await reader.aclose()
        await client.acl_deluser(name)


async def test_stores_beyond_the_bound_are_made_inline(client: aioredis.Redis,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(feed_judge, "MAX_PENDING_STORES", 0)
    judge = FeedJudge(client, LocalMatcher(), None, 5.0)
    posts = page()
    await judge.judge_page(posts, FILTERS)
    assert not judge._stores  # nothing left in the background: the page waited for its store
    assert await client.exists(*keys_of(posts)) == 2


class _NextLexicon(LocalMatcher):
    version = "lexicon-next"  # the same provider after an upgrade that may decide otherwise


async def test_verdicts_of_another_version_are_not_served(client: aioredis.Redis) -> None:
    posts = page()
    old = FeedJudge(client, LocalMatcher(), None, 5.0)
    await old.judge_page(posts, FILTERS)
    await old.drain()
    new = FeedJudge(client, _NextLexicon(), None, 5.0)
    upgraded = await new.judge_page(posts, FILTERS)
    assert upgraded.provider_calls == 1 and upgraded.cached == 0
    again = await old.judge_page(posts, FILTERS)  # a gateway not yet upgraded keeps its own
    assert again.provider_calls == 0 and again.cached == 2
