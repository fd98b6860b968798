"""POST /chat and POST /chat/image (docs/protocol.md §2.2).

Both answer 200 ``{"status": "success", "user_id", "text", "type", "options", "filter_data"}``, also when the
model fails (``type: "error"``); bad input gets the gateway's 4xx envelope.
"""

from __future__ import annotations

from starlette.requests import Request

from gateway import apidoc
from gateway.apidoc import USER_ID, DocContext, Paths, Schema, ref
from gateway.chat.chat_inputs import chat_user, history_from_form, history_hint, message_value
from gateway.chat.conversation import ChatEngine
from gateway.chat.reply import REPLY_TYPES, ChatReply
from gateway.chat.uploads import check_picture, read_image_form
from gateway.inputs import read_json_object
from gateway.responses import JSONResponse, success
from shared.limits import MAX_MESSAGE_CHARS

MAX_CHAT_BODY = 256 * 1024  # a message and a short history; far below MAX_BODY_BYTES


def _engine(request: Request) -> ChatEngine:
    return request.app.state.chat


def _answer(user_id: str, reply: ChatReply) -> JSONResponse:
    return JSONResponse(success(user_id=user_id, **reply.to_api()))


async def chat(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    data = await read_json_object(request, min(settings.max_body_bytes, MAX_CHAT_BODY))
    user_id = await chat_user(request, data.get("user_id"))
    message = message_value(data, required=True)
    hint = history_hint(data.get("history"), strict=True)
    return _answer(user_id, await _engine(request).turn(user_id, message, hint))


async def chat_image(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    form = await read_image_form(request, settings.chat_image_max_bytes)
    user_id = await chat_user(request, form.fields.get("user_id"))
    message = message_value(form.fields, required=False)
    hint = history_from_form(form.fields.get("history"))
    picture = await check_picture(form.image, settings.max_image_pixels)
    return _answer(user_id, await _engine(request).turn(user_id, message, hint, picture))


OPENAPI_SCHEMAS: dict[str, Schema] = {
    "ChatRequest": {
        "type": "object",
        "required": ["message"],
        "properties": {
            "user_id": USER_ID,
            "message": apidoc.string(MAX_MESSAGE_CHARS, 1, pattern=r"\S"),
            "history": {
                "type": ["array", "null"],
                "items": {
                    "type": "object",
                    "required": ["role", "content"],
                    "properties": {
                        "role": {"type": "string"},
                        "content": {"type": ["string", "object"]},
                        "type": {"type": "string"},
                    },
                },
            },
        },
    },
    "ChatImageForm": {
        "type": "object",
        "required": ["image"],
        "properties": {
            "image": {"type": "string", "contentMediaType": "application/octet-stream",
                      "description": "JPEG, PNG, GIF or WebP (decoded and re-encoded; metadata dropped)."},
            "message": apidoc.string(MAX_MESSAGE_CHARS),
            "history": apidoc.string(description="JSON text of the history list; invalid means []."),
            "user_id": USER_ID,
        },
    },
    "ChatReply": {
        "type": "object",
        "required": ["status", "user_id", "text", "type", "options", "filter_data"],
        "properties": {
            "status": {"const": "success"},
            "user_id": {"type": "string"},
            "text": {"type": "string"},
            "type": {"type": "string", "enum": list(REPLY_TYPES)},
            "options": {"type": "array", "items": {"type": "string"}},
            "filter_data": {"type": ["object", "null"]},
        },
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/chat": {"post": {
            "summary": "One turn of the filter-building chat", "tags": ["chat"],
            "description": "A failed model call still answers 200 with type 'error'.",
            "requestBody": apidoc.request_body(ref("ChatRequest")),
            "responses": {"200": apidoc.json_body(ref("ChatReply"), "The assistant's turn."),
                          **apidoc.errors(*doc.body_errors)},
        }},
        "/chat/image": {"post": {
            "summary": "A chat turn about a picture", "tags": ["chat"],
            "requestBody": {"required": True,
                            "content": {"multipart/form-data": {"schema": ref("ChatImageForm")}}},
            "responses": {"200": apidoc.json_body(ref("ChatReply"), "The assistant's turn."),
                          **apidoc.errors(*doc.body_errors)},
        }},
    }
