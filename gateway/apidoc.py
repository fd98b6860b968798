"""Building blocks for the OpenAPI operations that each route module declares next to its handlers.

A route module exposes ``OPENAPI_SCHEMAS`` (the component schemas it owns) and
``openapi_paths(doc: DocContext)`` (its ``path -> method -> operation``); ``gateway/openapi.py`` only
assembles them. Bounds come from ``shared.limits``, the same constants the handlers enforce.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.limits import MAX_USER_ID_CHARS

Schema = dict[str, Any]
Paths = dict[str, dict[str, Schema]]

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


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: Schema, description: str) -> Schema:
    """A response whose body is JSON of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def errors(*codes: int) -> dict[str, Schema]:
    return {str(code): json_body(ref("Error"), ERRORS[code]) for code in codes}


def string(max_len: int | None = None, min_len: int | None = None, **extra: Any) -> Schema:
    out: Schema = {"type": "string", **extra}
    if max_len is not None:
        out["maxLength"] = max_len
    if min_len is not None:
        out["minLength"] = min_len
    return out


def request_body(schema: Schema, description: str = "") -> Schema:
    out: Schema = {"required": True, "content": {"application/json": {"schema": schema}}}
    if description:
        out["description"] = description
    return out


def query(name: str, schema: Schema, *, required: bool, description: str = "") -> Schema:
    return {"name": name, "in": "query", "required": required, "schema": schema, "description": description}


def path_param(name: str, schema: Schema, description: str = "") -> Schema:
    return {"name": name, "in": "path", "required": True, "schema": schema, "description": description}


OBJECT: Schema = {"type": "object"}
USER_ID = string(MAX_USER_ID_CHARS, 1, description="The extension's user id (trusted in open mode).")
BINARY: Schema = {"content": {"application/octet-stream": {"schema": {"type": "string"}}}}
HTML: Schema = {"content": {"text/html": {"schema": {"type": "string"}}}}
TEXT: Schema = {"content": {"text/plain": {"schema": {"type": "string"}}}}

# Schemas every module's operations may refer to.
COMMON_SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["status", "message"],
        "properties": {"status": {"const": "error"}, "message": {"type": "string"}},
    },
    "Success": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"const": "success"}, "message": {"type": "string"}},
    },
}


def static_files_operation(summary: str, tag: str) -> Schema:
    """GET of a mounted static folder (``{path}`` below the mount)."""
    return {
        "summary": summary, "tags": [tag],
        "parameters": [path_param("path", {"type": "string"})],
        "responses": {"200": {"description": "A file.", **BINARY}, "404": {"description": "No such file."}},
    }


@dataclass(frozen=True)
class DocContext:
    """What varies between deployments: in token mode the token names the user."""

    token_mode: bool

    @property
    def user_query(self) -> Schema:
        return query("user_id", USER_ID, required=not self.token_mode)

    @property
    def user_errors(self) -> tuple[int, ...]:
        return (400, 401, 403, 422, 503) if self.token_mode else (400, 422, 503)

    @property
    def body_errors(self) -> tuple[int, ...]:
        return (*self.user_errors, 408, 413)

    def user_body(self, name: str) -> Schema:
        """A request schema whose ``user_id`` is required in open mode (the token names the user otherwise)."""
        if self.token_mode:
            return ref(name)
        return {"allOf": [ref(name), {"required": ["user_id"]}]}
