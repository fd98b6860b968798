"""Reading what the chat routes receive: the message, the history hint and the user."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from gateway.auth import authorised_user
from gateway.chat.state import Turn
from gateway.inputs import string_field
from gateway.responses import ApiError
from shared.limits import MAX_MESSAGE_CHARS

DEFAULT_USER = "default_user"  # docs/protocol.md §1.2: the image chat of the shipped extension sends no user_id
MAX_HISTORY_ITEMS = 50
MAX_HISTORY_CONTENT = 4000
_ASSISTANT_ROLES = frozenset({"assistant", "bot", "model", "ai"})


async def chat_user(request: Request, claimed: Any) -> str:
    """The user, through ``authorised_user``. A missing id means "default_user" only in open mode; with
    tokens the token names the user, so nothing is claimed on the client's behalf."""
    if claimed in (None, "") and request.app.state.settings.auth_mode == "open":
        claimed = DEFAULT_USER
    return await authorised_user(request, claimed)


def message_value(data: dict[str, Any], *, required: bool) -> str:
    message = string_field(data, "message", required=required, max_len=MAX_MESSAGE_CHARS, default="") or ""
    if required and not message.strip():
        raise ApiError(422, "message must not be empty")
    return message.strip()


def _content_text(content: Any) -> str | None:
    """History content may be a string or an object (docs/protocol.md §2.2); objects carry their text in ``text``."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        text = content.get("text")
        return text if isinstance(text, str) else orjson.dumps(content).decode()
    return None


def history_hint(value: Any, *, strict: bool) -> list[Turn]:
    """The client's history as turns. ``strict``: wrong shapes are a 422 (/chat); else they mean [] (/chat/image)."""
    if value is None:
        return []
    if not isinstance(value, list):
        if strict:
            raise ApiError(422, "history must be a list of {role, content} objects")
        return []
    turns: list[Turn] = []
    for item in value[-MAX_HISTORY_ITEMS:]:
        if not isinstance(item, dict):
            if strict:
                raise ApiError(422, "history items must be objects with role and content")
            return []
        role, content = item.get("role"), _content_text(item.get("content"))
        if not isinstance(role, str) or content is None:
            if strict:
                raise ApiError(422, "history items need a string role and a string or object content")
            return []
        kind = item.get("type") if isinstance(item.get("type"), str) else None
        normalised_role = "assistant" if role.lower() in _ASSISTANT_ROLES else "user" if role.lower() == "user" else ""
        if normalised_role:  # "system" and unknown roles are not part of the conversation
            turns.append(Turn(normalised_role, content[:MAX_HISTORY_CONTENT], kind))
    return turns


def history_from_form(raw: str | None) -> list[Turn]:
    """/chat/image sends history as a JSON string; invalid JSON is treated as [] (docs/protocol.md §2.2)."""
    if not raw:
        return []
    try:
        return history_hint(orjson.loads(raw), strict=False)
    except orjson.JSONDecodeError:
        return []
