"""The chat on OpenAI (or any OpenAI-compatible endpoint): one chat completion per turn, structured output.

Client set-up and error classes come from ``shared.providers.openai``, as for the moderation provider.
"""

from __future__ import annotations

import asyncio
import base64
from typing import Any

from gateway.chat.chat_prompt import (
    RESPONSE_SCHEMA,
    SCHEMA_NAME,
    SYSTEM_PROMPT,
    ModelRequest,
    assistant_turn_text,
    filters_document,
    user_message_text,
)
from shared.moderation.types import ProviderError
from shared.providers.openai import async_client, classify_error
from shared.providers.retry import RetryPolicy, attempt_error, retry_async

RESPONSE_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": SCHEMA_NAME, "strict": True, "schema": RESPONSE_SCHEMA},
}
MAX_OUTPUT_TOKENS = 1000


class OpenAIChat:
    name = "openai"

    def __init__(
        self,
        api_key: str,
        model: str,
        base_url: str | None = None,
        *,
        timeout: float = 20.0,
        policy: RetryPolicy | None = None,
        temperature: float | None = 0.3,
    ) -> None:
        if not api_key:
            raise ValueError("OpenAIChat needs an API key")
        self.model = model
        self.timeout = timeout
        self.policy = policy or RetryPolicy(max_retries=2, backoff_base=0.5)
        self._temperature = temperature
        # The SDK's own retries are off: retry_async retries inside the deadline and honours Retry-After.
        self._client = async_client(api_key, base_url, timeout)

    async def answer(self, request: ModelRequest) -> str:
        messages = _messages(request)
        deadline = asyncio.get_running_loop().time() + self.timeout
        return await retry_async(
            self.name, lambda left: self._attempt(messages, left), policy=self.policy, deadline=deadline
        )

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
        return _reply_text(completion)


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


def _reply_text(completion: Any) -> str:
    """The assistant's content, refusing cut-off, refused or empty replies (no retry: same input, same end)."""
    choices = getattr(completion, "choices", None)
    if not choices:
        raise ProviderError(f"openai: reply is not a chat completion: {str(completion)[:120]!r}")
    choice = choices[0]
    if choice.finish_reason == "length":
        raise ProviderError("openai: reply cut off at the output token limit")
    if getattr(choice.message, "refusal", None):
        raise ProviderError(f"openai: model refused: {choice.message.refusal[:200]}")
    if not choice.message.content:
        raise ProviderError("openai: reply has no content")
    return choice.message.content
