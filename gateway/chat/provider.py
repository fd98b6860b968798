"""What the engine needs from a chat model; the OpenAI and Gemini clients both provide it."""

from __future__ import annotations

from typing import Protocol

from gateway.chat.chat_prompt import ModelRequest


class ChatModel(Protocol):
    name: str

    async def answer(self, request: ModelRequest) -> str:
        """The model's raw JSON answer. Raises ``shared.moderation.types.ProviderError`` on any failure."""
        ...

    async def aclose(self) -> None: ...
