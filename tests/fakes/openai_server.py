"""A local OpenAI API: ``POST /v1/chat/completions`` answered with real ``chat.completion`` objects.

Point the SDK at it with ``AsyncOpenAI(base_url=f"{server.url}/v1", ...)``. What the model "says" comes
from ``server.chat`` (a ``Script``): queue answers with ``server.chat.push(...)`` or set
``server.chat.responder``. An answer may be

* a ``str``: the assistant message content;
* a ``dict`` or ``list``: JSON-encoded into the content (what structured outputs would return);
* a ``ChatAnswer``: content plus finish_reason / refusal;
* a ``Reply``: sent as is (errors, garbage, delays), see ``openai_error`` and ``tests.fakes.garbage``.
"""

from __future__ import annotations

import base64
import itertools
import time
from dataclasses import dataclass

import orjson

from tests.fakes import FakeServer, Reply, Request, Script, error_reply, multipart_fields

CHAT_PATH = r"/v1/chat/completions"
IMAGES_EDIT_PATH = r"/v1/images/edits"

_ERROR_TYPES = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    404: ("invalid_request_error", "model_not_found"),
    429: ("requests", "rate_limit_exceeded"),
}


@dataclass
class ChatAnswer:
    content: str | None
    finish_reason: str = "stop"
    refusal: str | None = None


def openai_error(status: int, message: str = "", retry_after: float | None = None, delay: float = 0.0) -> Reply:
    """The error envelope OpenAI sends, e.g. ``openai_error(429, retry_after=1)``."""
    kind, code = _ERROR_TYPES.get(status, ("server_error", None))
    error = {"message": message or f"fake error {status}", "type": kind, "param": None, "code": code}
    return error_reply(status, error, retry_after=retry_after, delay=delay)


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAI(FakeServer):
    """``expected_api_key``: when set, requests without ``Authorization: Bearer <key>`` get a 401."""

    def __init__(self, expected_api_key: str | None = None) -> None:
        super().__init__()
        self.expected_api_key = expected_api_key
        self.chat = Script(lambda request: {"results": []})
        self._ids = itertools.count(1)
        self.add_route("POST", CHAT_PATH, self._chat_completions)
        # Image edits: an answer is the edited image's bytes (sent back as b64_json) or a ``Reply``.
        self.images = Script(lambda request: openai_error(500, "no image scripted"))
        self.add_route("POST", IMAGES_EDIT_PATH, self._images_edit)

    @property
    def chat_requests(self) -> list[Request]:
        return self.requests_to(CHAT_PATH)

    @property
    def image_edit_requests(self) -> list[Request]:
        return self.requests_to(IMAGES_EDIT_PATH)

    @staticmethod
    def message_text(request: Request, role: str) -> str:
        """Content of the last message with ``role`` in a chat request (string content only)."""
        for message in reversed(request.json.get("messages", [])):
            if message.get("role") == role and isinstance(message.get("content"), str):
                return message["content"]
        raise KeyError(f"no {role} message in request")

    def _chat_completions(self, request: Request) -> Reply:
        if self.expected_api_key is not None:
            if request.headers.get("authorization") != f"Bearer {self.expected_api_key}":
                return openai_error(401, "Incorrect API key provided")
        if not isinstance(request.json, dict) or "model" not in request.json or "messages" not in request.json:
            return openai_error(400, "model and messages are required")
        answer = self.chat.next(request)
        if isinstance(answer, Reply):
            return answer
        if not isinstance(answer, ChatAnswer):
            answer = ChatAnswer(answer if isinstance(answer, str) else orjson.dumps(answer).decode())
        prompt_tokens = _tokens(request.body.decode(errors="replace"))
        completion_tokens = _tokens(answer.content or answer.refusal or "")
        return Reply(
            json={
                "id": f"chatcmpl-fake{next(self._ids)}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": request.json["model"],
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": answer.content,
                            "refusal": answer.refusal,
                            "annotations": [],
                        },
                        "logprobs": None,
                        "finish_reason": answer.finish_reason,
                    }
                ],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
                "service_tier": "default",
                "system_fingerprint": "fp_fake",
            },
            headers={"x-request-id": f"req_fake{next(self._ids)}"},
        )

    def _images_edit(self, request: Request) -> Reply:
        if self.expected_api_key is not None:
            if request.headers.get("authorization") != f"Bearer {self.expected_api_key}":
                return openai_error(401, "Incorrect API key provided")
        try:
            fields = multipart_fields(request)
        except ValueError as exc:
            return openai_error(400, str(exc))
        if ("image" not in fields and "image[]" not in fields) or "prompt" not in fields:
            return openai_error(400, "image and prompt are required")
        answer = self.images.next(request)
        if isinstance(answer, Reply):
            return answer
        return Reply(
            json={
                "created": int(time.time()),
                "data": [{"b64_json": base64.b64encode(answer).decode()}],
                "usage": {"input_tokens": 100, "output_tokens": 1000, "total_tokens": 1100},
            }
        )


__all__ = ["CHAT_PATH", "IMAGES_EDIT_PATH", "ChatAnswer", "FakeOpenAI", "openai_error"]
