"""Gemini (Developer API) as a moderation provider: one ``generateContent`` call per feed page.

The reply is constrained by ``response_schema`` (JSON mode), then checked again by ``replies.parse_results``.
"""

from __future__ import annotations

from google import genai

from gateway.moderation.cloud_judge import CloudJudge
from gateway.moderation.page_prompt import GEMINI_RESPONSE_SCHEMA, SYSTEM_PROMPT
from shared.providers import gemini
from shared.providers.retry import attempt_error

DEFAULT_MODEL = "gemini-2.5-flash"


class GeminiProvider(CloudJudge):
    """Judges a page with one ``generateContent`` request (more only when the page exceeds the input budget).

    ``base_url`` is the API root *without* the version, e.g. ``https://generativelanguage.googleapis.com/``
    or ``http://127.0.0.1:8080``; the SDK appends ``v1beta/models/...``. None or "" means the official
    endpoint.
    """

    name = "gemini"
    default_model = DEFAULT_MODEL
    _client: genai.Client

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> genai.Client:
        return gemini.client(api_key, base_url)  # per-request timeouts: see _complete

    async def aclose(self) -> None:
        await self._client.aio.aclose()

    async def _complete(self, message: str, time_left: float) -> str:
        # A moderation classifier has to read the very content it is asked to flag; Gemini's default
        # safety blocking would otherwise return no text for exactly the posts that matter.
        config = gemini.json_config(SYSTEM_PROMPT, GEMINI_RESPONSE_SCHEMA, self._temperature, time_left)
        try:
            response = await self._client.aio.models.generate_content(model=self.model, contents=message, config=config)
        except Exception as exc:  # 408/429/5xx (waiting as RetryInfo says) and network errors are Retryable
            raise attempt_error(self.name, gemini.classify_error(exc, retry_info=True)) from exc
        return gemini.response_text(response)
