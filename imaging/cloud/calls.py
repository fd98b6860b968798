"""How calls to a cloud provider are bounded: error kinds, a concurrency gate, retries with backoff.

Every provider client maps its SDK's exceptions onto three kinds, so callers decide without knowing
the SDK: ``CloudTransient`` (timeouts, 429, 5xx: worth another attempt), ``CloudRefused`` (4xx, a
refusal, a reply without an image: the same request cannot succeed) and ``CloudNotConfigured``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.providers.errors import Failure

T = TypeVar("T")

# An attempt with less time than this left is not started: it could only time out.
MIN_ATTEMPT_SECONDS = 1.0


class CloudError(Exception):
    """A provider call failed; ``reason`` is short and safe to put in a result note."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class CloudNotConfigured(CloudError):
    """No key for this provider (or it is switched off)."""


class CloudTransient(CloudError):
    """Timeouts, connection errors, 429, 5xx."""


class CloudRefused(CloudError):
    """4xx, safety refusals, unusable replies: retrying the same request cannot help."""


def cloud_error(provider: str, failure: Failure) -> CloudError:
    """A classified SDK failure (``shared.providers``) as ``CloudTransient`` or ``CloudRefused``."""
    reason = f"{provider}: {failure.summary}"
    if failure.retryable:
        return CloudTransient(reason, failure.retry_after)
    return CloudRefused(reason)


class Gate:
    """At most ``limit`` concurrent calls to one provider from this process.

    Worker threads that cannot get a slot within the wait they are given move on (callers fall back
    to local work), so a slow provider holds at most ``limit`` threads, never all of them.
    """

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self.limit = max(1, limit)
        self._slots = threading.BoundedSemaphore(self.limit)

    def run(self, call: Callable[[], T], wait: float) -> T:
        if not self._slots.acquire(timeout=max(0.0, wait)):
            raise CloudTransient(f"{self.name} busy ({self.limit} calls in flight)")
        try:
            return call()
        finally:
            self._slots.release()


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff: float = 1.0  # first pause in seconds; doubles per retry
    max_backoff: float = 8.0


def call_with_retries(
    attempt: Callable[[float], T],
    *,
    gate: Gate,
    policy: RetryPolicy,
    deadline: float,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``attempt(timeout_seconds)`` until it succeeds, retrying ``CloudTransient`` failures.

    At most ``policy.max_retries`` retries, each after an exponential pause with jitter (or the
    server's ``Retry-After``), and never past ``deadline`` (a ``time.monotonic()`` value): the last
    failure is raised instead. The gate is held per attempt, not across pauses.
    """
    retries = 0
    while True:
        left = deadline - time.monotonic()
        if left < MIN_ATTEMPT_SECONDS:
            raise CloudTransient(f"{gate.name}: out of time")
        try:
            return gate.run(lambda: attempt(deadline - time.monotonic()), wait=left - MIN_ATTEMPT_SECONDS)
        except CloudTransient as exc:
            if retries >= policy.max_retries:
                raise
            pause = policy.backoff * 2**retries * random.uniform(0.8, 1.2)
            if exc.retry_after is not None:
                pause = max(pause, exc.retry_after)
            pause = min(pause, policy.max_backoff)
            if time.monotonic() + pause + MIN_ATTEMPT_SECONDS > deadline:
                raise
            retries += 1
            sleep(pause)
