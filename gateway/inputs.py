"""Reading and checking request input: bounded bodies, JSON, typed fields, user ids."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from gateway.responses import ApiError

MAX_USER_ID_LEN = 256


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refusing (413) as soon as it exceeds ``max_bytes``."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > max_bytes:
                raise ApiError(413, f"request body larger than {max_bytes} bytes")
        except ValueError as exc:
            raise ApiError(400, "invalid Content-Length header") from exc
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise ApiError(413, f"request body larger than {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json_object(request: Request, max_bytes: int) -> dict[str, Any]:
    body = await read_body(request, max_bytes)
    if not body.strip():
        raise ApiError(400, "request body is empty; a JSON object is expected")
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise ApiError(422, "request body must be a JSON object")
    return value


def user_id_value(value: Any, where: str = "user_id") -> str:
    if value is None or value == "":
        raise ApiError(400, f"{where} is required")
    if not isinstance(value, str):
        raise ApiError(422, f"{where} must be a string")
    if len(value) > MAX_USER_ID_LEN or not value.isprintable():
        raise ApiError(422, f"{where} must be at most {MAX_USER_ID_LEN} printable characters")
    return value


def string_field(data: dict[str, Any], name: str, *, required: bool = True, max_len: int = 2000,
                 default: str | None = None) -> str | None:
    value = data.get(name)
    if value is None:
        if required:
            raise ApiError(422, f"{name} is required")
        return default
    if not isinstance(value, str):
        raise ApiError(422, f"{name} must be a string")
    if len(value) > max_len:
        raise ApiError(422, f"{name} must be at most {max_len} characters")
    return value


def query_param(request: Request, name: str) -> str:
    value = request.query_params.get(name)
    if value is None or value == "":
        raise ApiError(400, f"query parameter {name} is required")
    return value
