"""OpenAI (or any OpenAI-compatible endpoint) through the official SDK: clients and error classification.

``base_url`` is the API root including the version, e.g. ``https://api.openai.com/v1``; None or "" means
the official endpoint. The SDK's own retries are off (``max_retries=0``): callers retry within their
own deadline and honour Retry-After. ``timeout`` is the client default; callers pass ``timeout=`` per
request for what is left of their deadline.
"""

from __future__ import annotations

import logging
from typing import Any

import openai
from openai import AsyncOpenAI, OpenAI

from shared.providers.errors import Failure, ProviderError, other_failure, retry_after_seconds, transport_failure

log = logging.getLogger(__name__)

# Statuses worth another attempt (the same set the SDK itself would retry); everything else is our fault.
RETRY_STATUSES = frozenset({408, 409, 429})


def async_client(api_key: str, base_url: str | None, timeout: float) -> AsyncOpenAI:
    return AsyncOpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0)


def sync_client(api_key: str, base_url: str | None, timeout: float) -> OpenAI:
    return OpenAI(api_key=api_key, base_url=base_url or None, timeout=timeout, max_retries=0)


def classify_error(exc: Exception) -> Failure:
    """An exception raised by an SDK request, as a ``Failure``."""
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retryable = status in RETRY_STATUSES or status >= 500
        return Failure(
            retryable=retryable,
            label=f"HTTP {status}",
            detail=exc.message,
            http=True,
            status=status,
            retry_after=retry_after_seconds(exc.response.headers) if retryable else None,
        )
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return transport_failure(exc)
    return other_failure(exc)


def completion_text(completion: Any) -> str:
    """The assistant's content of a chat completion; ``ProviderError`` for a cut-off, refused or empty reply.

    Not worth a retry: the same input ends the same way.
    """
    choices = getattr(completion, "choices", None)
    if not choices:
        raise ProviderError(f"openai: reply is not a chat completion: {str(completion)[:120]!r}")
    choice = choices[0]
    if choice.finish_reason == "length":
        raise ProviderError("openai: reply cut off at the output token limit")
    message = choice.message
    if getattr(message, "refusal", None):
        raise ProviderError(f"openai: model refused: {message.refusal[:200]}")
    if not message.content:
        raise ProviderError("openai: reply has no content")
    usage = getattr(completion, "usage", None)
    if usage is not None:
        log.debug("openai usage: %s prompt, %s completion tokens", usage.prompt_tokens, usage.completion_tokens)
    return message.content
