"""The filter expansion call on OpenAI (structured outputs) and on Gemini (JSON mode with a response schema).

Clients, timeouts and error classification come from ``shared.providers``, as for the page judges and the chat.
"""

from __future__ import annotations

from typing import Any

from google import genai
from openai import AsyncOpenAI

from gateway.moderation.filter_expansion import (
    GEMINI_RESPONSE_SCHEMA,
    MAX_OUTPUT_TOKENS,
    OPENAI_RESPONSE_FORMAT,
    SYSTEM_PROMPT,
    FilterExpander,
)
from shared.providers import gemini
from shared.providers.openai import async_client, classify_error, completion_text
from shared.providers.retry import attempt_error

# Deterministic: the same text should expand the same way whichever process asks.
_TEMPERATURE = 0.0


class OpenAIExpander(FilterExpander):
    name = "openai"
    _client: AsyncOpenAI

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> AsyncOpenAI:
        return async_client(api_key, base_url, timeout)

    async def aclose(self) -> None:
        await self._client.close()

    async def _attempt(self, message: str, time_left: float) -> str:
        messages: list[dict[str, Any]] = [{"role": "system", "content": SYSTEM_PROMPT},
                                          {"role": "user", "content": message}]
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=OPENAI_RESPONSE_FORMAT,  # type: ignore[arg-type]
                max_completion_tokens=MAX_OUTPUT_TOKENS,
                temperature=_TEMPERATURE,
                timeout=time_left,
            )
        except Exception as exc:  # 408/409/429/5xx and network errors are Retryable; the rest ProviderError
            raise attempt_error(self.name, classify_error(exc)) from exc
        return completion_text(completion)


class GeminiExpander(FilterExpander):
    name = "gemini"
    _client: genai.Client

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> genai.Client:
        return gemini.client(api_key, base_url)  # per-request timeouts: see _attempt

    async def aclose(self) -> None:
        await self._client.aio.aclose()

    async def _attempt(self, message: str, time_left: float) -> str:
        # Safety blocking off: people name exactly what hurts them ("graphic self-harm photos").
        config = gemini.json_config(SYSTEM_PROMPT, GEMINI_RESPONSE_SCHEMA, _TEMPERATURE, time_left)
        try:
            response = await self._client.aio.models.generate_content(model=self.model, contents=message,
                                                                      config=config)
        except Exception as exc:  # 408/429/5xx (waiting as RetryInfo says) and network errors are Retryable
            raise attempt_error(self.name, gemini.classify_error(exc, retry_info=True)) from exc
        return gemini.response_text(response)
