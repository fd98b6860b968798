"""OpenAI (or any OpenAI-compatible endpoint) as a moderation provider: one chat completion per feed page.

The reply is constrained by a strict JSON schema (structured outputs), then checked again by
``replies.parse_results``, because a schema guarantees shape, not truth.
"""

from __future__ import annotations

import logging
from typing import Any

from gateway.moderation.batching import MAX_CHARS_PER_REQUEST, PageJudge
from gateway.moderation.page_prompt import RESPONSE_SCHEMA, SCHEMA_NAME, SYSTEM_PROMPT
from shared.models import Filter
from shared.moderation.types import Post, PostVerdict, ProviderError
from shared.providers.openai import async_client, classify_error
from shared.providers.retry import RetryPolicy, attempt_error

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 15.0

RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": RESPONSE_SCHEMA},
}


class OpenAIProvider:
    """Judges a page with one ``chat.completions`` request (more only when the page exceeds the input budget).

    ``base_url`` is the API root including the version, e.g. ``https://api.openai.com/v1`` or
    ``http://127.0.0.1:8080/v1``; None or "" means the official endpoint. ``timeout`` bounds a whole
    ``judge`` call, retries included. ``temperature=None`` omits the parameter, for models that reject it.
    """

    name = "openai"
    can_rewrite = True

    def __init__(
        self,
        api_key: str,
        model: str = DEFAULT_MODEL,
        base_url: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = 2,
        concurrency: int = 8,
        temperature: float | None = 0.0,
        max_chars_per_request: int = MAX_CHARS_PER_REQUEST,
        backoff_base: float = 0.5,
    ) -> None:
        if not api_key:
            raise ValueError("OpenAIProvider needs an API key")
        self.model = model
        self._temperature = temperature
        # The SDK's own retries are off: PageJudge retries within the page deadline and honours Retry-After.
        self._client = async_client(api_key, base_url, timeout)
        self._pages = PageJudge(
            self.name,
            self._complete,
            timeout=timeout,
            policy=RetryPolicy(max_retries=max_retries, backoff_base=backoff_base),
            concurrency=concurrency,
            max_chars=max_chars_per_request,
        )

    async def judge(self, posts: list[Post], filters: list[Filter]) -> dict[str, PostVerdict]:
        return await self._pages.judge(posts, filters)

    async def aclose(self) -> None:
        await self._client.close()

    async def _complete(self, message: str, time_left: float) -> str:
        """One request; the model's JSON text, or Retryable / ProviderError."""
        extra: dict[str, Any] = {} if self._temperature is None else {"temperature": self._temperature}
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": message},
                ],
                response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
                timeout=time_left,
                **extra,
            )
        except Exception as exc:  # 408/409/429/5xx and network errors are Retryable; the rest ProviderError
            raise attempt_error(self.name, classify_error(exc)) from exc
        return _content(completion)


def _content(completion: Any) -> str:
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
