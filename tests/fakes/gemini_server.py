"""A local Gemini Developer API: ``POST /{v1beta|v1}/models/{model}:generateContent``.

Point the SDK at it with ``genai.Client(api_key=..., http_options=HttpOptions(base_url=server.url,
api_version="v1beta"))``. What the model "says" comes from ``server.generate`` (a ``Script``): queue answers
with ``server.generate.push(...)`` or set ``server.generate.responder``. An answer may be

* a ``str``: the text of the single candidate part;
* a ``dict`` or ``list``: JSON-encoded into that text (what JSON mode would return);
* a ``GeminiAnswer``: text plus finishReason / a prompt block;
* a ``Reply``: sent as is (errors, garbage, delays), see ``gemini_error`` and ``tests.fakes.garbage``.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

import orjson

from tests.fakes import FakeServer, Reply, Request, Script, error_reply

GENERATE_PATH = r"/(?P<version>v1beta|v1)/models/(?P<model>[^/:]+):generateContent"

_STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


@dataclass
class GeminiAnswer:
    text: str | None
    finish_reason: str = "STOP"
    block_reason: str | None = None


def gemini_error(
    status: int,
    message: str = "",
    retry_after: float | None = None,
    retry_delay: float | None = None,
    delay: float = 0.0,
) -> Reply:
    """Google's error envelope; ``retry_delay`` adds the ``google.rpc.RetryInfo`` detail real 429s carry."""
    error: dict[str, object] = {
        "code": status,
        "message": message or f"fake error {status}",
        "status": _STATUS_NAMES.get(status, "UNKNOWN"),
    }
    if retry_delay is not None:
        error["details"] = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_delay:g}s"}]
    return error_reply(status, error, retry_after=retry_after, delay=delay)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeGemini(FakeServer):
    """``expected_api_key``: when set, requests without that ``x-goog-api-key`` (or ``?key=``) get a 400."""

    def __init__(self, expected_api_key: str | None = None) -> None:
        super().__init__()
        self.expected_api_key = expected_api_key
        self.generate = Script(lambda request: {"results": []})
        self.add_route("POST", GENERATE_PATH, self._generate_content)

    @property
    def generate_requests(self) -> list[Request]:
        return self.requests_to(GENERATE_PATH)

    @staticmethod
    def user_text(request: Request) -> str:
        """Text of the last user turn of a generateContent request."""
        for content in reversed(request.json.get("contents", [])):
            if content.get("role", "user") == "user":
                return "".join(part.get("text", "") for part in content.get("parts", []))
        raise KeyError("no user content in request")

    @staticmethod
    def inline_parts(request: Request) -> list[tuple[str, bytes]]:
        """``(mime, bytes)`` of the inline data parts (images) of a generateContent request."""
        found = []
        for content in request.json.get("contents", []):
            for part in content.get("parts", []):
                blob = part.get("inlineData") or part.get("inline_data")
                if blob:
                    # google-genai sends URL-safe base64; the API takes either alphabet.
                    data = base64.urlsafe_b64decode(blob["data"] + "=" * (-len(blob["data"]) % 4))
                    found.append((blob.get("mimeType") or blob.get("mime_type"), data))
        return found

    @staticmethod
    def system_text(request: Request) -> str:
        instruction = request.json.get("systemInstruction") or {}
        return "".join(part.get("text", "") for part in instruction.get("parts", []))

    def _generate_content(self, request: Request) -> Reply:
        if self.expected_api_key is not None:
            given = request.headers.get("x-goog-api-key") or (request.query.get("key") or [None])[0]
            if given != self.expected_api_key:
                return gemini_error(400, "API key not valid. Please pass a valid API key.")
        if not isinstance(request.json, dict) or not request.json.get("contents"):
            return gemini_error(400, "* GenerateContentRequest.contents: contents is not specified")
        answer = self.generate.next(request)
        if isinstance(answer, Reply):
            return answer
        if not isinstance(answer, GeminiAnswer):
            answer = GeminiAnswer(answer if isinstance(answer, str) else orjson.dumps(answer).decode())
        prompt_tokens = _tokens(request.body.decode(errors="replace"))
        output_tokens = _tokens(answer.text or "")
        body: dict[str, object] = {
            "usageMetadata": {
                "promptTokenCount": prompt_tokens,
                "candidatesTokenCount": output_tokens,
                "totalTokenCount": prompt_tokens + output_tokens,
            },
            "modelVersion": request.params["model"],
            "responseId": f"fake-{len(self.requests)}",
        }
        if answer.block_reason:
            body["promptFeedback"] = {"blockReason": answer.block_reason}
        else:
            parts = [] if answer.text is None else [{"text": answer.text}]
            body["candidates"] = [
                {"content": {"parts": parts, "role": "model"}, "finishReason": answer.finish_reason, "index": 0}
            ]
        return Reply(json=body)


def image_reply(data: bytes, mime: str = "image/png", text: str | None = None, model: str = "fake-image") -> Reply:
    """A generateContent reply whose candidate holds an image as ``inlineData`` (what image models send)."""
    parts: list[dict[str, object]] = [] if text is None else [{"text": text}]
    parts.append({"inlineData": {"mimeType": mime, "data": base64.b64encode(data).decode()}})
    return Reply(
        json={
            "candidates": [{"content": {"parts": parts, "role": "model"}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 300, "candidatesTokenCount": 1290, "totalTokenCount": 1590},
            "modelVersion": model,
        }
    )


__all__ = ["GENERATE_PATH", "FakeGemini", "GeminiAnswer", "gemini_error", "image_reply"]
