"""Bounded load and event helpers: every loop here stops by itself (a count AND a deadline)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import orjson
import redis

from shared import imagejobs

REQUEST_TIMEOUT = 10.0  # a request that takes longer is counted as a hang


@dataclass
class Outcome:
    started: float  # monotonic
    name: str
    status: int  # 0: transport error, -1: timed out (a hang)
    seconds: float


@dataclass
class HttpLoad:
    """Requests from ``makers`` in turn, in one thread, until ``max_requests`` or ``max_seconds``."""

    base_url: str
    makers: list[tuple[str, Callable[[httpx.Client], httpx.Response]]]
    max_requests: int = 5000
    max_seconds: float = 60.0
    pause: float = 0.02
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=REQUEST_TIMEOUT + 5)

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        with httpx.Client(base_url=self.base_url, timeout=REQUEST_TIMEOUT) as client:
            for i in range(self.max_requests):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                name, make = self.makers[i % len(self.makers)]
                started = time.monotonic()
                try:
                    status = make(client).status_code
                except httpx.TimeoutException:
                    status = -1
                except httpx.HTTPError:
                    status = 0
                self.outcomes.append(Outcome(started, name, status, time.monotonic() - started))
                self._stop.wait(self.pause)

    def between(self, start: float, end: float) -> list[Outcome]:
        return [o for o in self.outcomes if start <= o.started < end]


class Publisher:
    """Publishes events to a user's log exactly as the worker does (log append + PUBLISH, one Lua call)."""

    def __init__(self, redis_url: str, user: str) -> None:
        self.client = redis.Redis.from_url(redis_url, socket_timeout=2, socket_connect_timeout=1)
        self.script = self.client.register_script(imagejobs.PUBLISH_EVENT)
        self.user = user
        self.published: list[int] = []  # offsets the server acknowledged
        self.failed = 0

    def publish(self, index: int) -> int | None:
        event = {"type": "image_processed", "data": {"image_url": f"https://img.test/{index}", "result": "r",
                                                      "filters": []}}
        # One dedupe id per event: a retried call can never append the same event twice.
        keys_, args = imagejobs.publish_args(self.user, f"rel-{self.user}-{index}", orjson.dumps(event).decode(), 1000)
        try:
            reply = self.script(keys=keys_, args=args)
        except (redis.ConnectionError, redis.TimeoutError):
            self.failed += 1
            return None
        if not reply:
            return None
        offset = int(reply[1])
        self.published.append(offset)
        return offset

    def close(self) -> None:
        self.client.close()


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def offsets(frames: list[dict[str, object]]) -> list[int]:
    return [int(f["offset"]) for f in frames if f.get("type") == "image_processed"]  # type: ignore[call-overload]
