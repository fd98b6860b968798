"""Recording a job's outcome and telling every waiting user, exactly once per delivery."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import orjson
import redis
from redis.commands.core import Script

from imaging.metrics import unreplicated_writes
from shared import events, imagejobs, keys
from shared.config import Settings
from shared.events import ImageResult

log = logging.getLogger(__name__)

# Redis Cluster replicates asynchronously: a primary that dies right after a write can take the
# write with it when its replica takes over. The writes that must survive a failover are the job's
# outcome (lost, the job would look queued for JOB_TTL_SECONDS while nobody runs it) and each event
# log entry (lost, the user's offsets would be reused). On a cluster the worker waits, on the same
# connection, for one replica to confirm them before the job's message is acknowledged.
REPLICA_WAIT_MS = 500
NO_REPLICA_BACKOFF_SECONDS = 10.0


class Announcer:
    def __init__(
        self, client: redis.Redis, *, result_ttl: int, failure_ttl: int, log_len: int, log_seconds: int = 600,
        transient_failure_ttl: int | None = None, sharded: bool = False,
    ) -> None:
        self.redis = client
        self.sharded = sharded  # Redis Cluster: events go out with SPUBLISH, writes wait for a replica
        self._no_replica_until: dict[str, float] = {}
        self.result_ttl = result_ttl
        self.failure_ttl = failure_ttl
        self.transient_failure_ttl = failure_ttl if transient_failure_ttl is None else transient_failure_ttl
        self.log_len = log_len
        self.log_seconds = log_seconds
        self._finish = client.register_script(imagejobs.FINISH_JOB)
        self._publish = client.register_script(imagejobs.PUBLISH_EVENT)
        self._release = client.register_script(imagejobs.RELEASE_WAITERS)
        self._waits = imagejobs.WaitRegistry(client)

    @classmethod
    def from_settings(cls, client: redis.Redis, settings: Settings) -> Announcer:
        return cls(client, result_ttl=settings.result_ttl_seconds, failure_ttl=settings.failure_ttl_seconds,
                   transient_failure_ttl=settings.transient_failure_ttl_seconds, log_len=settings.event_log_len,
                   log_seconds=settings.event_log_seconds, sharded=settings.redis_cluster)

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
        keys_, args = imagejobs.finish_args(wait, job, orjson.dumps(result), self.result_ttl, sharded=self.sharded)
        waiters = self._run(self._finish, keys_, args)
        return self._announce(wait, waiters, events.image_processed(result), dedupe)

    def failed(
        self, wait: str, job: str, image_url: str, filters: list[str], reason: str, dedupe: str, *, permanent: bool
    ) -> int:
        """Store the failure and announce it; returns how many users were told.

        While the record lives, requests for the wait id are answered FAILED and queue nothing
        (register_wait.lua): a dead image host costs one job per TTL, not one per page view. A
        permanent failure (404, refused address, not an image) is kept FAILURE_TTL_SECONDS; a
        transient one (timeouts, 5xx, already retried by Dramatiq) TRANSIENT_FAILURE_TTL_SECONDS,
        shorter, since the source may be back soon."""
        kind = imagejobs.FAILURE_PERMANENT if permanent else imagejobs.FAILURE_TRANSIENT
        ttl = self.failure_ttl if permanent else self.transient_failure_ttl
        # failure_id: this record's identity, so the gateway tells a later asker of it once (image_jobs.py).
        failure = {"reason": reason, "image_url": image_url, "job_id": job, "kind": kind,
                   "failure_id": secrets.token_hex(8)}
        keys_, args = imagejobs.finish_args(wait, job, orjson.dumps(failure), ttl, failed=True,
                                            sharded=self.sharded)
        waiters = self._run(self._finish, keys_, args)
        return self._announce(wait, waiters, events.image_failed(image_url, filters, reason, job), dedupe)

    def _run(self, script: Script, keys_: list[str], args: list[object]) -> Any:
        """Run ``script``; on a cluster also wait for a replica to hold its writes (see REPLICA_WAIT_MS).

        WAIT counts the writes of its own connection, so script and WAIT go down one connection to
        the node that owns the keys, in one pipeline."""
        if not self.sharded:
            return script(keys=keys_, args=args)
        node = self.redis.get_node_from_key(keys_[0])  # type: ignore[attr-defined]
        if time.monotonic() < self._no_replica_until.get(node.name, 0.0):
            unreplicated_writes.inc()
            return script(keys=keys_, args=args)
        node_client = self.redis.get_redis_connection(node)  # type: ignore[attr-defined]
        try:
            with node_client.pipeline(transaction=False) as pipe:
                script(keys=keys_, args=args, client=pipe)
                pipe.execute_command("WAIT", 1, REPLICA_WAIT_MS)
                reply, replicas = pipe.execute()
        except redis.exceptions.AskError:  # MovedError too: the slot moved since our slot map was read
            # Nothing ran there. The cluster client follows the redirect (and updates its map, so
            # the next write goes straight to the new owner); this one write goes unconfirmed.
            unreplicated_writes.inc()
            return script(keys=keys_, args=args)
        if int(replicas) < 1:
            # No replica confirmed in time (none left after a failover, or lagging): go on rather
            # than stall every job, and stop asking that node for a while.
            unreplicated_writes.inc()
            self._no_replica_until[node.name] = time.monotonic() + NO_REPLICA_BACKOFF_SECONDS
            log.warning("no replica of %s confirmed a write within %d ms; writes there go unconfirmed for %.0f s",
                        node.name, REPLICA_WAIT_MS, NO_REPLICA_BACKOFF_SECONDS)
        return reply

    def _announce(self, wait: str, waiters: list[bytes], event: dict[str, object], dedupe: str) -> int:
        payload = events.dumps(event)
        told = 0
        users = [w.decode() for w in waiters]
        for user_id in users:
            keys_, args = imagejobs.publish_args(
                user_id, dedupe, payload, self.log_len, self.log_seconds, sharded=self.sharded
            )
            if self._run(self._publish, keys_, args):
                told += 1
        if users:
            self._release(keys=[keys.waiters_key(wait)], args=users)
        log.info("announced %s for %s to %d of %d waiters", event["type"], wait, told, len(users))
        return told
