"""Embed once: post and filter embeddings in real Redis, shared across processes and users."""

from __future__ import annotations

import uuid

import numpy as np
import redis
import redis.asyncio as aioredis
from starlette.testclient import TestClient

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
        b = await second.vectors(texts)  # another process: nothing in its memo, everything in Redis
        assert second.model_runs == 0
        assert np.array_equal(a[:2], b)
        assert await first_client.exists(embedding_key(MODEL_TAG, texts[0])) == 1
    finally:
        first.close()
        second.close()
        await first_client.aclose()
        await second_client.aclose()


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
