"""Queueing image jobs: one code path for the direct job endpoint and for /get_feed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anyio
import dramatiq
import redis.asyncio as aioredis

from shared import imagejobs, keys, redisconn
from shared.imagejobs import ImageJob, WaitOutcome
from shared.jobqueue import image_message, image_route

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Lookup:
    """Where a wait id stands: its result, its failure, whether a job for it is queued or running."""

    result: imagejobs.ImageResult | None
    failure: dict[str, Any] | None
    pending: bool


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
                await self.redis.delete(keys.job_key(wait, job.job_id), keys.pending_key(wait))
                raise
        return outcome

    async def lookup(self, wait: str) -> Lookup:
        """One round trip: result, failure and pending marker of ``wait``."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(keys.result_key(wait))
        pipe.get(keys.failed_key(wait))
        pipe.exists(keys.pending_key(wait))
        result, failure, pending = await pipe.execute()
        return Lookup(imagejobs.decode_result(result), imagejobs.decode_result(failure),  # type: ignore[arg-type]
                      bool(pending))

    async def results(self, waits: list[str]) -> dict[str, imagejobs.ImageResult]:
        """The results that exist among ``waits``."""
        raw = await redisconn.mget(self.redis, [keys.result_key(w) for w in waits]) if waits else []
        found = {w: imagejobs.decode_result(r) for w, r in zip(waits, raw, strict=True)}
        return {w: r for w, r in found.items() if r is not None}
