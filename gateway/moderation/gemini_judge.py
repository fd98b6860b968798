"""Gemini (Developer API) as a moderation provider: one ``generateContent`` call per feed page.

The reply is constrained by ``response_schema`` (JSON mode), then checked again by ``replies.parse_results``.
"""

from __future__ import annotations

import logging

from google.genai import types

from gateway.moderation.batching import MAX_CHARS_PER_REQUEST, PageJudge
from gateway.moderation.page_prompt import GEMINI_RESPONSE_SCHEMA, SYSTEM_PROMPT
from shared.models import Filter
from shared.moderation.types import Post, PostVerdict, ProviderError
from shared.providers import gemini
from shared.providers.retry import RetryPolicy, attempt_error

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_TIMEOUT = 15.0


class GeminiProvider:
    """Judges a page with one ``generateContent`` request (more only when the page exceeds the input budget).

    ``base_url`` is the API root *without* the version, e.g. ``https://generativelanguage.googleapis.com/``
    or ``http://127.0.0.1:8080``; the SDK appends ``v1beta/models/...``. None or "" means the official
    endpoint. ``timeout`` bounds a whole ``judge`` call, retries included.
    """

    name = "gemini"
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
            raise ValueError("GeminiProvider needs an API key")
        self.model = model
        self._temperature = temperature
        # The SDK never retries; PageJudge does, within the page deadline.
        self._client = gemini.client(api_key, base_url)
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
        await self._client.aio.aclose()

    async def _complete(self, message: str, time_left: float) -> str:
        """One request; the model's JSON text, or Retryable / ProviderError."""
        config = types.GenerateContentConfig(
            system_instruction=SYSTEM_PROMPT,
            response_mime_type="application/json",
            response_schema=GEMINI_RESPONSE_SCHEMA,
            temperature=self._temperature,
            # A moderation classifier has to read the very content it is asked to flag; Gemini's default
            # safety blocking would otherwise return no text for exactly the posts that matter.
            safety_settings=gemini.SAFETY_OFF,
            http_options=gemini.timeout_options(time_left),
        )
        try:
            response = await self._client.aio.models.generate_content(model=self.model, contents=message, config=config)
        except Exception as exc:  # 408/429/5xx (waiting as RetryInfo says) and network errors are Retryable
            raise attempt_error(self.name, gemini.classify_error(exc, retry_info=True)) from exc
        return _text(response)


def _text(response: types.GenerateContentResponse) -> str:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        raise ProviderError(f"gemini: prompt blocked ({feedback.block_reason})")
    if not response.candidates:
        raise ProviderError("gemini: reply has no candidates")
    finish = response.candidates[0].finish_reason
    if finish == types.FinishReason.MAX_TOKENS:
        raise ProviderError("gemini: reply cut off at the output token limit")
    parts = response.candidates[0].content.parts if response.candidates[0].content else None
    text = "".join(p.text for p in parts or [] if p.text and not p.thought)
    if not text:
        raise ProviderError(f"gemini: reply has no text (finish reason {finish})")
    usage = response.usage_metadata
    if usage is not None:
        log.debug("gemini usage: %s prompt, %s output tokens", usage.prompt_token_count, usage.candidates_token_count)
    return text
