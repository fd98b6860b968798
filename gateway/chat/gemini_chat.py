"""The chat on Gemini (Developer API): one ``generateContent`` per turn, JSON mode with a response schema.

Client set-up (base URL, pinned ``v1beta``), safety settings and error classes come from
``shared.providers.gemini``, as for the moderation provider.
"""

from __future__ import annotations

from google import genai
from google.genai import types

from gateway.chat.chat_prompt import (
    GEMINI_RESPONSE_SCHEMA,
    SYSTEM_PROMPT,
    ModelRequest,
    assistant_turn_text,
    filters_document,
    user_message_text,
)
from gateway.chat.provider import CloudChat
from shared.providers import gemini
from shared.providers.retry import attempt_error


class GeminiChat(CloudChat):
    name = "gemini"
    _client: genai.Client

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> genai.Client:
        return gemini.client(api_key, base_url)  # per-request timeouts: see _attempt

    async def answer(self, request: ModelRequest) -> str:
        contents = _contents(request)
        system = f"{SYSTEM_PROMPT}\n{filters_document(request.filters)}"
        return await self._within_timeout(lambda left: self._attempt(system, contents, left))

    async def aclose(self) -> None:
        await self._client.aio.aclose()

    async def _attempt(self, system: str, contents: list[types.Content], time_left: float) -> str:
        # No max_output_tokens: on thinking models it also caps the thinking, and answers are short anyway.
        # People describe exactly what hurts them ("graphic self-harm photos"); default safety blocking would
        # refuse to talk about the very things a filter is for. The answer is only ever a filter description.
        config = gemini.json_config(system, GEMINI_RESPONSE_SCHEMA, self._temperature, time_left)
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except Exception as exc:  # 408/429/5xx and network errors are Retryable; the rest ProviderError
            raise attempt_error(self.name, gemini.classify_error(exc)) from exc
        return gemini.response_text(response)


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
