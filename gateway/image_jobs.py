"""Queueing image jobs: one code path for the direct job endpoint and for /get_feed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import anyio
import dramatiq
import redis.asyncio as aioredis

from shared import events, imagejobs, keys, redisconn
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
    def __init__(
        self, client: aioredis.Redis, broker: dramatiq.Broker, job_ttl: int, *, log_len: int = 1000,
        log_seconds: int = 600, sharded: bool = False,
    ) -> None:
        self.redis = client
        self.broker = broker
        self.job_ttl = job_ttl
        self.log_len = log_len  # the user event log's bounds, as the worker keeps them
        self.log_seconds = log_seconds
        self.sharded = sharded  # Redis Cluster: events go out with SPUBLISH
        self._waits = imagejobs.AsyncWaitRegistry(client)
        self._publish = client.register_script(imagejobs.PUBLISH_EVENT)

    async def request(self, user_id: str, job: ImageJob) -> WaitOutcome:
        """Make ``user_id`` a waiter for ``job``'s result and queue the job unless it is queued,
        running or done already, or failed within the failure TTL. Returns the finished result (or
        that failure) when there is one."""
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
        elif outcome.state == "failed" and user_id:
            await self._tell_failure(user_id, job, outcome.failure or {})
        return outcome

    async def _tell_failure(self, user_id: str, job: ImageJob, failure: dict[str, Any]) -> None:
        """Announce a recorded failure to a user who asked after it happened, as the job that failed
        announced it to its waiters: socket clients hear ``image_failed`` instead of waiting in vain.
        Once per user and failure record (the record's ``failure_id``), however often they ask."""
        event = events.image_failed(job.image_url, list(job.filters), str(failure.get("reason", "failed")),
                                    str(failure.get("job_id", job.job_id)))
        dedupe = f"failed:{failure.get('failure_id') or failure.get('job_id', job.job_id)}"
        keys_, args = imagejobs.publish_args(user_id, dedupe, events.dumps(event), self.log_len, self.log_seconds,
                                             sharded=self.sharded)
        await self._publish(keys=keys_, args=args)

    async def lookup(self, wait: str) -> Lookup:
        """One round trip: result, failure and pending marker of ``wait``."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(keys.result_key(wait))
        pipe.get(keys.failed_key(wait))
        pipe.exists(keys.pending_key(wait))
        result, failure, pending = await pipe.execute()
        return Lookup(imagejobs.decode_result(result), imagejobs.decode_result(failure),  # type: ignore[arg-type]
                      bool(pending))

    async def ended(self, waits: list[str]) -> tuple[dict[str, imagejobs.ImageResult], set[str]]:
        """Among ``waits``, in one read: the results that exist, and the wait ids whose job failed."""
        if not waits:
            return {}, set()
        raw = await redisconn.mget(self.redis, [*map(keys.result_key, waits), *map(keys.failed_key, waits)])
        found = {w: imagejobs.decode_result(r) for w, r in zip(waits, raw[:len(waits)], strict=True)}
        failed = {w for w, f in zip(waits, raw[len(waits):], strict=True) if f is not None}
        return {w: r for w, r in found.items() if r is not None}, failed
