"""Reading and checking request input: bounded bodies, JSON, typed fields, user ids."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request

from gateway.responses import ApiError
from shared.limits import MAX_USER_ID_CHARS

# A client that stops sending in the middle of a body (announcing more than it sends, or a slow-loris
# trickle) would otherwise hold a handler and a socket forever: uvicorn has no body read timeout.
BODY_IDLE_TIMEOUT_SECONDS = 10.0  # longest wait for the next chunk
BODY_TOTAL_TIMEOUT_SECONDS = 60.0  # longest time for a whole body


async def timed_stream(stream: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """``stream`` with the timeouts above; a stalled body ends as 408."""
    deadline = time.monotonic() + BODY_TOTAL_TIMEOUT_SECONDS
    chunks = aiter(stream)
    while True:
        wait = min(BODY_IDLE_TIMEOUT_SECONDS, deadline - time.monotonic())
        try:
            chunk = await asyncio.wait_for(anext(chunks), timeout=max(wait, 0.001))
        except StopAsyncIteration:
            return
        except TimeoutError as exc:
            raise ApiError(408, "request body not received in time") from exc
        yield chunk


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The request body, refusing (413) as soon as it exceeds ``max_bytes`` and (408) when it stalls."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > max_bytes:
                raise ApiError(413, f"request body larger than {max_bytes} bytes")
        except ValueError as exc:
            raise ApiError(400, "invalid Content-Length header") from exc
    chunks: list[bytes] = []
    size = 0
    async for chunk in timed_stream(request.stream()):
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
    if len(value) > MAX_USER_ID_CHARS or not value.isprintable():
        raise ApiError(422, f"{where} must be at most {MAX_USER_ID_CHARS} printable characters")
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
