"""One client socket: a bounded send queue drained by its own writer task.

A client that cannot keep up fills its queue and is closed with ``CLOSE_SLOW``; nobody else waits
for it, because the hub only ever puts frames on queues and never awaits a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time

from starlette.websockets import WebSocket, WebSocketState

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001  # server shutting down: reconnect elsewhere
CLOSE_POLICY = 1008  # refused: bad user id, too many sockets
CLOSE_SLOW = 4001  # send queue overflowed
CLOSE_IDLE = 4002  # no frame from the client within two heartbeat intervals

_ids = itertools.count(1)


class Connection:
    def __init__(self, websocket: WebSocket, user_id: str, queue_size: int) -> None:
        self.id = next(_ids)
        self.websocket = websocket
        self.user_id = user_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.last_seen = time.monotonic()
        self.closing = False
        self._writer: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    def offer(self, frame: str) -> bool:
        """Queue a frame without waiting. Returns False (and starts closing) when full."""
        if self.closing:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("closing slow socket %s of %s: send queue full", self.id, self.user_id)
            self.close_soon(CLOSE_SLOW, "client too slow: send queue overflowed")
            return False
        return True

    def start_writer(self) -> None:
        self._writer = asyncio.create_task(self._write_loop(), name=f"ws-writer-{self.id}")

    async def _write_loop(self) -> None:
        try:
            while True:
                frame = await self.queue.get()
                await self.websocket.send_text(frame)
        except (RuntimeError, OSError):
            pass  # the socket went away; the reader loop notices and detaches
        except Exception as exc:  # websockets' ConnectionClosed and friends
            log.debug("writer of %s stopped: %s", self.id, exc)

    def close_soon(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        asyncio.get_running_loop().create_task(self.close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        self.closing = True
        if self._writer is not None:
            self._writer.cancel()
        if self.websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.websocket.close(code=code, reason=reason), timeout=2)

    async def stop_writer(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
