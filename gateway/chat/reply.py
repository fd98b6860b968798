"""What one chat answer is, and the check a model's answer must pass before it reaches the extension.

The extension (docs/protocol.md §2.2) reads ``text``, ``options`` (buttons), ``type`` and
``filter_data``; ``filter_data`` is only applied when it has a ``filter_text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from shared.limits import MAX_FILTER_TEXT_CHARS

REPLY_TYPES: tuple[str, ...] = ("clarify", "ready_for_config", "complete", "initial", "error")
# What a model may answer; "error" is ours alone (a failed call), never the model's.
MODEL_REPLY_TYPES: tuple[str, ...] = ("clarify", "ready_for_config", "complete", "initial")
INITIAL_TYPES: tuple[str, ...] = ("unclear", "ambiguous", "person", "topic", "concept", "description")
CONTENT_TYPES: tuple[str, ...] = ("text", "image", "all")

MAX_TEXT = 2000
MAX_OPTIONS = 6
MAX_OPTION_CHARS = 80
MAX_CONTEXT = 500
MAX_RELATED = 10

TRY_AGAIN = "Try again"
START_OVER = "Start over"


class ReplyError(ValueError):
    """A model answer that is not a valid chat reply."""


@dataclass
class FilterData:
    filter_text: str
    initial_type: str = "topic"
    content_type: str | None = None
    context: str | None = None
    related_filters: list[str] = field(default_factory=list)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"filter_text": self.filter_text, "initial_type": self.initial_type}
        if self.content_type:
            out["content_type"] = self.content_type
        if self.context:
            out["context"] = self.context
        if self.related_filters:
            out["related_filters"] = list(self.related_filters)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FilterData:
        return cls(
            filter_text=str(data["filter_text"]),
            initial_type=str(data.get("initial_type") or "topic"),
            content_type=data.get("content_type"),
            context=data.get("context"),
            related_filters=[str(r) for r in data.get("related_filters") or []],
        )


@dataclass
class ChatReply:
    text: str
    type: str
    options: list[str] = field(default_factory=list)
    filter_data: FilterData | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "type": self.type,
            "options": list(self.options),
            "filter_data": self.filter_data.to_api() if self.filter_data else None,
        }


def error_reply() -> ChatReply:
    """What a failed model call answers: still a 200, with the buttons the extension shows as retry."""
    return ChatReply("Something went wrong. Would you like to try again?", "error", [TRY_AGAIN, START_OVER])


# --- checking a model's answer ---------------------------------------------------------------------------


def _string(value: Any, name: str, max_len: int, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise ReplyError(f"{name} is not a string")
    value = value.strip()
    if not value and not allow_empty:
        raise ReplyError(f"{name} is empty")
    if len(value) > max_len:
        raise ReplyError(f"{name} is longer than {max_len} characters")
    return value


def _options(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise ReplyError("options is not a list")
    if len(value) > MAX_OPTIONS:
        raise ReplyError(f"more than {MAX_OPTIONS} options")
    options = [_string(o, "option", MAX_OPTION_CHARS, allow_empty=True) for o in value]
    return [o for o in options if o]


def _filter_data(value: Any) -> FilterData | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ReplyError("filter_data is not an object")
    text = value.get("filter_text")
    if text is None or (isinstance(text, str) and not text.strip()):
        return None  # a model with nothing to propose yet
    initial_type = value.get("initial_type") or "topic"
    if initial_type not in INITIAL_TYPES:
        raise ReplyError(f"initial_type {initial_type!r} is not one of {INITIAL_TYPES}")
    content_type = value.get("content_type")
    if content_type is not None and content_type not in CONTENT_TYPES:
        raise ReplyError(f"content_type {content_type!r} is not one of {CONTENT_TYPES}")
    context = value.get("context")
    related = value.get("related_filters") or []
    if not isinstance(related, list) or len(related) > MAX_RELATED:
        raise ReplyError("related_filters is not a short list")
    return FilterData(
        filter_text=_string(text, "filter_text", MAX_FILTER_TEXT_CHARS),
        initial_type=initial_type,
        content_type=content_type,
        context=None if context is None else _string(context, "context", MAX_CONTEXT, allow_empty=True) or None,
        related_filters=[_string(str(r), "related filter", MAX_FILTER_TEXT_CHARS) for r in related],
    )


def parse_model_reply(raw: str) -> ChatReply:
    """The model's JSON text as a ChatReply, or ReplyError. A schema constrains shape, not sense."""
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ReplyError(f"reply is not JSON: {raw[:80]!r}") from exc
    if not isinstance(data, dict):
        raise ReplyError("reply is not a JSON object")
    kind = data.get("type")
    if kind not in MODEL_REPLY_TYPES:
        raise ReplyError(f"type {kind!r} is not one of {MODEL_REPLY_TYPES}")
    reply = ChatReply(
        text=_string(data.get("text"), "text", MAX_TEXT),
        type=kind,
        options=_options(data.get("options", [])),
        filter_data=_filter_data(data.get("filter_data")),
    )
    if reply.type == "ready_for_config" and reply.filter_data is None:
        raise ReplyError("ready_for_config without a filter_text")
    return reply
