"""The chat on Gemini (Developer API): one ``generateContent`` per turn, JSON mode with a response schema.

Client set-up (base URL, pinned ``v1beta``), error classes and retries follow
``shared.moderation.gemini_provider``.
"""

from __future__ import annotations

import importlib

from google import genai
from google.genai import errors, types

from gateway.chat.prompt import (
    GEMINI_RESPONSE_SCHEMA,
    SYSTEM_PROMPT,
    ModelRequest,
    assistant_turn_text,
    filters_document,
    user_message_text,
)
from gateway.chat.retry import call_within
from shared.moderation.prompt import Retryable, RetryPolicy, retry_after_seconds
from shared.moderation.types import ProviderError

# Pinned so the wire path (/v1beta/models/{model}:generateContent) does not move with the SDK's default.
API_VERSION = "v1beta"
_RETRY_STATUSES = frozenset({408, 429})

# People describe exactly what hurts them ("graphic self-harm photos"); default safety blocking would
# refuse to talk about the very things a filter is for. The answer is only ever a filter description.
_SAFETY = [
    types.SafetySetting(category=category, threshold=types.HarmBlockThreshold.BLOCK_NONE)
    for category in (
        types.HarmCategory.HARM_CATEGORY_HARASSMENT,
        types.HarmCategory.HARM_CATEGORY_HATE_SPEECH,
        types.HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT,
        types.HarmCategory.HARM_CATEGORY_DANGEROUS_CONTENT,
    )
]


def _transport_errors() -> tuple[type[BaseException], ...]:
    """Network-level failures of whichever HTTP library google-genai uses (httpx or httpx2)."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2"):
        try:
            found.append(importlib.import_module(module_name).TransportError)
        except ImportError:
            continue
    return tuple(found)


_TRANSPORT_ERRORS = _transport_errors()


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
        # enterprise=False: the Developer API with an API key; retry_options unset: the SDK never retries.
        self._client = genai.Client(
            enterprise=False,
            api_key=api_key,
            http_options=types.HttpOptions(base_url=base_url or None, api_version=API_VERSION),
        )

    async def answer(self, request: ModelRequest) -> str:
        contents = _contents(request)
        system = f"{SYSTEM_PROMPT}\n{filters_document(request.filters)}"
        return await call_within(
            self.name, lambda left: self._attempt(system, contents, left), self.timeout, self.policy
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
            safety_settings=_SAFETY,
            # Per-request options merge into the client's, so base_url and api_version survive.
            http_options=types.HttpOptions(timeout=max(1, int(time_left * 1000))),
        )
        try:
            response = await self._client.aio.models.generate_content(
                model=self.model, contents=contents, config=config
            )
        except errors.APIError as exc:
            status = exc.code
            if status in _RETRY_STATUSES or (isinstance(status, int) and status >= 500):
                headers = getattr(getattr(exc, "response", None), "headers", None)
                raise Retryable(f"HTTP {status} {exc.status}", retry_after_seconds(headers)) from exc
            raise ProviderError(f"gemini: HTTP {status} {exc.status}: {exc.message}") from exc
        except _TRANSPORT_ERRORS as exc:  # timeouts, refused or dropped connections
            raise Retryable(f"{type(exc).__name__}: {exc}") from exc
        except Exception as exc:  # a reply the SDK cannot make sense of: not worth a retry
            raise ProviderError(f"gemini: {type(exc).__name__}: {exc}") from exc
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
