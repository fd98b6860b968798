"""One client socket: a bounded send queue drained by its own writer task, and the socket's
position in its user's event log.

A client that cannot keep up fills its queue and is closed with ``CLOSE_SLOW``; nobody else waits
for it, because the hub only ever puts frames on queues and never awaits a socket.

Position: each event carries ``(epoch, offset)``. A socket delivers an event only if it is past
the last one it delivered, so a replay that overlaps the live stream sends nothing twice. While a
replay runs, live events wait in ``pending`` and are flushed after it, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time

from starlette.websockets import WebSocket, WebSocketState

from notifier import metrics

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001  # server shutting down: reconnect elsewhere
CLOSE_POLICY = 1008  # refused: bad user id, too many sockets, not text
CLOSE_TRY_AGAIN = 1013  # this process is full: reconnect (elsewhere)
CLOSE_SLOW = 4001  # send queue overflowed
CLOSE_IDLE = 4002  # no frame from the client within two heartbeat intervals
CLOSE_UNAUTHORISED = 4401  # missing, invalid or expired token

_ids = itertools.count(1)


class Connection:
    def __init__(self, websocket: WebSocket, user_id: str, queue_size: int) -> None:
        self.id = next(_ids)
        self.websocket = websocket
        self.user_id = user_id
        self.queue: asyncio.Queue[str] = asyncio.Queue(maxsize=queue_size)
        self.last_seen = time.monotonic()
        self.closing = False
        self.epoch: str | None = None
        self.offset = 0
        self.replaying = False
        self.pending: list[tuple[str, int, str]] = []
        self.token_expires_at: float | None = None
        self._writer: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    # -- events --------------------------------------------------------------------------------
    def deliver(self, epoch: str, offset: int, payload: str) -> bool:
        """Queue an event if this socket has not had it yet. Returns True if queued."""
        if self.replaying:
            self.pending.append((epoch, offset, payload))
            return False
        if epoch == self.epoch and offset <= self.offset:
            return False
        self.epoch, self.offset = epoch, offset
        return self.offer(payload)

    def finish_replay(self) -> int:
        """Leave replay mode and flush the live events that arrived meanwhile."""
        self.replaying = False
        pending, self.pending = self.pending, []
        return sum(1 for epoch, offset, payload in pending if self.deliver(epoch, offset, payload))

    # -- sending -------------------------------------------------------------------------------
    def offer(self, frame: str) -> bool:
        """Queue a frame without waiting. Returns False (and starts closing) when full."""
        if self.closing:
            return False
        try:
            self.queue.put_nowait(frame)
        except asyncio.QueueFull:
            log.warning("closing slow socket %s of %s: send queue full", self.id, self.user_id)
            metrics.slow_closes.inc()
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
