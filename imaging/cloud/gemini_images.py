"""Gemini for images (synchronous SDK: the worker runs in threads).

* ``generate``: image editing through ``models.generate_content`` with ``response_modalities=["IMAGE"]``
  and the source image as an inline part (replacement, inpainting, stylize).
* ``judge``: the vision question (``vision.py``) in JSON mode, boxes in Gemini's native 0-1000 form.

The client comes from ``shared.providers.gemini``, as the moderation provider's does (``base_url``,
``api_version="v1beta"``, no SDK retries); ``calls.call_with_retries`` retries within the job's deadline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from google import genai
from google.genai import types

from imaging.cloud import vision
from imaging.cloud.calls import CloudRefused, GatedClient, call_with_retries, cloud_error
from shared.providers import gemini

T = TypeVar("T")

_NO_TOOLS = types.AutomaticFunctionCallingConfig(disable=True)  # no tools are passed; spares a log line per call

# The images are disturbing by definition (that is why they are being edited); default blocking would
# refuse exactly the edits that matter. Sexual content keeps Gemini's default.
_SAFETY = gemini.safety_off(
    c for c in gemini.HARM_CATEGORIES if c != types.HarmCategory.HARM_CATEGORY_SEXUALLY_EXPLICIT
)


class GeminiImages(GatedClient):
    name = "gemini"
    _client: genai.Client

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> genai.Client:
        return gemini.client(api_key, base_url)

    def _timeout(self, left: float) -> types.HttpOptions:
        return gemini.timeout_options(min(left, self.request_timeout), at_least_ms=1000)

    def generate(self, image: bytes, mime: str, prompt: str, *, deadline: float) -> tuple[bytes, str]:
        """The edited image: (bytes, mime) of the first inline image part of the reply."""

        def attempt(left: float) -> tuple[bytes, str]:
            config = types.GenerateContentConfig(
                response_modalities=["IMAGE"],
                safety_settings=_SAFETY,
                automatic_function_calling=_NO_TOOLS,
                http_options=self._timeout(left),
            )
            response = self._call(
                lambda: self._client.models.generate_content(
                    model=self.image_model,
                    contents=[types.Part.from_bytes(data=image, mime_type=mime), prompt],
                    config=config,
                )
            )
            for part in _parts(response):
                blob = part.inline_data
                if blob is not None and blob.data and (blob.mime_type or "").startswith("image/"):
                    return bytes(blob.data), str(blob.mime_type)
            raise CloudRefused(f"gemini: reply has no image ({_finish(response)})")

        return call_with_retries(attempt, gate=self.edit_gate, policy=self.policy, deadline=deadline)

    def judge(self, image: bytes, mime: str, filters: Sequence[str], *, deadline: float) -> str:
        """The model's JSON text answering the vision question for ``filters``."""

        def attempt(left: float) -> str:
            config = types.GenerateContentConfig(
                system_instruction=vision.SYSTEM_PROMPT,
                response_mime_type="application/json",
                response_schema=vision.GEMINI_SCHEMA,
                temperature=0,
                safety_settings=_SAFETY,
                thinking_config=types.ThinkingConfig(thinking_budget=0),  # detection needs no reasoning
                automatic_function_calling=_NO_TOOLS,
                http_options=self._timeout(left),
            )
            response = self._call(
                lambda: self._client.models.generate_content(
                    model=self.vision_model,
                    contents=[types.Part.from_bytes(data=image, mime_type=mime), vision.user_message(filters)],
                    config=config,
                )
            )
            text = "".join(p.text for p in _parts(response) if p.text and not p.thought)
            if not text:
                raise CloudRefused(f"gemini: reply has no text ({_finish(response)})")
            return text

        return call_with_retries(attempt, gate=self.vision_gate, policy=self.policy, deadline=deadline)

    @staticmethod
    def _call(request: Callable[[], T]) -> T:
        try:
            return request()
        except Exception as exc:  # 408/429/5xx and network errors are CloudTransient; the rest CloudRefused
            raise cloud_error("gemini", gemini.classify_error(exc)) from exc


def _parts(response: types.GenerateContentResponse) -> list[types.Part]:
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        raise CloudRefused(f"gemini: prompt blocked ({feedback.block_reason})")
    if not response.candidates or response.candidates[0].content is None:
        return []
    return list(response.candidates[0].content.parts or [])


def _finish(response: types.GenerateContentResponse) -> str:
    if response.candidates:
        return f"finish reason {response.candidates[0].finish_reason}"
    return "no candidates"
