"""The notifier: holds client sockets and fans each user's events out to all of them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import redis
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from notifier.connection import CLOSE_GOING_AWAY, CLOSE_IDLE, CLOSE_POLICY, Connection
from notifier.hub import Hub
from notifier.protocol import Protocol, error_frame, frame, now_iso
from shared import redisconn
from shared.config import Settings, load_settings

log = logging.getLogger("notifier")

MAX_SOCKETS_PER_USER = 32
MAX_SOCKETS_PER_PROCESS = 25_000
MAX_USER_ID_LEN = 256


async def socket_endpoint(websocket: WebSocket) -> None:
    app = websocket.app
    hub: Hub = app.state.hub
    settings: Settings = app.state.settings
    user_id = websocket.path_params["user_id"]
    await websocket.accept()
    if not user_id or len(user_id) > MAX_USER_ID_LEN or not user_id.isprintable():
        await websocket.close(CLOSE_POLICY, "invalid user id")
        return
    if hub.socket_count() >= MAX_SOCKETS_PER_PROCESS:
        await websocket.close(CLOSE_GOING_AWAY, "notifier full, reconnect elsewhere")
        return
    if len(hub.sockets.get(user_id, ())) >= MAX_SOCKETS_PER_USER:
        await websocket.close(CLOSE_POLICY, "too many sockets for this user")
        return
    conn = Connection(websocket, user_id, settings.ws_send_queue)
    conn.start_writer()
    await hub.attach(conn)
    protocol: Protocol = app.state.protocol
    try:
        while True:
            text = await websocket.receive_text()
            conn.touch()
            try:
                replies = await protocol.handle(user_id, text)
            except (redis.ConnectionError, redis.TimeoutError):
                replies = [error_frame("storage temporarily unavailable, retry")]
            for reply in replies:
                conn.offer(reply)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except KeyError:
        # A binary frame: not part of the protocol.
        await conn.close(CLOSE_POLICY, "text frames only")
    finally:
        await hub.detach(conn)
        await conn.stop_writer()


async def heartbeat(hub: Hub, interval: float) -> None:
    """Ping idle sockets; close those silent for two intervals (dead peers, half-open TCP)."""
    while True:
        await asyncio.sleep(interval / 3)
        now = time.monotonic()
        ping = frame("ping", timestamp=now_iso())
        for conn in hub.all_connections():
            idle = now - conn.last_seen
            if idle > 2 * interval:
                conn.close_soon(CLOSE_IDLE, "no heartbeat")
            elif idle > interval:
                conn.offer(ping)


async def healthz(request: Request) -> JSONResponse:
    hub: Hub = request.app.state.hub
    ok = hub.connected.is_set()
    try:
        await request.app.state.redis.ping()
    except (redis.ConnectionError, redis.TimeoutError):
        ok = False
    body = {"status": "ok" if ok else "error", "sockets": hub.socket_count(), "users": len(hub.sockets),
            **hub.stats}
    return JSONResponse(body, status_code=200 if ok else 503)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = settings.require_redis_url()
        client = redisconn.async_client(url)
        hub = Hub(url, client)
        await hub.start()
        app.state.redis = client
        app.state.hub = hub
        app.state.protocol = Protocol(client, settings.job_ttl_seconds)
        beat = asyncio.create_task(heartbeat(hub, settings.heartbeat_seconds))
        if settings.auth_mode == "open":
            log.warning("AUTH_MODE=open: the user id in the socket path is trusted (development only)")
        try:
            yield
        finally:
            beat.cancel()
            # Going away: clients reconnect to another replica and resume from the event log.
            await asyncio.gather(
                *(c.close(CLOSE_GOING_AWAY, "server shutting down") for c in hub.all_connections()),
                return_exceptions=True,
            )
            await hub.stop()
            await client.aclose()

    app = Starlette(
        routes=[
            WebSocketRoute("/ws/{user_id}", socket_endpoint),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def create_asgi_app() -> Starlette:
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return create_app(settings)
