"""Recording a job's outcome and telling every waiting user, exactly once per delivery."""

from __future__ import annotations

import logging

import orjson
import redis

from shared import events, imagejobs, keys
from shared.events import ImageResult

log = logging.getLogger(__name__)


class Announcer:
    def __init__(
        self, client: redis.Redis, *, result_ttl: int, failure_ttl: int, log_len: int, log_seconds: int = 600
    ) -> None:
        self.redis = client
        self.result_ttl = result_ttl
        self.failure_ttl = failure_ttl
        self.log_len = log_len
        self.log_seconds = log_seconds
        self._finish = client.register_script(imagejobs.FINISH_JOB)
        self._publish = client.register_script(imagejobs.PUBLISH_EVENT)
        self._release = client.register_script(imagejobs.RELEASE_WAITERS)
        self._waits = imagejobs.WaitRegistry(client)

    def existing_result(self, wait: str) -> ImageResult | None:
        return imagejobs.decode_result(self.redis.get(keys.result_key(wait)))

    def add_waiter(self, wait: str, user_id: str, ttl: int) -> ImageResult | None:
        """Make ``user_id`` a waiter (for messages that name their user); the result if already done."""
        outcome = self._waits.register(wait, user_id, ttl)
        return outcome.result if outcome.state == "done" else None

    def tell(self, wait: str, user_id: str, result: ImageResult, dedupe: str) -> int:
        """Announce an existing ``result`` to one user (deduplicated like any announcement)."""
        return self._announce(wait, [user_id.encode()], events.image_processed(result), dedupe)

    def completed(self, wait: str, job: str, result: ImageResult, dedupe: str) -> int:
        """Store ``result`` and announce it; returns how many users were told."""
        keys_, args = imagejobs.finish_args(wait, job, orjson.dumps(result), self.result_ttl)
        waiters = self._finish(keys=keys_, args=args)
        return self._announce(wait, waiters, events.image_processed(result), dedupe)

    def failed(self, wait: str, job: str, image_url: str, filters: list[str], reason: str, dedupe: str) -> int:
        # A failure is kept briefly (FAILURE_TTL_SECONDS): long enough for pollers to learn of it,
        # short enough that a later request (the source may be back) retries.
        failure = {"reason": reason, "image_url": image_url, "job_id": job}
        keys_, args = imagejobs.finish_args(wait, job, orjson.dumps(failure), self.failure_ttl, failed=True)
        waiters = self._finish(keys=keys_, args=args)
        return self._announce(wait, waiters, events.image_failed(image_url, filters, reason, job), dedupe)

    def _announce(self, wait: str, waiters: list[bytes], event: dict[str, object], dedupe: str) -> int:
        payload = events.dumps(event)
        told = 0
        users = [w.decode() for w in waiters]
        for user_id in users:
            keys_, args = imagejobs.publish_args(user_id, dedupe, payload, self.log_len, self.log_seconds)
            if self._publish(keys=keys_, args=args):
                told += 1
        if users:
            self._release(keys=[keys.waiters_key(wait)], args=users)
        log.info("announced %s for %s to %d of %d waiters", event["type"], wait, told, len(users))
        return told
