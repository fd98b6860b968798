"""What the engine needs from a chat model, and what the OpenAI and Gemini chat clients share."""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from gateway.chat.chat_prompt import ModelRequest
from shared.providers.retry import RetryPolicy, retry_async


class ChatModel(Protocol):
    name: str

    async def answer(self, request: ModelRequest) -> str:
        """The model's raw JSON answer. Raises ``shared.moderation.types.ProviderError`` on any failure."""
        ...

    async def aclose(self) -> None: ...


class CloudChat(ABC):
    """A ``ChatModel`` on a cloud SDK: a subclass builds its client (``_connect``) and one request per turn.
    The hooks are abstract, so a subclass that lacks one cannot be constructed.

    ``timeout`` bounds a whole answer, retries included; the SDK's own retries are off.
    ``temperature=None`` omits the parameter, for models that reject it.
    """

    name: str

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
            raise ValueError(f"{type(self).__name__} needs an API key")
        self.model = model
        self.timeout = timeout
        self.policy = policy or RetryPolicy(max_retries=2, backoff_base=0.5)
        self._temperature = temperature
        self._client = self._connect(api_key, base_url, timeout)

    @abstractmethod
    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> Any:
        """The SDK client, its own retries off."""

    @abstractmethod
    async def answer(self, request: ModelRequest) -> str:
        """As ``ChatModel.answer``: one turn, within ``timeout`` (see ``_within_timeout``)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close the SDK client."""

    async def _within_timeout(self, attempt: Callable[[float], Awaitable[str]]) -> str:
        """``attempt(seconds_left)`` retried (shared.providers.retry) until ``timeout`` seconds from now."""
        deadline = asyncio.get_running_loop().time() + self.timeout
        return await retry_async(self.name, attempt, policy=self.policy, deadline=deadline)
