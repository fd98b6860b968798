"""One chat model call within a deadline: retried on 429/5xx/network errors, honouring Retry-After.

The same policy types as the moderation providers (``shared.providers.retry``), so both back off alike.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from shared.moderation.types import ProviderError
from shared.providers.retry import Retryable, RetryPolicy

log = logging.getLogger(__name__)

# One attempt, given the seconds left: the model's raw text. Raises Retryable or ProviderError.
Attempt = Callable[[float], Awaitable[str]]


async def call_within(name: str, attempt: Attempt, budget: float, policy: RetryPolicy) -> str:
    """The first successful attempt's text; ProviderError when attempts or ``budget`` seconds run out."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    tries = 0
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                try:
                    return await attempt(max(0.001, deadline - loop.time()))
                except Retryable as exc:
                    if tries >= policy.max_retries:
                        raise ProviderError(f"{name}: gave up after {tries + 1} attempts: {exc}") from exc
                    delay = policy.delay(tries, exc.retry_after)
                    if loop.time() + delay >= deadline:
                        raise ProviderError(f"{name}: {exc}; a retry in {delay:.1f}s would miss the deadline") from exc
                    log.warning("%s: %s; retry %d in %.2fs", name, exc, tries + 1, delay)
                    await asyncio.sleep(delay)
                    tries += 1
    except TimeoutError as exc:
        raise ProviderError(f"{name}: no answer within {budget:g}s") from exc
