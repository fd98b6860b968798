"""How calls to a cloud provider are bounded: error kinds and a concurrency gate.

Every provider client maps its SDK's exceptions onto three kinds, so callers decide without knowing
the SDK: ``CloudTransient`` (timeouts, 429, 5xx: worth another attempt), ``CloudRefused`` (4xx, a
refusal, a reply without an image: the same request cannot succeed) and ``CloudNotConfigured``.
Retries are ``shared.providers.retry.retry_sync``, for which ``CloudTransient`` is ``Retryable``.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from shared.providers.errors import Failure
from shared.providers.retry import Retryable, RetryPolicy, retry_sync

T = TypeVar("T")


class CloudError(Exception):
    """A provider call failed; ``reason`` is short and safe to put in a result note."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class CloudNotConfigured(CloudError):
    """No key for this provider (or it is switched off)."""


class CloudTransient(CloudError, Retryable):
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


def call_with_retries(attempt: Callable[[float], T], *, gate: Gate, policy: RetryPolicy, deadline: float) -> T:
    """``attempt(seconds_left)`` retried within ``deadline`` (monotonic), each try holding a slot of ``gate``.

    The last ``CloudTransient`` is raised when retries or time run out; no time for an attempt is one too.
    """
    return retry_sync(gate.name, attempt, policy=policy, deadline=deadline, slot=gate.run, out_of_time=CloudTransient)


class GatedClient(ABC):
    """What both image clients share: their settings and two gates per provider.

    Separate gates for edits and vision calls: a queue of slow edits must not hold up the quick vision
    calls of local jobs. A subclass builds its SDK client in ``_connect`` (abstract: a subclass without it
    cannot be constructed).
    """

    name: str

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None,
        image_model: str,
        vision_model: str,
        concurrency: int,
        policy: RetryPolicy,
        request_timeout: float,
    ) -> None:
        if not api_key:
            raise ValueError(f"{type(self).__name__} needs an API key")
        self.image_model = image_model
        self.vision_model = vision_model
        self.edit_gate = Gate(f"{self.name} edits", concurrency)
        self.vision_gate = Gate(f"{self.name} vision", concurrency)
        self.policy = policy
        self.request_timeout = request_timeout
        self._client = self._connect(api_key, base_url, request_timeout)

    @abstractmethod
    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> Any:
        """The SDK client, its own retries off."""

    def close(self) -> None:
        self._client.close()
