"""What the OpenAI and Gemini page judges have in common: settings, the page runner, the provider interface.

A subclass builds its SDK client (``_connect``), makes one request for one rendered page
(``_complete``) and closes its client (``aclose``); ``PageJudge`` splits the page, bounds
concurrency and retries within the deadline. The hooks are abstract, so a subclass that lacks one
cannot be constructed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from gateway.moderation.batching import MAX_CHARS_PER_REQUEST, PageJudge
from gateway.moderation.page_prompt import PROMPT_VERSION
from shared.models import Filter
from shared.moderation.expansion import Expansions
from shared.moderation.types import Post, PostVerdict
from shared.providers.retry import RetryPolicy

DEFAULT_TIMEOUT = 15.0


class CloudJudge(ABC):
    """A ``ModerationProvider`` on a cloud model. ``timeout`` bounds a whole ``judge`` call, retries included.

    ``temperature=None`` omits the parameter, for models that reject it.
    """

    name: str
    default_model: str
    version: str
    can_rewrite = True

    def __init__(
        self,
        api_key: str,
        model: str | None = None,
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
            raise ValueError(f"{type(self).__name__} needs an API key")
        self.model = model or self.default_model
        self.version = f"{self.model}-{PROMPT_VERSION}"
        self._temperature = temperature
        # The SDK's own retries are off: PageJudge retries within the page deadline and honours Retry-After.
        self._client = self._connect(api_key, base_url, timeout)
        self._pages = PageJudge(
            self.name,
            self._complete,
            timeout=timeout,
            policy=RetryPolicy(max_retries=max_retries, backoff_base=backoff_base),
            concurrency=concurrency,
            max_chars=max_chars_per_request,
        )

    async def judge(self, posts: list[Post], filters: list[Filter],
                    expansions: Expansions | None = None) -> dict[str, PostVerdict]:
        return await self._pages.judge(posts, filters, expansions)

    @abstractmethod
    async def aclose(self) -> None:
        """Close the SDK client."""

    @abstractmethod
    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> Any:
        """The SDK client, its own retries off."""

    @abstractmethod
    async def _complete(self, message: str, time_left: float) -> str:
        """One request; the model's JSON text, or Retryable / ProviderError."""
