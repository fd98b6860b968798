"""Embed once: post and filter embeddings in real Redis, shared across processes and users."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import numpy as np
import pytest
import redis
import redis.asyncio as aioredis
from starlette.testclient import TestClient

from devtools.redis_server import EmbeddedRedis
from gateway.embedding_cache import RedisVectors
from gateway.viewer.samplegen import reddit_page
from shared.config import load_settings
from shared.keys import embedding_key
from shared.moderation.offline import MODEL_TAG, load_offline_model
from shared.moderation.open_vocab import concept_for
from tests.gateway.test_get_feed import REDDIT_URL, add_filter, get_feed


async def test_a_text_is_embedded_once_then_read_from_redis(redis_url: str) -> None:
    model = load_offline_model(load_settings())
    texts = [f"a hammerhead near the pier {uuid.uuid4().hex}", f"the ground rolled for a minute {uuid.uuid4().hex}"]
    first_client, second_client = aioredis.Redis.from_url(redis_url), aioredis.Redis.from_url(redis_url)
    first, second = RedisVectors(first_client, model.embedder), RedisVectors(second_client, model.embedder)
    try:
        a = await first.vectors(texts + texts[:1])
        assert (first.model_runs, first.embedded) == (1, 2)  # one model call for the page, duplicates once
        await first.flush()  # the write runs in the background, off the page's path
        b = await second.vectors(texts)  # another process: nothing in its memo, everything in Redis
        assert second.model_runs == 0
        assert np.array_equal(a[:2], b)
        assert await first_client.exists(embedding_key(MODEL_TAG, texts[0])) == 1
    finally:
        first.close()
        second.close()
        await first_client.aclose()
        await second_client.aclose()


async def test_texts_just_missed_go_to_the_model_without_another_lookup(redis_url: str) -> None:
    model = load_offline_model(load_settings())
    text = f"a box jellyfish washed up at the pier {uuid.uuid4().hex}"
    client = aioredis.Redis.from_url(redis_url)
    writer, reader = RedisVectors(client, model.embedder), RedisVectors(client, model.embedder)
    try:
        await writer.vectors([text], wait_for_store=True)
        await reader.vectors([text], looked_up=True)  # the caller says it just missed: no MGET, so it is computed
        assert (reader.model_runs, reader.embedded) == (1, 1)
        await reader.vectors([text])  # a plain call still reads what is cached (here the reader's own memo)
        assert reader.model_runs == 1
    finally:
        writer.close()
        await reader.aclose()
        await client.aclose()


async def test_the_background_write_stores_exactly_the_vectors_the_page_used(redis_url: str) -> None:
    model = load_offline_model(load_settings())
    texts = [f"lifeguards spotted a hammerhead {uuid.uuid4().hex}", f"a 6.8 quake near the coast {uuid.uuid4().hex}"]
    client = aioredis.Redis.from_url(redis_url)
    vectors = RedisVectors(client, model.embedder)
    try:
        used = await vectors.vectors(texts)
        await vectors.flush()
        stored = await client.mget([embedding_key(MODEL_TAG, t) for t in texts])
        assert all(blob is not None for blob in stored)
        assert np.array_equal(used, np.stack([np.frombuffer(b, dtype=np.float16).astype(np.float32) for b in stored]))
        assert np.array_equal(used, model.embedder.embed(texts).astype(np.float16).astype(np.float32))
    finally:
        await vectors.aclose()
        await client.aclose()


@pytest.mark.parametrize("wait_for_store", [False, True])
async def test_a_failing_cache_write_is_logged_and_the_page_keeps_its_vectors(
        tmp_path: Path, caplog: pytest.LogCaptureFixture, wait_for_store: bool) -> None:
    model = load_offline_model(load_settings())
    texts = [f"a clown at the party {uuid.uuid4().hex}", f"the casino floor at 3 am {uuid.uuid4().hex}"]
    with EmbeddedRedis(tmp_path, appendonly=False) as server:
        client = aioredis.Redis.from_url(server.url)
        await client.config_set("maxmemory", 1)  # reads still work, every write is refused (OOM)
        vectors = RedisVectors(client, model.embedder)
        try:
            with caplog.at_level(logging.WARNING, logger="gateway.embedding_cache"):
                got = await vectors.vectors(texts, wait_for_store=wait_for_store)
                await vectors.flush()
            assert np.array_equal(got, model.embedder.embed(texts).astype(np.float16).astype(np.float32))
            assert "could not cache 2 embeddings" in caplog.text and "used memory > 'maxmemory'" in caplog.text
            assert await client.exists(*[embedding_key(MODEL_TAG, t) for t in texts]) == 0
        finally:
            await vectors.aclose()
            await client.aclose()


def test_saving_a_filter_embeds_its_concept(api: TestClient, redis_url: str) -> None:
    text = f"hammerhead sightings {uuid.uuid4().hex[:6]}"
    add_filter(api, f"emb-{uuid.uuid4().hex[:8]}", text, 3)
    r = redis.Redis.from_url(redis_url)
    keys = [embedding_key(MODEL_TAG, t) for t in concept_for(text).texts()]
    assert r.exists(*keys) == len(keys)


def test_an_uncurated_filter_matches_in_get_feed_and_says_why(api: TestClient) -> None:
    uid = f"emb-{uuid.uuid4().hex[:8]}"
    add_filter(api, uid, "layoff announcements", 3, "text")
    page = reddit_page(25, seed=1)
    r = get_feed(api, uid, REDDIT_URL, page.body)
    assert r.status_code == 200, r.text
    changed = r.json()["moderation"]["changed"]
    layoff_posts = [p.id for p in page.expected if "layoffs" in (p.title + p.body).lower()]
    assert layoff_posts, "the sample page should hold a layoff post"
    matched = {c["post_id"]: c["matches"] for c in changed}
    assert set(layoff_posts) & set(matched)
    for matches in matched.values():
        assert all(m["reason"] for m in matches)
