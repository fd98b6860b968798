"""Dramatiq actors. Work lives in ``pipeline``; announcing lives in ``announce``; failures are
announced by ``middleware.FailureEvents``. Actors are idempotent: a redelivered message finds the
result and re-announces only to users not yet told (the publish script dedupes per message).

Every actor runs the same ``JobRunner.handle``; they differ in queue and time limit:

* ``process_image`` on the local queue (``JOB_TIME_LIMIT_MS``);
* ``process_image_cloud`` on the cloud queue (``CLOUD_JOB_TIME_LIMIT_MS``); ``process_image`` messages
  that arrive on the cloud queue get the same limit (``middleware.QueueTimeLimits``);
* the original system's names (``jobqueue.LEGACY_IMAGE_ACTORS``), each on the queue of the
  intervention it stands for.

Nothing here touches a broker or Redis at import: ``declare_actors`` binds the actors to the broker
that ``imaging.wiring.build_worker`` made.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage, TimeLimitExceeded
from redis.cluster import RedisCluster
from redis.exceptions import RedisClusterException

from imaging import payloads, pipeline
from imaging.announce import Announcer
from imaging.job_errors import PermanentJobError, TransientJobError
from shared.config import Settings
from shared.jobqueue import (
    CLOUD_QUEUE,
    INTERVENTION_ALIASES,
    LEGACY_IMAGE_ACTORS,
    LOCAL_QUEUE,
    PROCESS_IMAGE_ACTOR,
    PROCESS_IMAGE_CLOUD_ACTOR,
    image_route,
)

log = logging.getLogger(__name__)

MAX_RETRIES = 3


def retry_transient(retries: int, exception: BaseException) -> bool:
    """Only transient failures are retried (Dramatiq's time limit and Redis hiccups count as such)."""
    transient = isinstance(
        exception, TransientJobError | TimeLimitExceeded | redis.ConnectionError | redis.TimeoutError
    )
    return transient and retries < MAX_RETRIES


REDIS_WAIT_SECONDS = 0.25  # between pings while Redis is unreachable
REDIS_WAIT_RESERVE_SECONDS = 2.0  # stop waiting this long before the job's time limit


class JobRunner:
    """What every actor runs, with what one worker shares: settings, Redis, provider services."""

    def __init__(self, settings: Settings, client: redis.Redis, queue_time_limits_ms: dict[str, int]) -> None:
        self.settings = settings
        self.redis = client
        self.queue_time_limits_ms = queue_time_limits_ms
        self.announcer = Announcer.from_settings(client, settings)
        self._services: pipeline.Services | None = None
        self._services_lock = threading.Lock()

    def services(self) -> pipeline.Services:
        """Provider clients and friends, built on first use (not when the worker is built)."""
        with self._services_lock:
            if self._services is None:
                self._services = pipeline.build_services(self.settings, self.redis)
            return self._services

    def close(self) -> None:
        if self._services is not None:
            self._services.providers.close()

    def wait_for_redis(self, deadline: float) -> bool:
        """Ask Redis until it answers (True) or ``deadline`` (minus a reserve) passes (False)."""
        while time.monotonic() + REDIS_WAIT_SECONDS < deadline - REDIS_WAIT_RESERVE_SECONDS:
            time.sleep(REDIS_WAIT_SECONDS)
            try:
                if self._redis_answers():
                    return True
            except (redis.ConnectionError, redis.TimeoutError, RedisClusterException):
                continue
        return False

    def _redis_answers(self) -> bool:
        if not isinstance(self.redis, RedisCluster):
            return bool(self.redis.ping())
        # A job's keys sit on several primaries, and PING asks only one node. The slot map is read again
        # first: errors on a node's own connection (announce.py's WAIT pipeline) never ask the cluster
        # client for a new one, so a dead primary's slots stayed mapped to it after its failover.
        self.redis.nodes_manager.initialize()
        return bool(self.redis.ping(target_nodes=RedisCluster.PRIMARIES))

    def handle(self, payload: Any) -> None:
        """Run the job; if Redis goes away meanwhile, wait for it (within the time limit) and run it again.

        Dramatiq cannot retry a job that failed because Redis was down: its retry is an enqueue, which needs
        Redis, so such a job was dead-lettered while its claim marker kept new requests "pending" for
        JOB_TTL_SECONDS (found by tests/reliability/test_redis_restart.py). Every step is idempotent (results
        are content-addressed, announcements deduplicated per message), so running it again is safe.
        """
        message = CurrentMessage.get_current_message()
        limit_ms = (message.options.get("time_limit") if message else None) or self.queue_time_limits_ms.get(
            message.queue_name if message else LOCAL_QUEUE, self.settings.job_time_limit_ms
        )
        deadline = time.monotonic() + limit_ms / 1000
        while True:
            try:
                self._handle(payload, message, deadline)
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("Redis failed during job %s (%s: %s); waiting for it, then running the job again",
                            message.message_id if message else "?", type(exc).__name__, exc)
                if not self.wait_for_redis(deadline):
                    raise

    def _handle(self, payload: Any, message: dramatiq.Message[Any] | None, deadline: float) -> None:
        actor_name = message.actor_name if message else PROCESS_IMAGE_ACTOR
        try:
            parsed = payloads.parse(actor_name, payload)
        except payloads.BadPayload as exc:
            raise PermanentJobError(str(exc)) from exc
        job = parsed.job
        dedupe = message.message_id if message else job.job_id
        announcer = self.announcer
        if parsed.user_id:
            done = announcer.add_waiter(job.wait_id, parsed.user_id, self.settings.job_ttl_seconds)
            if done is not None:
                announcer.tell(job.wait_id, parsed.user_id, done, dedupe)
                return
        existing = announcer.existing_result(job.wait_id)
        if existing is not None:
            announcer.completed(job.wait_id, job.job_id, existing, dedupe)
            return
        result = pipeline.run(job, self.settings, self.redis, self.services(), deadline=deadline)
        announcer.completed(job.wait_id, job.job_id, result, dedupe)


_RETRIES: dict[str, Any] = {"retry_when": retry_transient, "min_backoff": 500, "max_backoff": 5_000}


def declare_actors(broker: dramatiq.Broker, runner: JobRunner) -> dict[str, dramatiq.Actor[[Any], None]]:
    """Declare every image actor on ``broker``, each running ``runner.handle``; by actor name."""

    def declare(name: str, queue: str) -> dramatiq.Actor[[Any], None]:
        return dramatiq.actor(
            runner.handle, broker=broker, actor_name=name, queue_name=queue,
            time_limit=runner.queue_time_limits_ms[queue], **_RETRIES,
        )

    names = {PROCESS_IMAGE_ACTOR: LOCAL_QUEUE, PROCESS_IMAGE_CLOUD_ACTOR: CLOUD_QUEUE}
    names.update({name: image_route(INTERVENTION_ALIASES[name])[0] for name in LEGACY_IMAGE_ACTORS})
    return {name: declare(name, queue) for name, queue in names.items()}
