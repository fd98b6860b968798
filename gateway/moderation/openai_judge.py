"""OpenAI (or any OpenAI-compatible endpoint) as a moderation provider: one chat completion per feed page.

The reply is constrained by a strict JSON schema (structured outputs), then checked again by
``replies.parse_results``, because a schema guarantees shape, not truth.
"""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

from gateway.moderation.cloud_judge import CloudJudge
from gateway.moderation.page_prompt import RESPONSE_SCHEMA, SCHEMA_NAME, SYSTEM_PROMPT
from shared.providers.openai import async_client, classify_error, completion_text
from shared.providers.retry import attempt_error

DEFAULT_MODEL = "gpt-4o-mini"

RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": RESPONSE_SCHEMA},
}


class OpenAIProvider(CloudJudge):
    """Judges a page with one ``chat.completions`` request (more only when the page exceeds the input budget).

    ``base_url`` is the API root including the version, e.g. ``https://api.openai.com/v1`` or
    ``http://127.0.0.1:8080/v1``; None or "" means the official endpoint.
    """

    name = "openai"
    default_model = DEFAULT_MODEL
    _client: AsyncOpenAI

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> AsyncOpenAI:
        return async_client(api_key, base_url, timeout)

    async def aclose(self) -> None:
        await self._client.close()

    async def _complete(self, message: str, time_left: float) -> str:
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
        return completion_text(completion)
