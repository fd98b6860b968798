"""Dramatiq middleware: per-queue time limits, and failure events so nobody waits for nothing."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
import redis

from imaging import payloads
from imaging.announce import Announcer
from imaging.job_errors import JobError, PermanentJobError
from shared.config import Settings

log = logging.getLogger(__name__)


class QueueTimeLimits(dramatiq.Middleware):
    """Give a message the time limit of the queue it arrived on, unless it carries its own.

    The gateway may enqueue ``process_image`` on the cloud queue; those jobs get the cloud limit, not
    the local actor's. Must run before ``TimeLimit`` (add it with ``before=TimeLimit``).
    """

    def __init__(self, limits_ms: dict[str, int]) -> None:
        self.limits_ms = limits_ms

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        limit = self.limits_ms.get(message.queue_name)
        if limit and not message.options.get("time_limit"):
            message.options["time_limit"] = limit


class FailureEvents(dramatiq.Middleware):
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.announcer = Announcer.from_settings(client, settings)

    def after_process_message(
        self, broker: dramatiq.Broker, message: dramatiq.MessageProxy, *, result: Any = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None or not message.failed:
            return  # succeeded, or Retries will run it again
        self._announce_failure(message, exception)

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        self._announce_failure(message, None)

    def _announce_failure(self, message: dramatiq.MessageProxy, exception: BaseException | None) -> None:
        if not message.args:
            return
        try:
            job = payloads.parse(message.actor_name, message.args[0]).job
        except payloads.BadPayload:
            log.error("cannot announce failure of malformed message %s", message.message_id)
            return
        if isinstance(exception, JobError):
            reason = str(exception)
        elif exception is None:
            reason = "job skipped"
        else:
            reason = f"processing failed ({type(exception).__name__})"
        # Only a PermanentJobError says the image itself is the problem; anything else (retries of a
        # transient error used up, a skipped message, an unexpected error) may go away soon.
        self.announcer.failed(
            job.wait_id, job.job_id, job.image_url, list(job.filters), reason, dedupe=message.message_id,
            permanent=isinstance(exception, PermanentJobError),
        )
