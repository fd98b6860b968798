"""The register_wait wrapper (sync and async) against real Redis: claim once, wait, see the result."""

from __future__ import annotations

import uuid

import orjson
import redis
import redis.asyncio as aioredis

from shared import keys
from shared.imagejobs import AsyncWaitRegistry, ImageJob, WaitRegistry
from tests.harness import wait_until


def _job() -> ImageJob:
    return ImageJob(image_url=f"https://example.com/{uuid.uuid4().hex}.jpg", filters=("spiders",), intervention="blur")


def test_sync_first_caller_claims_then_others_wait_then_the_result_is_returned(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    waits = WaitRegistry(client)
    job = _job()
    assert waits.register(job.wait_id, "alice", 60, job.job_id).state == "queued"
    assert waits.register(job.wait_id, "bob", 60, job.job_id).state == "pending"
    assert waits.register(job.wait_id, "carol", 60).state == "pending"
    assert client.smembers(keys.waiters_key(job.wait_id)) == {b"alice", b"bob", b"carol"}
    client.set(keys.result_key(job.wait_id), orjson.dumps({"url": "/processed/x.png"}))
    done = waits.register(job.wait_id, "dave", 60, job.job_id)
    assert done.state == "done" and done.result == {"url": "/processed/x.png"}
    client.close()


async def test_async_form_answers_like_the_sync_form(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    waits = AsyncWaitRegistry(client)
    job = _job()
    assert (await waits.register(job.wait_id, "", 60)).state == "pending"  # only waiting claims nothing
    assert (await waits.register(job.wait_id, "alice", 60, job.job_id)).state == "queued"
    assert await client.ttl(keys.job_key(job.wait_id, job.job_id)) > 0
    await client.set(keys.result_key(job.wait_id), orjson.dumps({"url": "/processed/y.png"}))
    done = await waits.register(job.wait_id, "bob", 60)
    assert done.state == "done" and done.result == {"url": "/processed/y.png"}
    await client.aclose()


def test_a_recorded_failure_is_answered_without_a_claim_until_it_expires(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    waits = WaitRegistry(client)
    job = _job()
    client.set(keys.failed_key(job.wait_id), orjson.dumps({"reason": "HTTP 404", "kind": "permanent"}), px=300)
    failed = waits.register(job.wait_id, "alice", 60, job.job_id)
    assert failed.state == "failed" and failed.failure == {"reason": "HTTP 404", "kind": "permanent"}
    assert client.exists(keys.job_key(job.wait_id, job.job_id), keys.pending_key(job.wait_id)) == 0
    assert waits.register(job.wait_id, "bob", 60).state == "failed"  # only waiting says so too
    # Waiters are still registered: a job queued after the failure expires tells them.
    assert client.smembers(keys.waiters_key(job.wait_id)) == {b"alice", b"bob"}
    wait_until(lambda: client.exists(keys.failed_key(job.wait_id)) == 0, 5, "failure record expiry")
    assert waits.register(job.wait_id, "carol", 60, job.job_id).state == "queued"
    client.close()
