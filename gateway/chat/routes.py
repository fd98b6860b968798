"""POST /chat and POST /chat/image (contract 2.9, 2.10).

Both answer 200 ``{"status": "success", "user_id", "text", "type", "options", "filter_data"}``, also when the
model fails (``type: "error"``); bad input gets the gateway's 4xx envelope.
"""

from __future__ import annotations

from starlette.requests import Request

from gateway.chat.chat_inputs import chat_user, history_from_form, history_hint, message_value
from gateway.chat.engine import ChatEngine
from gateway.chat.reply import ChatReply
from gateway.chat.uploads import check_picture, read_image_form
from gateway.inputs import read_json_object
from gateway.responses import JSONResponse, success

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
