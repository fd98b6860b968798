"""Dramatiq actors. Work lives in ``pipeline``; announcing lives in ``announce``; failures are
announced by ``middleware.FailureEvents``. Actors are idempotent: a redelivered message finds the
result and re-announces only to users not yet told (the publish script dedupes per message)."""

from __future__ import annotations

from typing import Any

import dramatiq
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded

from imaging import pipeline
from imaging.announce import Announcer
from imaging.broker import redis_client, settings
from imaging.errors import TransientJobError
from shared.imagejobs import ImageJob
from shared.jobqueue import LOCAL_QUEUE, PROCESS_IMAGE_ACTOR

MAX_RETRIES = 3

announcer = Announcer(redis_client, result_ttl=settings.result_ttl_seconds, log_len=settings.event_log_len)


def retry_transient(retries: int, exception: BaseException) -> bool:
    """Only transient failures are retried (Dramatiq's time limit counts as one)."""
    transient = isinstance(exception, TransientJobError | TimeLimitExceeded)
    return transient and retries < MAX_RETRIES


@dramatiq.actor(
    actor_name=PROCESS_IMAGE_ACTOR,
    queue_name=LOCAL_QUEUE,
    retry_when=retry_transient,
    min_backoff=500,
    max_backoff=5_000,
    time_limit=settings.job_time_limit_ms,
)
def process_image(payload: dict[str, Any]) -> None:
    job = ImageJob.from_message(payload)
    message = CurrentMessage.get_current_message()
    dedupe = message.message_id if message else job.job_id
    existing = announcer.existing_result(job.wait_id)
    if existing is not None:
        announcer.completed(job.wait_id, job.job_id, existing, dedupe)
        return
    result = pipeline.run(job, settings, redis_client)
    announcer.completed(job.wait_id, job.job_id, result, dedupe)
