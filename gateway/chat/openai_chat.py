"""The chat on OpenAI (or any OpenAI-compatible endpoint): one chat completion per turn, structured output.

Client set-up and error classes come from ``shared.providers.openai``, as for the moderation provider.
"""

from __future__ import annotations

import base64
from typing import Any

from openai import AsyncOpenAI

from gateway.chat.chat_prompt import (
    RESPONSE_SCHEMA,
    SCHEMA_NAME,
    SYSTEM_PROMPT,
    ModelRequest,
    assistant_turn_text,
    filters_document,
    user_message_text,
)
from gateway.chat.provider import CloudChat
from shared.providers.openai import async_client, classify_error, completion_text
from shared.providers.retry import attempt_error

RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": RESPONSE_SCHEMA},
}
MAX_OUTPUT_TOKENS = 1000


class OpenAIChat(CloudChat):
    name = "openai"
    _client: AsyncOpenAI

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> AsyncOpenAI:
        return async_client(api_key, base_url, timeout)

    async def answer(self, request: ModelRequest) -> str:
        messages = _messages(request)
        return await self._within_timeout(lambda left: self._attempt(messages, left))

    async def aclose(self) -> None:
        await self._client.close()

    async def _attempt(self, messages: list[dict[str, Any]], time_left: float) -> str:
        extra: dict[str, Any] = {} if self._temperature is None else {"temperature": self._temperature}
        try:
            completion = await self._client.chat.completions.create(
                model=self.model,
                messages=messages,  # type: ignore[arg-type]
                response_format=RESPONSE_FORMAT,  # type: ignore[arg-type]
                max_completion_tokens=MAX_OUTPUT_TOKENS,
                timeout=time_left,
                **extra,
            )
        except Exception as exc:  # 408/409/429/5xx and network errors are Retryable; the rest ProviderError
            raise attempt_error(self.name, classify_error(exc)) from exc
        return completion_text(completion)


def _messages(request: ModelRequest) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "system", "content": filters_document(request.filters)},
    ]
    for turn in request.turns:
        if turn.role == "assistant":
            messages.append({"role": "assistant", "content": assistant_turn_text(turn)})
        else:
            messages.append({"role": "user", "content": turn.content})
    text = user_message_text(request)
    if request.picture is None:
        messages.append({"role": "user", "content": text})
    else:
        encoded = base64.b64encode(request.picture.data).decode("ascii")
        url = f"data:{request.picture.mime_type};base64,{encoded}"
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": text},
                    {"type": "image_url", "image_url": {"url": url, "detail": "auto"}},
                ],
            }
        )
    return messages
