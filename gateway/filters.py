"""Filter routes: GET/POST /filters, PUT/DELETE /filters/{id} (docs/protocol.md §2).

Differences from the original, on purpose: intended status codes (400/404/422, not 500),
``content_type`` and ``filter_metadata`` are stored, an update changes only the fields it sends,
and ``intensity: null`` means 5 (the options page's ``parseInt(v, 5)`` bug sends null for 5).
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request

from gateway import apidoc
from gateway.apidoc import USER_ID, DocContext, Paths, Schema, ref
from gateway.auth import authorised_user
from gateway.filter_store import DURATIONS, FilterStore, expiry_for
from gateway.inputs import read_json_object, string_field
from gateway.responses import ApiError, JSONResponse, success
from shared.limits import MAX_FILTER_TEXT_CHARS, MAX_FILTERS_PER_USER
from shared.models import CONTENT_TYPES
from shared.moderation.open_vocab import concept_for


def _store(request: Request) -> FilterStore:
    return request.app.state.filters


def _intensity(value: Any) -> int:
    if value is None:
        return 5
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ApiError(422, "intensity must be an integer from 1 to 5")
    try:
        number = int(value)
    except ValueError as exc:
        raise ApiError(422, "intensity must be an integer from 1 to 5") from exc
    if number != float(value) or not 1 <= number <= 5:
        raise ApiError(422, "intensity must be an integer from 1 to 5")
    return number


def _fields(data: dict[str, Any], *, partial: bool) -> dict[str, Any]:
    """Validated filter fields present in ``data`` (all of them, with defaults, when creating)."""
    out: dict[str, Any] = {}
    if "filter_text" in data or not partial:
        text = string_field(data, "filter_text", max_len=MAX_FILTER_TEXT_CHARS)
        assert text is not None
        if not text.strip():
            raise ApiError(422, "filter_text must not be empty")
        out["filter_text"] = text.strip()
    if "intensity" in data:
        out["intensity"] = _intensity(data["intensity"])
    elif not partial:
        out["intensity"] = 3
    if "content_type" in data or not partial:
        content_type = data.get("content_type") or "all"
        if content_type not in CONTENT_TYPES:
            raise ApiError(422, f"content_type must be one of {', '.join(CONTENT_TYPES)}")
        out["content_type"] = content_type
    if "filter_metadata" in data or not partial:
        metadata = data.get("filter_metadata") or {}
        if not isinstance(metadata, dict):
            raise ApiError(422, "filter_metadata must be an object")
        out["filter_metadata"] = metadata
    if "filter_type" in data:
        filter_type = data["filter_type"]
        if filter_type is not None and not isinstance(filter_type, str):
            raise ApiError(422, "filter_type must be a string or null")
        out["filter_type"] = filter_type
    if "duration" in data or not partial:
        duration = data.get("duration") or "permanent"
        if duration not in DURATIONS:
            raise ApiError(422, f"duration must be one of {', '.join(DURATIONS)}")
        out["is_temporary"], out["expires_at"] = expiry_for(duration)
    return out


def _filter_id(request: Request) -> int:
    raw = request.path_params["filter_id"]
    try:
        return int(raw)
    except ValueError as exc:
        raise ApiError(422, "filter id must be an integer") from exc


async def list_filters(request: Request) -> JSONResponse:
    user_id = await authorised_user(request, request.query_params.get("user_id"))
    store = _store(request)
    await store.touch_user(user_id)
    items = await store.list_active(user_id)
    return JSONResponse(
        success(message=f"Found {len(items)} filters", filters=[f.to_api() for f in items])
    )


async def _embed_concept(request: Request, filter_text: str) -> None:
    """Compile the filter and embed its descriptions now, so the first feed after saving pays nothing.

    The vectors live in Redis under the hash of each description's text, shared by every user whose
    filter compiles to the same texts (see gateway/embedding_cache.py). With a cloud key the text is
    also expanded, in the background: the save never waits for that model (gateway/expansions.py).
    """
    if request.app.state.expansions is not None:
        request.app.state.expansions.schedule(filter_text)
    # Compiling reads WordNet (up to ~20 ms for a broad word like "food"): off the event loop.
    concept = await asyncio.to_thread(concept_for, filter_text)
    # Waits for the Redis write too: every gateway process finds the vectors from the next request on.
    await request.app.state.vectors.vectors(concept.texts(), wait_for_store=True)


async def create_filter(request: Request) -> JSONResponse:
    data = await read_json_object(request, request.app.state.settings.max_body_bytes)
    user_id = await authorised_user(request, data.get("user_id"))
    fields = _fields(data, partial=False)
    store = _store(request)
    await store.touch_user(user_id)
    if len(await store.list_active(user_id)) >= MAX_FILTERS_PER_USER:
        raise ApiError(422, f"at most {MAX_FILTERS_PER_USER} filters per user")
    item = await store.create(user_id, fields)
    await _embed_concept(request, item.filter_text)
    return JSONResponse(
        success(message="Filter created successfully", filter_id=item.id, filter=item.to_api())
    )


async def update_filter(request: Request) -> JSONResponse:
    filter_id = _filter_id(request)
    data = await read_json_object(request, request.app.state.settings.max_body_bytes)
    user_id = await authorised_user(request, data.get("user_id"))
    fields = _fields(data, partial=True)
    store = _store(request)
    item = await store.get(user_id, filter_id)
    if item is None:
        raise ApiError(404, "Filter not found")
    for name, value in fields.items():
        setattr(item, name, value)
    await store.save(user_id, item)
    await _embed_concept(request, item.filter_text)
    return JSONResponse(success(message="Filter updated successfully", filter=item.to_api()))


async def delete_filter(request: Request) -> JSONResponse:
    filter_id = _filter_id(request)
    user_id = await authorised_user(request, request.query_params.get("user_id"))
    if not await _store(request).delete(user_id, filter_id):
        raise ApiError(404, "Filter not found")
    return JSONResponse(success(message="Filter deleted successfully"))


async def update_user(request: Request) -> JSONResponse:
    """POST /user/update {user_id, email} (docs/protocol.md §2)."""
    data = await read_json_object(request, request.app.state.settings.max_body_bytes)
    user_id = await authorised_user(request, data.get("user_id"))
    email = string_field(data, "email", required=False, max_len=320)
    if email is not None and "@" not in email:
        raise ApiError(422, "email must be an email address")
    user = await _store(request).set_email(user_id, email)
    return JSONResponse(success(message="User information updated", user=user))


_FILTER_FIELDS: dict[str, Schema] = {
    "filter_text": apidoc.string(MAX_FILTER_TEXT_CHARS, 1, pattern=r"\S", description="What to moderate."),
    "intensity": {
        "description": "1-2 blur, 3 overlay, 4-5 rewrite; null means 5 (the options page's bug).",
        "oneOf": [{"type": "integer", "minimum": 1, "maximum": 5}, {"type": "null"}],
    },
    "content_type": {"type": "string", "enum": list(CONTENT_TYPES)},
    "filter_metadata": {"type": "object", "description": "Free-form options (image_intervention, ...)."},
    "filter_type": {"type": ["string", "null"]},
    "duration": {"type": "string", "enum": list(DURATIONS)},
}

OPENAPI_SCHEMAS: dict[str, Schema] = {
    "Filter": {
        "type": "object",
        "required": ["id", "filter_text", "intensity", "content_type", "filter_metadata", "is_temporary"],
        "properties": {
            "id": {"type": "integer"},
            "filter_text": {"type": "string"},
            "intensity": {"type": "integer", "minimum": 1, "maximum": 5},
            "content_type": {"type": "string", "enum": list(CONTENT_TYPES)},
            "filter_type": {"type": ["string", "null"]},
            "filter_metadata": {"type": "object"},
            "is_temporary": {"type": "boolean"},
            "expires_at": {"type": ["string", "null"], "description": "ISO 8601, UTC."},
            "created_at": {"type": ["string", "null"]},
        },
    },
    "FilterCreate": {
        "type": "object",
        "required": ["filter_text"],
        "properties": {"user_id": USER_ID, **_FILTER_FIELDS},
    },
    "FilterUpdate": {
        "type": "object",
        "description": "Only the fields sent are changed.",
        "properties": {"user_id": USER_ID, **_FILTER_FIELDS},
    },
    "FilterList": {
        "type": "object",
        "required": ["status", "message", "filters"],
        "properties": {
            "status": {"const": "success"},
            "message": {"type": "string"},
            "filters": {"type": "array", "items": ref("Filter")},
        },
    },
    "FilterSaved": {
        "type": "object",
        "required": ["status", "message", "filter"],
        "properties": {
            "status": {"const": "success"},
            "message": {"type": "string"},
            "filter_id": {"type": "integer"},
            "filter": ref("Filter"),
        },
    },
    "UserUpdate": {
        "type": "object",
        "properties": {"user_id": USER_ID, "email": apidoc.string(320, pattern="@")},
    },
    "UserUpdated": {
        "type": "object",
        "required": ["status", "user"],
        "properties": {"status": {"const": "success"}, "message": {"type": "string"}, "user": apidoc.OBJECT},
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    filter_id = apidoc.path_param("filter_id", {"type": "integer"}, "A filter id of this user.")
    return {
        "/filters": {
            "get": {
                "summary": "List the user's active filters", "tags": ["filters"],
                "parameters": [doc.user_query],
                "responses": {"200": apidoc.json_body(ref("FilterList"), "Active filters."),
                              **apidoc.errors(*doc.user_errors)},
            },
            "post": {
                "summary": "Create a filter", "tags": ["filters"],
                "requestBody": apidoc.request_body(doc.user_body("FilterCreate")),
                "responses": {"200": apidoc.json_body(ref("FilterSaved"), "Created."),
                              **apidoc.errors(*doc.body_errors)},
            },
        },
        "/filters/{filter_id}": {
            "put": {
                "summary": "Change some fields of a filter", "tags": ["filters"],
                "parameters": [filter_id],
                "requestBody": apidoc.request_body(doc.user_body("FilterUpdate")),
                "responses": {"200": apidoc.json_body(ref("FilterSaved"), "Updated."),
                              **apidoc.errors(*doc.body_errors, 404)},
            },
            "delete": {
                "summary": "Delete a filter", "tags": ["filters"],
                "parameters": [filter_id, doc.user_query],
                "responses": {"200": apidoc.json_body(ref("Success"), "Deleted."),
                              **apidoc.errors(*doc.user_errors, 404)},
            },
        },
        "/user/update": {"post": {
            "summary": "Set the user's email", "tags": ["filters"],
            "requestBody": apidoc.request_body(doc.user_body("UserUpdate")),
            "responses": {"200": apidoc.json_body(ref("UserUpdated"), "Updated."), **apidoc.errors(*doc.body_errors)},
        }},
    }
