"""Queueing image jobs: one code path for the direct job endpoint and for /get_feed."""

from __future__ import annotations

import logging

import anyio
import dramatiq
import redis.asyncio as aioredis

from shared import imagejobs, keys
from shared.imagejobs import ImageJob, WaitOutcome
from shared.jobqueue import image_message, image_route

log = logging.getLogger(__name__)


class ImageQueue:
    def __init__(self, client: aioredis.Redis, broker: dramatiq.Broker, job_ttl: int) -> None:
        self.redis = client
        self.broker = broker
        self.job_ttl = job_ttl
        self._waits = imagejobs.AsyncWaitRegistry(client)

    async def request(self, user_id: str, job: ImageJob) -> WaitOutcome:
        """Make ``user_id`` a waiter for ``job``'s result and queue the job unless it is queued,
        running or done already. Returns the finished result when there is one."""
        wait = job.wait_id
        outcome = await self._waits.register(wait, user_id, self.job_ttl, job.job_id)
        if outcome.state == "queued":
            queue, actor = image_route(job.intervention)
            message = image_message(job.to_message(), queue=queue, actor=actor)
            try:
                # Dramatiq's broker is synchronous; keep it off the event loop.
                await anyio.to_thread.run_sync(self.broker.enqueue, message)
            except Exception:
                # Release the claim so the next request can queue the job again.
                await self.redis.delete(keys.job_key(wait, job.job_id))
                raise
        return outcome

    async def result(self, image_url: str, filters: list[str]) -> imagejobs.ImageResult | None:
        return imagejobs.decode_result(await self.redis.get(keys.result_key(keys.wait_id(image_url, filters))))

    async def failure(self, image_url: str, filters: list[str]) -> dict[str, str] | None:
        raw = await self.redis.get(keys.failed_key(keys.wait_id(image_url, filters)))
        return imagejobs.decode_result(raw)  # type: ignore[return-value]
