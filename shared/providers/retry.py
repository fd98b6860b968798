"""One retry policy and the retry-with-deadline loop, for async callers and for threads.

A single attempt raises ``Retryable`` when another attempt may succeed (429, 5xx, network errors) and
anything else when it cannot; ``RetryPolicy`` says how often and after how long. The gateway's page
judges and chat are async (``retry_async``); the imaging worker runs its calls in threads
(``retry_sync``). Both stop at an absolute deadline, honour the server's Retry-After, and never start
a pause that would end past the deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from shared.providers.errors import Failure, ProviderError

log = logging.getLogger(__name__)

T = TypeVar("T")


class Retryable(Exception):
    """Raised by a single attempt when another attempt may succeed (429, 5xx, network)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_base: float = 0.5  # the first pause is between half of this and this; doubles per retry
    backoff_max: float = 8.0
    retry_after_max: float = 30.0  # a longer Retry-After is cut to this (the deadline usually ends it first)

    def delay(self, retry: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        # Exponential with "equal jitter": spread concurrent clients apart but never retry instantly.
        ceiling = min(self.backoff_max, self.backoff_base * 2**retry)
        return random.uniform(ceiling / 2, ceiling)


def attempt_error(provider: str, failure: Failure) -> Retryable | ProviderError:
    """What a single attempt raises for ``failure``: ``Retryable`` or, prefixed with ``provider``, ``ProviderError``."""
    if failure.retryable:
        message = failure.label if failure.http else f"{failure.label}: {failure.detail}"
        return Retryable(message, failure.retry_after)
    return ProviderError(f"{provider}: {failure.label}: {failure.detail}")


async def retry_async(
    name: str,
    attempt: Callable[[float], Awaitable[T]],
    *,
    policy: RetryPolicy,
    deadline: float,
    slots: asyncio.Semaphore | None = None,
) -> T:
    """``await attempt(seconds_left)`` until it succeeds; ``deadline`` is an event-loop time.

    ``Retryable`` failures are retried as ``policy`` says; when retries or time run out the result is a
    ``ProviderError`` naming ``name``. Other exceptions pass through at once. ``slots`` (if given) is held
    per attempt, never across a pause.
    """
    loop = asyncio.get_running_loop()
    retries = 0
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                try:
                    async with slots if slots is not None else contextlib.nullcontext():
                        return await attempt(max(0.001, deadline - loop.time()))
                except Retryable as exc:
                    if retries >= policy.max_retries:
                        raise ProviderError(f"{name}: gave up after {retries + 1} attempts: {exc}") from exc
                    pause = policy.delay(retries, exc.retry_after)
                    if loop.time() + pause >= deadline:
                        raise ProviderError(f"{name}: {exc}; a retry in {pause:.1f}s would miss the deadline") from exc
                    log.warning("%s: %s; retry %d in %.2fs", name, exc, retries + 1, pause)
                    await asyncio.sleep(pause)
                    retries += 1
    except TimeoutError as exc:
        raise ProviderError(f"{name}: no answer before the deadline") from exc


def retry_sync(
    name: str,
    attempt: Callable[[float], T],
    *,
    policy: RetryPolicy,
    deadline: float,
    slot: Callable[[Callable[[], T], float], T] | None = None,
    min_attempt: float = 1.0,
    out_of_time: Callable[[str], Exception] = Retryable,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``attempt(seconds_left)`` until it succeeds; ``deadline`` is a ``time.monotonic()`` value.

    ``Retryable`` failures are retried as ``policy`` says; when retries or time run out the last one is
    raised as it is. An attempt with less than ``min_attempt`` seconds left is not started (it could only
    time out): ``out_of_time(message)`` is raised instead. ``slot(call, wait)`` (a concurrency gate, if
    given) runs each attempt, waiting at most ``wait`` seconds for room; it is never held across a pause.
    """
    retries = 0
    while True:
        left = deadline - time.monotonic()
        if left < min_attempt:
            raise out_of_time(f"{name}: out of time")
        try:
            if slot is None:
                return attempt(left)
            return slot(lambda: attempt(deadline - time.monotonic()), left - min_attempt)
        except Retryable as exc:
            if retries >= policy.max_retries:
                raise
            pause = policy.delay(retries, exc.retry_after)
            if time.monotonic() + pause + min_attempt > deadline:
                raise
            log.warning("%s: %s; retry %d in %.2fs", name, exc, retries + 1, pause)
            retries += 1
            sleep(pause)
