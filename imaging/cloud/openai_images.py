"""OpenAI for images (synchronous SDK: the worker runs in threads).

* ``edit``: ``images.edit`` with gpt-image-1; image bytes in, base64 image out.
* ``judge``: the vision question (``vision.py``) as one chat completion with the image inline and a
  strict JSON schema.

The SDK's own retries are off (``max_retries=0``): ``calls.call_with_retries`` retries, within the
job's deadline, and every failure is mapped onto ``CloudTransient`` / ``CloudRefused``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from openai import OpenAI

from imaging.cloud import vision
from imaging.cloud.calls import CloudRefused, GatedClient, call_with_retries, cloud_error
from shared.providers.openai import classify_error, sync_client

T = TypeVar("T")

_EXTENSIONS = {"image/jpeg": "jpg", "image/png": "png", "image/webp": "webp"}

VISION_FORMAT: dict[str, Any] = {
    "type": "json_schema",
    "json_schema": {"name": "image_filter_findings", "strict": True, "schema": vision.RESPONSE_SCHEMA},
}


class OpenAIImages(GatedClient):
    name = "openai"
    _client: OpenAI

    def _connect(self, api_key: str, base_url: str | None, timeout: float) -> OpenAI:
        return sync_client(api_key, base_url, timeout)

    def edit(self, image: bytes, mime: str, prompt: str, *, deadline: float) -> bytes:
        """The edited image's bytes (PNG unless the model says otherwise)."""

        def attempt(left: float) -> bytes:
            reply = self._call(
                lambda: self._client.images.edit(
                    model=self.image_model,
                    image=(f"image.{_EXTENSIONS.get(mime, 'png')}", image, mime),
                    prompt=prompt,
                    n=1,
                    size="auto",
                    timeout=min(left, self.request_timeout),
                )
            )
            items = getattr(reply, "data", None) or []
            b64 = getattr(items[0], "b64_json", None) if items else None
            if not b64:
                raise CloudRefused("openai: reply has no image")
            try:
                return base64.b64decode(b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise CloudRefused("openai: image is not valid base64") from exc

        return call_with_retries(attempt, gate=self.edit_gate, policy=self.policy, deadline=deadline)

    def judge(self, image: bytes, mime: str, filters: Sequence[str], *, deadline: float) -> str:
        """The model's JSON text answering the vision question for ``filters``."""
        data_url = f"data:{mime};base64,{base64.b64encode(image).decode()}"

        def attempt(left: float) -> str:
            completion = self._call(
                lambda: self._client.chat.completions.create(
                    model=self.vision_model,
                    messages=[
                        {"role": "system", "content": vision.SYSTEM_PROMPT},
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": vision.user_message(filters)},
                                {"type": "image_url", "image_url": {"url": data_url}},
                            ],
                        },
                    ],
                    response_format=VISION_FORMAT,  # type: ignore[arg-type]
                    temperature=0,
                    timeout=min(left, self.request_timeout),
                )
            )
            choices = getattr(completion, "choices", None)
            if not choices:
                raise CloudRefused("openai: reply is not a chat completion")
            message = choices[0].message
            if getattr(message, "refusal", None) or not message.content:
                raise CloudRefused("openai: model gave no answer")
            return str(message.content)

        return call_with_retries(attempt, gate=self.vision_gate, policy=self.policy, deadline=deadline)

    @staticmethod
    def _call(request: Callable[[], T]) -> T:
        try:
            return request()
        except Exception as exc:  # 408/409/429/5xx and network errors are CloudTransient; the rest CloudRefused
            raise cloud_error("openai", classify_error(exc)) from exc
