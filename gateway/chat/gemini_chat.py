"""The chat on Gemini (Developer API): one ``generateContent`` per turn, JSON mode with a response schema.

Client set-up (base URL, pinned ``v1beta``), safety settings and error classes come from
``shared.providers.gemini``, as for the moderation provider.
"""

from __future__ import annotations

import asyncio

from google.genai import types

from gateway.chat.chat_prompt import (
    GEMINI_RESPONSE_SCHEMA,
    SYSTEM_PROMPT,
    ModelRequest,
    assistant_turn_text,
    filters_document,
    user_message_text,
)
from shared.moderation.types import ProviderError
from shared.providers import gemini
from shared.providers.retry import RetryPolicy, attempt_error, retry_async


class GeminiChat:
    name = "gemini"

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
            raise ValueError("GeminiChat needs an API key")
        self.model = model
        self.timeout = timeout
        self.policy = policy or RetryPolicy(max_retries=2, backoff_base=0.5)
        self._temperature = temperature
        self._client = gemini.client(api_key, base_url)  # the SDK never retries; retry_async does

    async def answer(self, request: ModelRequest) -> str:
        contents = _contents(request)
        system = f"{SYSTEM_PROMPT}\n{filters_document(request.filters)}"
        deadline = asyncio.get_running_loop().time() + self.timeout
        return await retry_async(
            self.name, lambda left: self._attempt(system, contents, left), policy=self.policy, deadline=deadline
        )

    async def aclose(self) -> None:
        await self._client.aio.aclose()

    async def _attempt(self, system: str, contents: list[types.Content], time_left: float) -> str:
        # No max_output_tokens: on thinking models it also caps the thinking, and answers are short anyway.
        config = types.GenerateContentConfig(
            system_instruction=system,
            response_mime_type="application/json",
            response_schema=GEMINI_RESPONSE_SCHEMA,
            temperature=self._temperature,
            # People describe exactly what hurts them ("graphic self-harm photos"); default safety blocking would
            # refuse to talk about the very things a filter is for. The answer is only ever a filter description.
            safety_settings=gemini.SAFETY_OFF,
            http_options=gemini.timeout_options(time_left),
        )
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except Exception as exc:  # 408/429/5xx and network errors are Retryable; the rest ProviderError
            raise attempt_error(self.name, gemini.classify_error(exc)) from exc
        return _reply_text(response)


def _contents(request: ModelRequest) -> list[types.Content]:
    contents = [
        types.Content(
            role="model" if turn.role == "assistant" else "user",
            parts=[types.Part.from_text(text=assistant_turn_text(turn) if turn.role == "assistant" else turn.content)],
        )
        for turn in request.turns
    ]
    parts = [types.Part.from_text(text=user_message_text(request))]
    if request.picture is not None:
        parts.append(types.Part.from_bytes(data=request.picture.data, mime_type=request.picture.mime_type))
    contents.append(types.Content(role="user", parts=parts))
    return contents


def _reply_text(response: types.GenerateContentResponse) -> str:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        raise ProviderError(f"gemini: prompt blocked ({feedback.block_reason})")
    if not response.candidates:
        raise ProviderError("gemini: reply has no candidates")
    candidate = response.candidates[0]
    if candidate.finish_reason == types.FinishReason.MAX_TOKENS:
        raise ProviderError("gemini: reply cut off at the output token limit")
    parts = candidate.content.parts if candidate.content else None
    text = "".join(p.text for p in parts or [] if p.text and not p.thought)
    if not text:
        raise ProviderError(f"gemini: reply has no text (finish reason {candidate.finish_reason})")
    return text
