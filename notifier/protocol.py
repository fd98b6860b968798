"""The socket protocol (docs/protocol.md §5): the official extension's frames plus two of ours.

Client frames are ``{"type", "data", "id"}``. Handled: ``ping`` (answered with ``pong``),
``pong`` (activity only), ``wait_for_image`` (answered at once when the result exists, otherwise
the user is registered as a waiter and the event arrives when the job completes), and ours:
``resume {epoch, offset}`` (replay what was missed; same as the query parameters on connect) and
``refresh_token {token}`` (token mode: extend the socket's authorisation without reconnecting).
Anything unparsable or unknown gets an ``error`` frame and the socket stays open.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import redis.asyncio as aioredis

from shared import events, imagejobs
from shared.keys import wait_id
from shared.limits import MAX_FILTERS_PER_REQUEST, MAX_URL_CHARS


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


def frame(type_: str, data: Any = None, id_: Any = None, **extra: Any) -> str:
    body: dict[str, Any] = {"type": type_}
    if data is not None:
        body["data"] = data
    if id_ is not None:
        body["id"] = id_
    body.update(extra)
    return orjson.dumps(body).decode()


def error_frame(message: str, id_: Any = None) -> str:
    return frame("error", {"message": message}, id_)


class Protocol:
    def __init__(self, client: aioredis.Redis, job_ttl: int) -> None:
        self.job_ttl = job_ttl
        self._waits = imagejobs.AsyncWaitRegistry(client)

    @staticmethod
    def parse(text: str) -> tuple[dict[str, Any] | None, str | None]:
        """(message, None) or (None, error frame)."""
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            return None, error_frame("invalid JSON")
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            return None, error_frame("a frame must be a JSON object with a string 'type'")
        return message, None

    async def handle(self, user_id: str, message: dict[str, Any]) -> list[str]:
        """Frames to send back for one client frame of a type handled here."""
        kind = message["type"]
        id_ = message.get("id") if isinstance(message.get("id"), str | int) else None
        if kind == "ping":
            ts = now_iso()
            return [frame("pong", {"timestamp": ts}, id_, timestamp=ts)]
        if kind == "pong":
            return []
        if kind == "wait_for_image":
            return await self._wait_for_image(user_id, message.get("data"), id_)
        return [error_frame(f"unknown message type {kind[:40]!r}", id_)]

    async def _wait_for_image(self, user_id: str, data: Any, id_: Any) -> list[str]:
        if not isinstance(data, dict):
            return [error_frame("wait_for_image needs data: {image_url, filters}", id_)]
        image_url = data.get("image_url")
        filters = data.get("filters", [])
        if isinstance(filters, str):
            filters = [filters]
        if not isinstance(image_url, str) or not image_url or len(image_url) > MAX_URL_CHARS:
            return [error_frame("image_url must be a non-empty string", id_)]
        if (
            not isinstance(filters, list)
            or len(filters) > MAX_FILTERS_PER_REQUEST
            or not all(isinstance(f, str) for f in filters)
        ):
            return [error_frame("filters must be a list of strings", id_)]
        wait = wait_id(image_url, filters)
        outcome = await self._waits.register(wait, user_id, self.job_ttl)
        if outcome.state == "done" and outcome.result is not None:
            # Echo the URL and filters exactly as the client sent them: it matches on image_url.
            result = {**outcome.result, "image_url": image_url, "filters": filters}
            return [events.dumps(events.image_processed(result))]
        if outcome.state == "failed":
            # A job for this image failed lately and none was claimed: say so now rather than leave the
            # client waiting for an event that no job will publish (until the failure record expires).
            failure = outcome.failure or {}
            return [events.dumps(events.image_failed(image_url, filters, str(failure.get("reason", "failed")),
                                                     str(failure.get("job_id", ""))))]
        return []
