"""The one retry-with-deadline loop (shared.providers.retry), async and in threads.

Every cloud caller (page judges, chat, imaging) goes through these two runners; what each caller
sends and how it reads the reply is tested with its fakes elsewhere.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from shared.providers.errors import ProviderError
from shared.providers.retry import Retryable, RetryPolicy, retry_async, retry_sync

FAST = RetryPolicy(max_retries=3, backoff_base=0.001, backoff_max=0.01)


class Flaky:
    """Fails with ``errors`` in turn, then answers "ok"; records the seconds left it was given."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.lefts: list[float] = []

    def __call__(self, left: float) -> str:
        self.lefts.append(left)
        if self.errors:
            raise self.errors.pop(0)
        return "ok"

    async def run(self, left: float) -> str:
        return self(left)


def test_delay_takes_retry_after_capped_else_jittered_exponential_backoff() -> None:
    policy = RetryPolicy(backoff_base=1.0, backoff_max=3.0, retry_after_max=5.0)
    assert policy.delay(0, 2.5) == 2.5
    assert policy.delay(0, 60) == 5.0
    assert all(0.5 <= policy.delay(0, None) <= 1.0 for _ in range(50))
    assert all(1.0 <= policy.delay(1, None) <= 2.0 for _ in range(50))
    assert all(1.5 <= policy.delay(5, None) <= 3.0 for _ in range(50))


# --------------------------------------------------------------------------- async


async def test_async_retries_retryable_failures_until_an_answer() -> None:
    flaky = Flaky(Retryable("HTTP 503"), Retryable("HTTP 429"))
    deadline = asyncio.get_running_loop().time() + 5
    assert await retry_async("t", flaky.run, policy=FAST, deadline=deadline) == "ok"
    assert len(flaky.lefts) == 3
    assert all(0 < left <= 5 for left in flaky.lefts) and flaky.lefts == sorted(flaky.lefts, reverse=True)


async def test_async_gives_up_after_max_retries() -> None:
    flaky = Flaky(*(Retryable("HTTP 500") for _ in range(10)))
    deadline = asyncio.get_running_loop().time() + 5
    with pytest.raises(ProviderError, match="gave up after 4 attempts: HTTP 500"):
        await retry_async("t", flaky.run, policy=FAST, deadline=deadline)
    assert len(flaky.lefts) == 4


async def test_async_waits_as_long_as_retry_after_says() -> None:
    flaky = Flaky(Retryable("HTTP 429", retry_after=0.3))
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await retry_async("t", flaky.run, policy=FAST, deadline=started + 5) == "ok"
    assert loop.time() - started >= 0.3  # backoff alone would be about 1 ms


async def test_async_fails_at_once_when_retry_after_ends_past_the_deadline() -> None:
    flaky = Flaky(Retryable("HTTP 429", retry_after=60))
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(ProviderError, match="would miss the deadline"):
        await retry_async("t", flaky.run, policy=FAST, deadline=started + 2)
    assert len(flaky.lefts) == 1
    assert loop.time() - started < 2


async def test_async_cuts_a_hanging_attempt_at_the_deadline() -> None:
    async def hang(left: float) -> str:
        await asyncio.sleep(30)
        return "late"

    loop = asyncio.get_running_loop()
    with pytest.raises(ProviderError, match="deadline"):
        await retry_async("t", hang, policy=FAST, deadline=loop.time() + 0.2)


@pytest.mark.parametrize("error", [ProviderError("t: HTTP 400: bad"), ValueError("not JSON")])
async def test_async_does_not_retry_other_failures(error: Exception) -> None:
    flaky = Flaky(error)
    deadline = asyncio.get_running_loop().time() + 5
    with pytest.raises(type(error)):
        await retry_async("t", flaky.run, policy=FAST, deadline=deadline)
    assert len(flaky.lefts) == 1


async def test_async_holds_a_slot_per_attempt_not_across_pauses() -> None:
    slots = asyncio.Semaphore(1)
    held: list[bool] = []

    async def attempt(left: float) -> str:
        held.append(slots.locked())
        if len(held) < 2:
            raise Retryable("HTTP 503", retry_after=0.2)
        return "ok"

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(retry_async("t", attempt, policy=FAST, deadline=loop.time() + 5, slots=slots))
    await asyncio.sleep(0.1)  # the runner is pausing now
    assert not slots.locked()
    assert await task == "ok"
    assert held == [True, True]


# --------------------------------------------------------------------------- sync (threads)


def test_sync_retries_retryable_failures_until_an_answer() -> None:
    pauses: list[float] = []
    flaky = Flaky(Retryable("HTTP 503"), Retryable("timeout"))
    got = retry_sync("t", flaky, policy=FAST, deadline=time.monotonic() + 5, sleep=pauses.append)
    assert got == "ok" and len(flaky.lefts) == 3 and len(pauses) == 2
    assert all(0.0005 <= p <= 0.01 for p in pauses)


def test_sync_honours_retry_after_capped_by_the_policy() -> None:
    pauses: list[float] = []
    flaky = Flaky(Retryable("HTTP 429", retry_after=0.5), Retryable("HTTP 429", retry_after=600))
    policy = RetryPolicy(max_retries=3, backoff_base=0.001, retry_after_max=2.0)
    assert retry_sync("t", flaky, policy=policy, deadline=time.monotonic() + 60, sleep=pauses.append) == "ok"
    assert pauses == [0.5, 2.0]


def test_sync_stops_before_a_pause_would_end_past_the_deadline() -> None:
    flaky = Flaky(*(Retryable("down", retry_after=0.15) for _ in range(20)))
    started = time.monotonic()
    with pytest.raises(Retryable, match="down"):
        retry_sync("t", flaky, policy=RetryPolicy(max_retries=20), deadline=started + 0.5, min_attempt=0.1)
    assert time.monotonic() - started < 0.5
    assert 1 <= len(flaky.lefts) <= 3


def test_sync_starts_no_attempt_without_min_attempt_seconds_left() -> None:
    class Expired(Exception):
        pass

    flaky = Flaky()
    with pytest.raises(Expired, match="t: out of time"):
        retry_sync("t", flaky, policy=FAST, deadline=time.monotonic() + 0.5, min_attempt=1.0, out_of_time=Expired)
    assert flaky.lefts == []


def test_sync_does_not_retry_other_failures() -> None:
    flaky = Flaky(ValueError("refused"))
    with pytest.raises(ValueError, match="refused"):
        retry_sync("t", flaky, policy=FAST, deadline=time.monotonic() + 5, sleep=lambda _: None)
    assert len(flaky.lefts) == 1


def test_sync_runs_each_attempt_through_the_slot_with_the_time_it_may_wait() -> None:
    waits: list[float] = []

    def slot(call, wait: float) -> str:  # type: ignore[no-untyped-def]
        waits.append(wait)
        return call()

    flaky = Flaky(Retryable("busy"))
    got = retry_sync("t", flaky, policy=FAST, deadline=time.monotonic() + 5, slot=slot, min_attempt=1.0,
                     sleep=lambda _: None)
    assert got == "ok" and len(waits) == 2
    assert all(3.5 < w <= 4.0 for w in waits)  # what is left of the deadline, less one minimal attempt
