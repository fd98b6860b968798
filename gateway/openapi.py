"""GET /openapi.json and GET /docs: the gateway's HTTP surface as an OpenAPI 3.1 document, and a page
that renders it.

The document is written by hand, next to the routes it describes: one entry per ``(path, method)`` of
``gateway.app.routes()`` (``tests/reliability/test_openapi.py`` checks that none is missing and none is
invented, and fuzzes the live gateway from it). It follows the deployment it is served by: in
``AUTH_MODE=open`` the ``user_id`` fields are required and trusted; in ``token`` mode a bearer token is
required instead and a ``user_id`` naming someone else is refused (403).

The /docs page is static HTML, CSS and one ES module in ``gateway/docs/``, served by the gateway itself
(no CDN), under the same strict Content-Security-Policy style as the viewer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

from gateway.responses import JSONResponse
from shared.config import Settings
from shared.jobqueue import CLOUD_INTERVENTIONS, INTERVENTION_ALIASES, LOCAL_INTERVENTIONS
from shared.limits import (
    MAX_FILTER_TEXT_CHARS,
    MAX_FILTERS_PER_REQUEST,
    MAX_MESSAGE_CHARS,
    MAX_SAMPLE_SEED,
    MAX_URL_CHARS,
    MAX_USER_ID_CHARS,
)

DOCS_DIR = Path(__file__).resolve().parent / "docs"
DOCS_PAGE = DOCS_DIR / "index.html"
DOCS_STATIC = DOCS_DIR / "static"

Schema = dict[str, Any]

ERRORS = {
    400: "Malformed request: empty or invalid JSON, missing parameter, unsupported feed.",
    401: "Token mode: missing, invalid or expired token.",
    403: "Token mode: the token belongs to another user.",
    404: "Not found.",
    408: "The request body stalled (no data for 10 s, or not complete within 60 s).",
    413: "Request body larger than the limit (MAX_BODY_BYTES, or the route's own).",
    422: "Well-formed but invalid field values.",
    503: "Redis unavailable: retry shortly.",
}


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Schema]:
    return {str(code): _json(_ref("Error"), ERRORS[code]) for code in codes}


def _string(max_len: int | None = None, min_len: int | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "string", **extra}
    if max_len is not None:
        out["maxLength"] = max_len
    if min_len is not None:
        out["minLength"] = min_len
    return out


_OBJECT: Schema = {"type": "object"}
_USER_ID = _string(MAX_USER_ID_CHARS, 1, description="The extension's user id (trusted in open mode).")
_INTERVENTIONS = sorted({*LOCAL_INTERVENTIONS, *CLOUD_INTERVENTIONS, *INTERVENTION_ALIASES})


def components() -> dict[str, Schema]:
    filter_fields: dict[str, Schema] = {
        "filter_text": _string(MAX_FILTER_TEXT_CHARS, 1, pattern=r"\S", description="What to moderate."),
        "intensity": {
            "description": "1-2 blur, 3 overlay, 4-5 rewrite; null means 5 (the options page's bug).",
            "oneOf": [{"type": "integer", "minimum": 1, "maximum": 5}, {"type": "null"}],
        },
        "content_type": {"type": "string", "enum": ["text", "image", "all"]},
        "filter_metadata": {"type": "object", "description": "Free-form options (image_intervention, ...)."},
        "filter_type": {"type": ["string", "null"]},
        "duration": {"type": "string", "enum": ["permanent", "day", "week", "month"]},
    }
    image_result_props: dict[str, Schema] = {
        "status": {"const": "COMPLETED"},
        "processed_value": _string(description="URL of the processed image on this gateway."),
        "base64_url": _string(description="The same image as a data: URL when small."),
        "intervention": _string(),
        "note": _string(),
        "job_id": _string(),
    }
    return {
        "Error": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {"status": {"const": "error"}, "message": {"type": "string"}},
        },
        "Filter": {
            "type": "object",
            "required": ["id", "filter_text", "intensity", "content_type", "filter_metadata", "is_temporary"],
            "properties": {
                "id": {"type": "integer"},
                "filter_text": {"type": "string"},
                "intensity": {"type": "integer", "minimum": 1, "maximum": 5},
                "content_type": {"type": "string", "enum": ["text", "image", "all"]},
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
            "properties": {"user_id": _USER_ID, **filter_fields},
        },
        "FilterUpdate": {
            "type": "object",
            "description": "Only the fields sent are changed.",
            "properties": {"user_id": _USER_ID, **filter_fields},
        },
        "FilterList": {
            "type": "object",
            "required": ["status", "message", "filters"],
            "properties": {
                "status": {"const": "success"},
                "message": {"type": "string"},
                "filters": {"type": "array", "items": _ref("Filter")},
            },
        },
        "FilterSaved": {
            "type": "object",
            "required": ["status", "message", "filter"],
            "properties": {
                "status": {"const": "success"},
                "message": {"type": "string"},
                "filter_id": {"type": "integer"},
                "filter": _ref("Filter"),
            },
        },
        "Success": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"const": "success"}, "message": {"type": "string"}},
        },
        "UserUpdate": {
            "type": "object",
            "properties": {"user_id": _USER_ID, "email": _string(320, pattern="@")},
        },
        "UserUpdated": {
            "type": "object",
            "required": ["status", "user"],
            "properties": {"status": {"const": "success"}, "message": {"type": "string"}, "user": _OBJECT},
        },
        "FeedRequest": {
            "type": "object",
            "required": ["url", "data"],
            "properties": {
                "user_id": _USER_ID,
                "url": _string(min_len=1, description="The intercepted Reddit or X request URL."),
                "data": {
                    "description": "The intercepted body, as an object or as a JSON string of one.",
                    "oneOf": [
                        {
                            "type": "object",
                            "required": ["feed_info"],
                            "properties": {
                                "feed_info": {
                                    "type": "object",
                                    "required": ["response"],
                                    "properties": {"response": _string(description="Raw feed body.")},
                                },
                            },
                        },
                        _string(min_len=1, description="JSON text of the object above."),
                    ],
                },
                "tab_id": {"description": "Ignored (sent by the extension)."},
                "useBatching": {"description": "Ignored (sent by the extension)."},
            },
        },
        "FeedResponse": {
            "type": "object",
            "required": ["status", "feed", "moderation"],
            "properties": {
                "status": {"const": "success"},
                "feed": {"type": "object", "required": ["response"], "properties": {"response": {"type": "string"}}},
                "moderation": {
                    "type": "object",
                    "description": "What was done and why: provider, calls, fallback, changed posts.",
                    "required": ["platform", "posts", "filters", "elapsed_ms"],
                    "properties": {
                        "platform": {"type": "string", "enum": ["reddit", "x"]},
                        "posts": {"type": "integer"},
                        "filters": {"type": "integer"},
                        "provider": {"type": ["string", "null"]},
                        "provider_calls": {"type": "integer"},
                        "fallback": {"type": ["string", "null"]},
                        "changed": {"type": "array", "items": _OBJECT},
                        "elapsed_ms": {"type": "number"},
                    },
                },
            },
        },
        "ImageJobRequest": {
            "type": "object",
            "required": ["image_url"],
            "properties": {
                "user_id": _USER_ID,
                "image_url": _string(MAX_URL_CHARS, 1, format="uri", description="Absolute http(s) URL."),
                "filters": {
                    "oneOf": [
                        {"type": "array", "maxItems": MAX_FILTERS_PER_REQUEST, "items": _string(MAX_FILTER_TEXT_CHARS)},
                        _string(MAX_FILTER_TEXT_CHARS, description="One filter."),
                    ],
                },
                "intervention": {"type": "string", "enum": _INTERVENTIONS},
                "filter_text": _string(MAX_FILTER_TEXT_CHARS),
                "intensity": {"type": "integer", "minimum": 1, "maximum": 5},
            },
        },
        "ImageJobQueued": {
            "type": "object",
            "required": ["status", "job_id", "wait_id"],
            "properties": {
                "status": {"type": "string", "enum": ["queued", "pending"]},
                "job_id": {"type": "string"},
                "wait_id": {"type": "string"},
            },
        },
        "ImageCompleted": {
            "type": "object",
            "required": ["status", "processed_value"],
            "properties": image_result_props,
        },
        "ImagePoll": {
            "oneOf": [
                _ref("ImageCompleted"),
                {
                    "type": "object",
                    "required": ["status", "reason"],
                    "properties": {"status": {"const": "FAILED"}, "reason": {"type": "string"}},
                },
                {"type": "object", "required": ["status"], "properties": {"status": {"const": "NOT FOUND"}}},
            ],
        },
        "ChatRequest": {
            "type": "object",
            "required": ["message"],
            "properties": {
                "user_id": _USER_ID,
                "message": _string(MAX_MESSAGE_CHARS, 1, pattern=r"\S"),
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
                "message": _string(MAX_MESSAGE_CHARS),
                "history": _string(description="JSON text of the history list; invalid means []."),
                "user_id": _USER_ID,
            },
        },
        "ChatReply": {
            "type": "object",
            "required": ["status", "user_id", "text", "type", "options", "filter_data"],
            "properties": {
                "status": {"const": "success"},
                "user_id": {"type": "string"},
                "text": {"type": "string"},
                "type": {"type": "string", "enum": ["clarify", "ready_for_config", "complete", "initial", "error"]},
                "options": {"type": "array", "items": {"type": "string"}},
                "filter_data": {"type": ["object", "null"]},
            },
        },
        "ViewerConfig": {
            "type": "object",
            "required": ["auth_mode", "public_gateway_url", "public_notifier_url", "samples"],
            "properties": {
                "auth_mode": {"type": "string", "enum": ["open", "token"]},
                "public_gateway_url": {"type": "string"},
                "public_notifier_url": {"type": "string"},
                "samples": {"type": "array", "items": {"type": "string"}},
                "sample_image_host": {"type": "string"},
                "sample_images_fetchable": {"type": "boolean"},
                "fetch_hint": {"type": ["string", "null"]},
            },
        },
        "ViewerSample": {
            "type": "object",
            "required": ["platform", "url", "body", "seed", "posts"],
            "properties": {
                "platform": {"type": "string", "enum": ["reddit", "x"]},
                "url": {"type": "string"},
                "body": {"type": "string"},
                "seed": {"type": "integer"},
                "posts": {"type": "integer"},
            },
        },
        "ViewerStatus": {
            "type": "object",
            "required": ["time", "notifier", "jobs", "gateway"],
            "properties": {"time": {"type": "number"}, "notifier": _OBJECT, "jobs": _OBJECT, "gateway": _OBJECT},
        },
        "Health": {
            "type": "object",
            "required": ["status"],
            "properties": {"status": {"type": "string"}, "redis": {"type": "string"}, "message": {"type": "string"}},
        },
    }


def _body(schema: Schema, description: str = "") -> Schema:
    out: Schema = {"required": True, "content": {"application/json": {"schema": schema}}}
    if description:
        out["description"] = description
    return out


def _query(name: str, schema: Schema, *, required: bool, description: str = "") -> Schema:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def _path(name: str, schema: Schema, description: str = "") -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


def _user_body(ref: str, token_mode: bool) -> Schema:
    """A request schema whose ``user_id`` is required in open mode (the token names the user otherwise)."""
    if token_mode:
        return _ref(ref)
    return {"allOf": [_ref(ref), {"required": ["user_id"]}]}


def operations(token_mode: bool) -> dict[str, dict[str, Schema]]:
    """Every ``path -> method -> operation`` the gateway serves."""
    user_q = _query("user_id", _USER_ID, required=not token_mode)
    user_errors = (400, 401, 403, 422, 503) if token_mode else (400, 422, 503)
    body_errors = (*user_errors, 408, 413)
    binary = {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}
    html = {"content": {"text/html": {"schema": {"type": "string"}}}}
    text = {"content": {"text/plain": {"schema": {"type": "string"}}}}
    filter_id = _path("filter_id", {"type": "integer"}, "A filter id of this user.")
    return {
        "/ping": {"get": {
            "summary": "Liveness", "tags": ["health"],
            "responses": {"200": _json(_ref("Success"), "Running.")},
        }},
        "/healthz": {"get": {
            "summary": "Readiness: Redis reachable", "tags": ["health"],
            "responses": {"200": _json(_ref("Health"), "Ready."), "503": _json(_ref("Health"), "Redis unreachable.")},
        }},
        "/metrics": {"get": {
            "summary": "Prometheus metrics of this gateway process", "tags": ["health"],
            "responses": {"200": {"description": "Prometheus text format.", **text}},
        }},
        "/openapi.json": {"get": {
            "summary": "This document", "tags": ["docs"],
            "responses": {"200": _json(_OBJECT, "OpenAPI 3.1.")},
        }},
        "/docs": {"get": {
            "summary": "This document, rendered", "tags": ["docs"],
            "responses": {"200": {"description": "HTML page.", **html}},
        }},
        "/docs/static/{path}": {"get": {
            "summary": "Assets of the docs page", "tags": ["docs"],
            "parameters": [_path("path", {"type": "string"})],
            "responses": {"200": {"description": "A file.", **binary}, "404": {"description": "No such file."}},
        }},
        "/get_feed": {"post": {
            "summary": "Moderate an intercepted Reddit or X feed body",
            "description": "Returns the same body with the user's interventions applied. Moderation failures "
                           "(provider down, slow, garbage) still answer 200: local fallback or untouched posts.",
            "tags": ["feed"],
            "requestBody": _body(_ref("FeedRequest")),
            "responses": {"200": _json(_ref("FeedResponse"), "The moderated feed."), **_errors(*body_errors)},
        }},
        "/filters": {
            "get": {
                "summary": "List the user's active filters", "tags": ["filters"],
                "parameters": [user_q],
                "responses": {"200": _json(_ref("FilterList"), "Active filters."), **_errors(*user_errors)},
            },
            "post": {
                "summary": "Create a filter", "tags": ["filters"],
                "requestBody": _body(_user_body("FilterCreate", token_mode)),
                "responses": {"200": _json(_ref("FilterSaved"), "Created."), **_errors(*body_errors)},
            },
        },
        "/filters/{filter_id}": {
            "put": {
                "summary": "Change some fields of a filter", "tags": ["filters"],
                "parameters": [filter_id],
                "requestBody": _body(_user_body("FilterUpdate", token_mode)),
                "responses": {"200": _json(_ref("FilterSaved"), "Updated."), **_errors(*body_errors, 404)},
            },
            "delete": {
                "summary": "Delete a filter", "tags": ["filters"],
                "parameters": [filter_id, user_q],
                "responses": {"200": _json(_ref("Success"), "Deleted."), **_errors(*user_errors, 404)},
            },
        },
        "/user/update": {"post": {
            "summary": "Set the user's email", "tags": ["filters"],
            "requestBody": _body(_user_body("UserUpdate", token_mode)),
            "responses": {"200": _json(_ref("UserUpdated"), "Updated."), **_errors(*body_errors)},
        }},
        "/chat": {"post": {
            "summary": "One turn of the filter-building chat", "tags": ["chat"],
            "description": "A failed model call still answers 200 with type 'error'.",
            "requestBody": _body(_ref("ChatRequest")),
            "responses": {"200": _json(_ref("ChatReply"), "The assistant's turn."), **_errors(*body_errors)},
        }},
        "/chat/image": {"post": {
            "summary": "A chat turn about a picture", "tags": ["chat"],
            "requestBody": {"required": True,
                            "content": {"multipart/form-data": {"schema": _ref("ChatImageForm")}}},
            "responses": {"200": _json(_ref("ChatReply"), "The assistant's turn."), **_errors(*body_errors)},
        }},
        "/images/jobs": {"post": {
            "summary": "Queue an image job (or get its finished result)", "tags": ["images"],
            "requestBody": _body(_user_body("ImageJobRequest", token_mode)),
            "responses": {
                "200": _json(_ref("ImageCompleted"), "Already done."),
                "202": _json(_ref("ImageJobQueued"), "Queued (first waiter) or pending (already queued)."),
                **_errors(*body_errors),
            },
        }},
        "/get_img_result": {"get": {
            "summary": "Poll an image result (what the shipped extension does)", "tags": ["images"],
            "parameters": [
                _query("img_url", _string(MAX_URL_CHARS, 1, format="uri"), required=True),
                _query("filters", _string(min_len=1), required=True,
                       description="A JSON array of strings, or one bare filter."),
            ],
            "responses": {"200": _json(_ref("ImagePoll"), "Always 200 for a well-formed poll."),
                          **_errors(400, 422, 503)},
        }},
        "/images/{blob_id}": {"get": {
            "summary": "A processed image (content-addressed, immutable)", "tags": ["images"],
            "parameters": [_path("blob_id", {"type": "string"})],
            "responses": {"200": {"description": "The image.",
                                  "content": {"image/*": {"schema": {"type": "string"}}}},
                          **_errors(404, 503)},
        }},
        "/viewer": {"get": {
            "summary": "The demo viewer page", "tags": ["viewer"],
            "responses": {"200": {"description": "HTML page.", **html}},
        }},
        "/viewer/config": {"get": {
            "summary": "What the viewer needs to know about this deployment", "tags": ["viewer"],
            "responses": {"200": _json(_ref("ViewerConfig"), "Configuration.")},
        }},
        "/viewer/status": {"get": {
            "summary": "Sockets, jobs and rates for the viewer's status panel", "tags": ["viewer"],
            "responses": {"200": _json(_ref("ViewerStatus"), "Status.")},
        }},
        "/viewer/samples/{platform}": {"get": {
            "summary": "A bundled 25-post sample feed", "tags": ["viewer"],
            "parameters": [
                _path("platform", {"type": "string", "enum": ["reddit", "x"]}),
                _query("seed", {"type": "integer", "minimum": 0, "maximum": MAX_SAMPLE_SEED}, required=False),
            ],
            "responses": {"200": _json(_ref("ViewerSample"), "The sample."), **_errors(404, 422)},
        }},
        "/viewer/sample-image/{name}": {"get": {
            "summary": "A generated sample picture", "tags": ["viewer"],
            "parameters": [_path("name", {"type": "string", "pattern": r"^[A-Za-z0-9_-]{1,80}\.jpg$"})],
            "responses": {"200": {"description": "JPEG.", "content": {"image/jpeg": {"schema": {"type": "string"}}}},
                          **_errors(404)},
        }},
        "/viewer/static/{path}": {"get": {
            "summary": "Assets of the viewer page", "tags": ["viewer"],
            "parameters": [_path("path", {"type": "string"})],
            "responses": {"200": {"description": "A file.", **binary}, "404": {"description": "No such file."}},
        }},
    }


def openapi_document(settings: Settings) -> Schema:
    token_mode = settings.auth_mode == "token"
    doc: Schema = {
        "openapi": "3.1.0",
        "info": {
            "title": "DIY-MOD gateway",
            "version": "0.1.0",
            "description": "The HTTP API of the DIY-MOD backend. Completion events travel on the notifier's "
                           "WebSocket (WS /ws/{user_id}), not described here.",
        },
        "servers": [{"url": settings.public_gateway_url.rstrip("/")}],
        "paths": operations(token_mode),
        "components": {"schemas": components()},
    }
    if token_mode:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        doc["security"] = [{"bearer": []}]
    return doc


async def openapi_json(request: Request) -> JSONResponse:
    doc = getattr(request.app.state, "openapi", None)
    if doc is None:
        doc = request.app.state.openapi = openapi_document(request.app.state.settings)
    return JSONResponse(doc, headers={"Cache-Control": "no-cache"})


DOCS_CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])


async def docs_page(request: Request) -> FileResponse:
    return FileResponse(
        DOCS_PAGE,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"},
    )


def docs_static() -> StaticFiles:
    return StaticFiles(directory=DOCS_STATIC)
