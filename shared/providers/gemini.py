"""Gemini (Developer API) through google-genai: client, safety settings, timeouts, error classification.

``base_url`` is the API root *without* the version, e.g. ``https://generativelanguage.googleapis.com/``
or ``http://127.0.0.1:8080``; the SDK appends ``v1beta/models/...``. None or "" means the official
endpoint. One ``genai.Client`` serves both async (``client.aio``) and sync callers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from google import genai
from google.genai import errors, types

from shared.providers.errors import (
    Failure,
    ProviderError,
    other_failure,
    retry_after_seconds,
    transport_errors,
    transport_failure,
)

log = logging.getLogger(__name__)

# google-genai 3.x defaults to "v1"; pinned so the wire path (/v1beta/models/{model}:generateContent) does not
# change under us with an SDK upgrade or a GOOGLE_GENAI_API_VERSION in the environment.
API_VERSION = "v1beta"
RETRY_STATUSES = frozenset({408, 429})
TRANSPORT_ERRORS = transport_errors()

HARM_CATEGORIES = (
    types.HarmCategory.HARM_CATEGORY_HARASSMENT,
    types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
    types.HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT,
    types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
)


def safety_off(categories: Iterable[types.HarmCategory] = HARM_CATEGORIES) -> list[types.SafetySetting]:
    """No blocking for ``categories``: the callers read, discuss or edit exactly the content a filter names."""
    return [types.SafetySetting(category=c, threshold=types.HarmBlockThreshold.BLOCK_NONE) for c in categories]


SAFETY_OFF = safety_off()


def client(api_key: str, base_url: str | None) -> genai.Client:
    # enterprise=False: the Developer API with an API key, whatever GOOGLE_GENAI_USE_VERTEXAI says.
    # retry_options unset means the SDK never retries; callers do, within their own deadline.
    return genai.Client(
        enterprise=False,
        api_key=api_key,
        http_options=types.HttpOptions(base_url=base_url or None, api_version=API_VERSION),
    )


def timeout_options(seconds: float, *, at_least_ms: int = 1) -> types.HttpOptions:
    """Per-request options with a timeout; they merge into the client's, so base_url and api_version survive."""
    return types.HttpOptions(timeout=max(at_least_ms, int(seconds * 1000)))


def json_config(
    system: str, schema: dict[str, object], temperature: float | None, seconds: float
) -> types.GenerateContentConfig:
    """JSON mode with ``schema``, safety blocking off, a timeout of ``seconds``: a gateway caller's request.

    Safety is off because the callers read or discuss exactly the content a user's filter names.
    """
    return types.GenerateContentConfig(
        system_instruction=system,
        response_mime_type="application/json",
        response_schema=schema,
        temperature=temperature,
        safety_settings=SAFETY_OFF,
        http_options=timeout_options(seconds),
    )


def classify_error(exc: Exception, *, retry_info: bool = False) -> Failure:
    """An exception raised by an SDK request, as a ``Failure``.

    ``retry_info``: without a Retry-After header, wait as long as the ``google.rpc.RetryInfo`` in the
    error body says.
    """
    if isinstance(exc, errors.APIError):
        status = exc.code
        retryable = status in RETRY_STATUSES or (isinstance(status, int) and status >= 500)
        delay = None
        if retryable:
            delay = retry_after_seconds(getattr(getattr(exc, "response", None), "headers", None))
            if delay is None and retry_info:
                delay = _retry_info_delay(exc)
        return Failure(
            retryable=retryable,
            label=f"HTTP {status} {exc.status}",
            detail=str(exc.message),
            http=True,
            status=status,
            retry_after=delay,
        )
    if isinstance(exc, TRANSPORT_ERRORS):  # timeouts, refused or dropped connections
        return transport_failure(exc)
    return other_failure(exc)


def _retry_info_delay(exc: errors.APIError) -> float | None:
    """The ``google.rpc.RetryInfo`` delay Gemini puts in 429 bodies, if any."""
    details = exc.details.get("error", exc.details) if isinstance(exc.details, dict) else {}
    for item in details.get("details", []) if isinstance(details, dict) else []:
        if isinstance(item, dict) and str(item.get("@type", "")).endswith("RetryInfo"):
            found = re.fullmatch(r"\s*(\d+(?:\.\d+)?)s\s*", str(item.get("retryDelay", "")))
            if found:
                return float(found.group(1))
    return None


def response_text(response: types.GenerateContentResponse) -> str:
    """The text of a reply (thoughts left out); ``ProviderError`` for a blocked, cut-off or empty reply."""
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
    usage = response.usage_metadata
    if usage is not None:
        log.debug("gemini usage: %s prompt, %s output tokens", usage.prompt_token_count, usage.candidates_token_count)
    return text
