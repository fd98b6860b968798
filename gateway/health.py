"""Liveness and readiness."""

from __future__ import annotations

from datetime import datetime

import redis
from starlette.requests import Request

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
    return JSONResponse({"status": "ok", "redis": "ok"})
