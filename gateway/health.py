"""Liveness and readiness."""

from __future__ import annotations

import os
from datetime import datetime

import redis
from starlette.requests import Request

from gateway import apidoc
from gateway.apidoc import DocContext, Paths, Schema
from gateway.responses import JSONResponse


async def ping(request: Request) -> JSONResponse:
    # Same keys as the original; the extension only checks response.ok.
    return JSONResponse(
        {
            "status": "success",
            "message": "DIY-MOD server is running",
            "timestamp": datetime.now().isoformat(),
        }
    )


async def healthz(request: Request) -> JSONResponse:
    try:
        await request.app.state.redis.ping()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        return JSONResponse({"status": "error", "redis": "unreachable", "message": str(exc)}, status_code=503)
    # process: which of several gateway processes answered (shared/serving.py)
    return JSONResponse({"status": "ok", "redis": "ok", "process": os.getpid()})


OPENAPI_SCHEMAS: dict[str, Schema] = {
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {"status": {"type": "string"}, "redis": {"type": "string"}, "message": {"type": "string"},
                       "process": {"type": "integer", "description": "Id of the gateway process that answered."}},
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/ping": {"get": {
            "summary": "Liveness", "tags": ["health"],
            "responses": {"200": apidoc.json_body(apidoc.ref("Success"), "Running.")},
        }},
        "/healthz": {"get": {
            "summary": "Readiness: Redis reachable", "tags": ["health"],
            "responses": {"200": apidoc.json_body(apidoc.ref("Health"), "Ready."),
                          "503": apidoc.json_body(apidoc.ref("Health"), "Redis unreachable.")},
        }},
    }
