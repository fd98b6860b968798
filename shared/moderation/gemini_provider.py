"""Gemini (Developer API) as a moderation provider: one ``generateContent`` call per feed page.

The reply is constrained by ``response_schema`` (JSON mode), then checked again by ``prompt.parse_results``.
"""

from __future__ import annotations

import importlib
import logging
import re

from google import genai
from google.genai import errors, types

from shared.models import Filter
from shared.moderation.prompt import (
    GEMINI_RESPONSE_SCHEMA,
    MAX_CHARS_PER_REQUEST,
    SYSTEM_PROMPT,
    PageJudge,
    Retryable,
    RetryPolicy,
    retry_after_seconds,
)
from shared.moderation.types import Post, PostVerdict, ProviderError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "gemini-2.5-flash"
DEFAULT_TIMEOUT = 15.0
# google-genai 3.x defaults to "v1"; pinned so the wire path (/v1beta/models/{model}:generateContent) does not
# change under us with an SDK upgrade or a GOOGLE_GENAI_API_VERSION in the environment.
API_VERSION = "v1beta"
_RETRY_STATUSES = frozenset({408, 429})


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Network-level failures of whichever HTTP library google-genai picked (httpx or httpx2)."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found.append(module.TransportError)
    return tuple(found)


_TRANSPORT_ERRORS = _transport_errors()

# A moderation classifier has to read the very content it is asked to flag; Gemini's default safety
# blocking would otherwise return no text for exactly the posts that matter.
_SAFETY = [
    types.SafetySetting(category=category, threshold=types.HarmBlockThreshold.BLOCK_NONE)
    for category in (
        types.HarmCategory.HARM_CATEGORY_HARASSMENT,
        types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
        types.HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT,
        types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
    )
]


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
        # enterprise=False: the Developer API with an API key, whatever GOOGLE_GENAI_USE_VERTEXAI says.
        # retry_options unset means the SDK never retries; PageJudge does, within the page deadline.
        self._client = genai.Client(
            enterprise=False,
            api_key=api_key,
            http_options=types.HttpOptions(base_url=base_url or None, api_version=API_VERSION),
        )
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
            safety_settings=_SAFETY,
            # Per-request options are merged into the client's, so base_url and api_version survive.
            http_options=types.HttpOptions(timeout=max(1, int(time_left * 1000))),
        )
        try:
            response = await self._client.aio.models.generate_content(model=self.model, contents=message, config=config)
        except errors.APIError as exc:
            status = exc.code
            if status in _RETRY_STATUSES or (isinstance(status, int) and status >= 500):
                raise Retryable(f"HTTP {status} {exc.status}", _retry_delay(exc)) from exc
            raise ProviderError(f"gemini: HTTP {status} {exc.status}: {exc.message}") from exc
        except _TRANSPORT_ERRORS as exc:  # timeouts, refused or dropped connections
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # an SDK that cannot make sense of the reply: not worth a retry
            raise ProviderError(f"gemini: {type(exc).__name__}: {exc}") from exc
        return _text(response)


def _retry_delay(exc: errors.APIError) -> float | None:
    """Retry-After header if any, else the ``google.rpc.RetryInfo`` delay Gemini puts in 429 bodies."""
    response = getattr(exc, "response", None)
    delay = retry_after_seconds(getattr(response, "headers", None))
    if delay is not None:
        return delay
    details = exc.details.get("error", exc.details) if isinstance(exc.details, dict) else {}
    for item in details.get("details", []) if isinstance(details, dict) else []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(item.get("retryDelay", "")))
            if found:
                return float(found.group(1))
    return None


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
