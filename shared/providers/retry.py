"""Retries for the async callers (moderation's ``PageJudge``, the chat's ``call_within``).

A single attempt raises ``Retryable`` when another attempt may succeed and ``ProviderError`` when it
cannot; ``RetryPolicy`` says how often and after how long. The imaging worker runs in threads and
keeps its own policy (``imaging.cloud.calls``).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from shared.providers.errors import Failure, ProviderError


class Retryable(Exception):
    """Raised by a provider's single attempt when another attempt may succeed (429, 5xx, network)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_base: float = 0.5
    backoff_max: float = 8.0
    retry_after_max: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.retry_after_max)
        # Exponential with "equal jitter": spread concurrent clients apart but never retry instantly.
        ceiling = min(self.backoff_max, self.backoff_base * 2**attempt)
        return random.uniform(ceiling / 2, ceiling)


def attempt_error(provider: str, failure: Failure) -> Retryable | ProviderError:
    """What a single attempt raises for ``failure``: ``Retryable`` or, prefixed with ``provider``, ``ProviderError``."""
    if failure.retryable:
        message = failure.label if failure.http else f"{failure.label}: {failure.detail}"
        return Retryable(message, failure.retry_after)
    return ProviderError(f"{provider}: {failure.label}: {failure.detail}")
