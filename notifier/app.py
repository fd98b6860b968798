"""The notifier: holds client sockets and fans each user's events out to all of them.

Connect: ``WS /ws/{user_id}``; optional query parameters ``epoch`` and ``offset`` resume from the
last event the client saw, and ``token`` carries the signed token in ``AUTH_MODE=token``.
The first frame is ``connected {epoch, offset, resumed, recovered, replayed}``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import redis
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from notifier import metrics
from notifier.connection import (
    CLOSE_GOING_AWAY,
    CLOSE_IDLE,
    CLOSE_POLICY,
    CLOSE_TRY_AGAIN,
    CLOSE_UNAUTHORISED,
    Connection,
)
from notifier.directsend import frame_writer
from notifier.hub import Attached, Hub
from notifier.protocol import Protocol, error_frame, frame, now_iso
from shared import redisconn, speedups
from shared.auth import AuthError, TokenVerifier
from shared.config import Settings, load_settings
from shared.limits import MAX_USER_ID_CHARS
from shared.metrics_export import exposition

log = logging.getLogger("notifier")

FRAMES_PER_TURN = 16  # frames one socket handles before the event loop turns to others (serve)


def resume_position(params: Any) -> tuple[str, int] | None:
    epoch, offset = params.get("epoch"), params.get("offset")
    if not epoch or offset is None:
        return None
    try:
        return str(epoch)[:64], int(offset)
    except ValueError:
        return None


def connected_frame(attached: Attached) -> str:
    return frame("connected", {
        "epoch": attached.epoch, "offset": attached.offset, "resumed": attached.resumed,
        "recovered": attached.recovered, "replayed": attached.replayed,
    })


async def authorise(websocket: WebSocket, settings: Settings, user_id: str, token: str | None) -> float | None:
    """Token expiry in token mode, None in open mode. Raises AuthError."""
    if settings.auth_mode == "open":
        return None
    verifier: TokenVerifier = websocket.app.state.verifier
    identity = verifier.verify(token)
    if identity.user_id != user_id:
        raise AuthError("the token does not belong to this user")
    return identity.expires_at


async def socket_endpoint(websocket: WebSocket) -> None:
    app = websocket.app
    hub: Hub = app.state.hub
    settings: Settings = app.state.settings
    user_id = websocket.path_params["user_id"]
    await websocket.accept(headers=[(b"x-process", str(os.getpid()).encode())])
    if not user_id or len(user_id) > MAX_USER_ID_CHARS or not user_id.isprintable():
        await websocket.close(CLOSE_POLICY, "invalid user id")
        return
    try:
        expires_at = await authorise(websocket, settings, user_id, websocket.query_params.get("token"))
    except AuthError as exc:
        metrics.auth_failures.inc()
        await websocket.close(CLOSE_UNAUTHORISED, str(exc)[:100])
        return
    if hub.socket_count() >= settings.ws_max_sockets_per_process:
        await websocket.close(CLOSE_TRY_AGAIN, "notifier full, reconnect elsewhere")
        return
    if len(hub.sockets.get(user_id, ())) >= settings.ws_max_sockets_per_user:
        await websocket.close(CLOSE_POLICY, "too many sockets for this user")
        return
    conn = Connection(websocket, user_id, settings.ws_send_queue, frame_writer(websocket.scope))
    conn.token_expires_at = expires_at
    try:
        attached = await hub.attach(conn, resume_position(websocket.query_params), connected_frame)
        log.debug("socket %s of %s attached at %s", conn.id, user_id, attached)
        await serve(conn, app.state.protocol, hub, settings)
    except (WebSocketDisconnect, RuntimeError):
        pass
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        log.warning("closing socket %s of %s: Redis unavailable (%s: %s)", conn.id, user_id, type(exc).__name__, exc)
        await conn.close(CLOSE_TRY_AGAIN, "storage unavailable, reconnect shortly")
    finally:
        await hub.detach(conn)
        await conn.stop_writer()


async def serve(conn: Connection, protocol: Protocol, hub: Hub, settings: Settings) -> None:
    websocket = conn.websocket
    handled = 0
    while True:
        message = await websocket.receive()
        handled += 1
        if handled % FRAMES_PER_TURN == 0:
            # One read from a client can hold thousands of small frames, and receive() hands queued ones over
            # without suspending: a flooding socket held the event loop for seconds and every other socket's
            # events waited (tests/reliability/test_hostile_ws.py). Let the others run between batches.
            await asyncio.sleep(0)
        if message["type"] == "websocket.disconnect":
            return
        text = message.get("text")
        if text is None:
            await conn.close(CLOSE_POLICY, "text frames only")
            return
        conn.touch()
        parsed, error = protocol.parse(text)
        if parsed is None:
            conn.offer(error or error_frame("bad frame"))
            continue
        kind = parsed["type"]
        data = parsed.get("data") if isinstance(parsed.get("data"), dict) else {}
        if kind == "resume":
            position = resume_position(data)
            if position is None:
                conn.offer(error_frame("resume needs data: {epoch, offset}"))
                continue
            await hub.detach(conn)
            await hub.attach(conn, position, connected_frame)
            continue
        if kind == "refresh_token":
            try:
                conn.token_expires_at = await authorise(websocket, settings, conn.user_id, data.get("token"))
            except AuthError as exc:
                metrics.auth_failures.inc()
                conn.offer(error_frame(f"token refused: {exc}"))
                continue
            conn.offer(frame("token_refreshed", {"expires_at": conn.token_expires_at}))
            continue
        try:
            replies = await protocol.handle(conn.user_id, parsed)
        except (redis.ConnectionError, redis.TimeoutError):
            replies = [error_frame("storage temporarily unavailable, retry")]
        for reply in replies:
            conn.offer(reply)


async def heartbeat(hub: Hub, interval: float) -> None:
    """Ping idle sockets; close those silent for two intervals (dead peers, half-open TCP) and
    those whose token expired without a refresh."""
    while True:
        await asyncio.sleep(min(interval / 3, 5.0))
        now = time.monotonic()
        wall = time.time()
        ping = frame("ping", timestamp=now_iso())
        depth = 0
        for conn in hub.all_connections():
            depth += conn.queued()
            idle = now - conn.last_seen
            if conn.token_expires_at is not None and wall > conn.token_expires_at:
                metrics.auth_failures.inc()
                conn.close_soon(CLOSE_UNAUTHORISED, "token expired")
            elif idle > 2 * interval:
                metrics.idle_closes.inc()
                conn.close_soon(CLOSE_IDLE, "no heartbeat")
            elif idle > interval:
                conn.offer(ping)
        metrics.send_queue_depth.set(depth)


async def healthz(request: Request) -> JSONResponse:
    hub: Hub = request.app.state.hub
    ok = hub.connected.is_set()
    try:
        await request.app.state.redis.ping()
    except (redis.ConnectionError, redis.TimeoutError):
        ok = False
    body = {"status": "ok" if ok else "error", "sockets": hub.socket_count(), "users": len(hub.sockets),
            "process": os.getpid()}
    return JSONResponse(body, status_code=200 if ok else 503)


async def metrics_endpoint(request: Request) -> Response:
    return Response(exposition(metrics.registry, request.app.state.settings), media_type=CONTENT_TYPE_LATEST)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        url = settings.require_redis_url()
        # Reconnect storms put thousands of attaches in flight at once; each needs one short round
        # trip. Let them queue for a connection rather than refuse sockets while Redis is healthy.
        client = redisconn.async_client(url, max_connections=256, pool_timeout=30, cluster=settings.redis_cluster,
                                        parser=settings.redis_parser)
        hub = Hub(url, client, settings.redis_parser, sharded=settings.redis_cluster)
        await hub.start()
        app.state.redis = client
        app.state.hub = hub
        app.state.protocol = Protocol(client, settings.job_ttl_seconds)
        beat = asyncio.create_task(heartbeat(hub, settings.heartbeat_seconds))
        log.info("notifier process %d: %s", os.getpid(), speedups.describe_server(settings, client))
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
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings) if settings.auth_mode == "token" else None
    return app


def create_asgi_app() -> Starlette:
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    return create_app(settings)
