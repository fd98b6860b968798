"""The imaging worker in the test process, for the integration tests of its actors.

A rig is: the session's real Redis (job protocol, results, events), an image host (a ``FakeServer``
that can answer with scripted statuses), and the worker that ``python -m imaging.worker`` runs, built by
``imaging.wiring.build_worker`` on Dramatiq's ``StubBroker`` with its two thread pools started. Jobs are
queued the way the gateway queues them (waiter registered in Redis, then the Dramatiq message
enqueued), or by hand for the legacy forms. The worker process itself (entry point, Redis broker,
sweeper, metrics port) is covered by tests/e2e and tests/reliability.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import orjson
import redis
from dramatiq.brokers.stub import StubBroker

from imaging.wiring import ImagingWorker, build_worker
from shared import imagejobs, jobqueue, keys
from shared.config import load_settings
from shared.events import ImageResult
from shared.imagejobs import ImageJob
from tests.fakes import FakeServer, Reply, Request
from tests.harness import wait_until


class ImageHost(FakeServer):
    """Serves images under ``/img/<name>``; ``statuses`` are answered first, one per request."""

    def __init__(self) -> None:
        super().__init__()
        self.files: dict[str, tuple[bytes, list[int]]] = {}
        self.add_route("GET", r"/img/(?P<name>.+)", self._serve)

    def add(self, data: bytes, *statuses: int, name: str | None = None) -> str:
        name = name or f"{uuid.uuid4().hex}.jpg"
        self.files[name] = (data, list(statuses))
        return f"{self.url}/img/{name}"

    def hits(self, url: str) -> int:
        return len(self.requests_to(url.removeprefix(self.url)))

    def _serve(self, request: Request) -> Reply:
        found = self.files.get(request.params["name"])
        if found is None:
            return Reply(status=404, body=b"not found", content_type="text/plain")
        data, statuses = found
        if statuses:
            return Reply(status=statuses.pop(0), body=b"busy", content_type="text/plain")
        return Reply(body=data, content_type="image/jpeg")


@dataclass
class Rig:
    redis: redis.Redis
    broker: StubBroker
    worker: ImagingWorker
    images: ImageHost
    users: list[str] = field(default_factory=list)

    def queue(self, job: ImageJob, user: str, *, route: tuple[str, str] | None = None) -> dramatiq.Message:
        """What the gateway does: register ``user`` as a waiter, claim the job, enqueue it."""
        state = imagejobs.WaitRegistry(self.redis).register(job.wait_id, user, 900, job.job_id)
        assert state.state == "queued", state
        queue, actor = route or jobqueue.image_route(job.intervention)
        return self.send(queue, actor, job.to_message())

    def send(self, queue: str, actor: str, payload: Any) -> dramatiq.Message:
        message = dramatiq.Message(queue_name=queue, actor_name=actor, args=(payload,), kwargs={}, options={})
        return self.broker.enqueue(message)

    def result(self, job: ImageJob, timeout: float = 15) -> ImageResult:
        raw: list[bytes] = []

        def done() -> bool:
            value = self.redis.get(keys.result_key(job.wait_id))
            if value is not None:
                raw.append(value)
            return bool(raw)

        wait_until(done, timeout, f"result of {job.image_url}", interval=0.02)
        result = imagejobs.decode_result(raw[0])
        assert result is not None
        return result

    def failure(self, job: ImageJob, timeout: float = 15) -> dict[str, Any]:
        wait_until(lambda: self.redis.exists(keys.failed_key(job.wait_id)) == 1, timeout,
                   f"failure of {job.image_url}", interval=0.02)
        return orjson.loads(self.redis.get(keys.failed_key(job.wait_id)))

    def events(self, user: str) -> list[dict[str, Any]]:
        return [orjson.loads(fields[b"p"]) for _, fields in self.redis.xrange(keys.user_log_key(user))]

    def blob(self, url: str) -> bytes:
        data = self.redis.hget(keys.image_blob_key(url.rsplit("/", 1)[1]), "data")
        assert data is not None, url
        return bytes(data)

    def drain(self, queue: str, timeout: float = 10) -> None:
        """Wait until every message on ``queue`` (and its delay queue) was processed and acknowledged."""
        self.broker.join(queue, timeout=int(timeout * 1000), fail_fast=False)


def worker_env(redis_url: str, **env: str) -> dict[str, str]:
    """The worker's whole environment: nothing comes from the test process's own."""
    return {
        "REDIS_URL": redis_url,
        "FETCH_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "MODERATION_PROVIDER": "local",
        "PUBLIC_GATEWAY_URL": "http://127.0.0.1:9",
        "WORKER_THREADS": "2",
        **env,
    }


@contextlib.contextmanager
def rig(redis_url: str, **env: str) -> Iterator[Rig]:
    images = ImageHost().start()
    broker = StubBroker()
    worker = build_worker(load_settings(worker_env(redis_url, **env)), broker)
    client = redis.Redis.from_url(redis_url)
    worker.start()
    try:
        yield Rig(client, broker, worker, images)
    finally:
        worker.stop(timeout_ms=10_000)
        client.close()
        images.stop()


def new_user() -> str:
    return f"u-{uuid.uuid4().hex[:8]}"
