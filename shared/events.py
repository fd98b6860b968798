"""Events that travel from workers to clients, and their wire shapes.

An event is published on the user's channel and appended to the user's log as one JSON object.
It is already the frame the official extension expects (``{"type", "data"}``); the notifier adds
nothing but forwards it. ``epoch`` and ``offset`` are spliced in by ``publish_event.lua`` and let a
client resume without gaps (extra keys are ignored by the extension).
"""

from __future__ import annotations

from typing import Any, TypedDict

import orjson

IMAGE_PROCESSED = "image_processed"
IMAGE_FAILED = "image_failed"


class ImageResult(TypedDict, total=False):
    """What a finished job stores; the value behind a wait id."""

    image_url: str
    filters: list[str]
    url: str  # processed image, served by the gateway
    base64_url: str  # data: URL when small enough
    intervention: str  # what was applied
    requested_intervention: str  # what was asked for (differs after a fallback)
    note: str  # e.g. why a fallback happened, or "unchanged: no match"
    job_id: str


def image_processed(result: ImageResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "image_url": result["image_url"],
        "result": result["url"],
        "filters": result["filters"],
    }
    if result.get("base64_url"):
        data["base64_url"] = result["base64_url"]
    for extra in ("intervention", "requested_intervention", "note"):
        if result.get(extra):
            data[extra] = result[extra]  # type: ignore[literal-required]
    return {"type": IMAGE_PROCESSED, "job_id": result.get("job_id", ""), "data": data}


def image_failed(image_url: str, filters: list[str], reason: str, job_id: str) -> dict[str, Any]:
    return {
        "type": IMAGE_FAILED,
        "job_id": job_id,
        "data": {"image_url": image_url, "filters": filters, "reason": reason},
    }


def dumps(event: dict[str, Any]) -> str:
    return orjson.dumps(event).decode()


def loads(payload: str | bytes) -> dict[str, Any]:
    value = orjson.loads(payload)
    if not isinstance(value, dict):
        raise ValueError("event is not a JSON object")
    return value
