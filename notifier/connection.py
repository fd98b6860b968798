"""One client socket: a bounded send queue drained by a writer task, and the socket's position in
its user's event log.

A client that cannot keep up fills its queue and is closed with ``CLOSE_SLOW``; nobody else waits
for it, because the hub only ever puts frames on queues and never awaits a socket.

Memory per idle socket matters (a process holds tens of thousands): the queue is a plain list and
the writer task exists only while frames are waiting. With nothing waiting and the socket's
transport taking data, a frame is written straight to it (``notifier.directsend``): no task per
frame, which is what one event to one socket usually is.

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
from notifier.directsend import FrameWriter, text_frame

log = logging.getLogger(__name__)

CLOSE_GOING_AWAY = 1001  # server shutting down: reconnect elsewhere
CLOSE_POLICY = 1008  # refused: bad user id, too many sockets, not text
CLOSE_TRY_AGAIN = 1013  # this process is full: reconnect (elsewhere)
CLOSE_SLOW = 4001  # send queue overflowed
CLOSE_IDLE = 4002  # no frame from the client within two heartbeat intervals
CLOSE_UNAUTHORISED = 4401  # missing, invalid or expired token

_ids = itertools.count(1)


class Connection:
    # Slots: no per-instance __dict__ on an object a process holds tens of thousands of.
    __slots__ = ("_direct", "_writer", "closing", "epoch", "id", "last_seen", "last_t", "needs_repair", "offset",
                 "pending", "queue", "queue_size", "replaying", "token_expires_at", "user_id", "websocket")

    def __init__(self, websocket: WebSocket, user_id: str, queue_size: int,
                 direct: FrameWriter | None = None) -> None:
        self.id = next(_ids)
        self.websocket = websocket
        self._direct = direct
        self.user_id = user_id
        self.queue: list[str] = []
        self.queue_size = queue_size
        self.last_seen = time.monotonic()
        self.closing = False
        self.epoch: str | None = None
        self.offset = 0
        self.last_t = 0.0  # publish time (ms) of the newest event this socket had
        self.replaying = False
        self.pending: list[tuple[str, int, str, float]] = []
        self.needs_repair = False
        self.token_expires_at: float | None = None
        self._writer: asyncio.Task[None] | None = None

    def touch(self) -> None:
        self.last_seen = time.monotonic()

    # -- events --------------------------------------------------------------------------------
    def deliver(self, epoch: str, offset: int, payload: str, t: float = 0.0, wire: bytes | None = None) -> bool:
        """Send or queue an event if this socket has not had it yet. Returns True if it did.
        ``wire``: the payload already encoded as a text frame (once per event, for all sockets).

        An event past a gap (offsets are contiguous per user) is held, and ``needs_repair`` is
        set: the hub then replays the gap from the log before releasing it. ``t`` is the event's
        publish time (ms): an old offset with a newer time is not a duplicate but a reused offset,
        which happens when a Redis Cluster failover lost the newest log entries.
        """
        if self.replaying:
            self.pending.append((epoch, offset, payload, t))
            return False
        if epoch == self.epoch and offset <= self.offset:
            if t <= self.last_t:
                return False
            self.offset = offset - 1  # the log regressed: carry on from its new head
        # A socket that attached before its user had any event must see offset 1 first (a log and
        # its counter are created together); a later first offset means events were lost on the way.
        if (epoch == self.epoch or self.epoch is None) and offset > self.offset + 1:
            self.replaying = True
            self.needs_repair = True
            self.pending.append((epoch, offset, payload, t))
            return False
        self.epoch, self.offset = epoch, offset
        if t > self.last_t:
            self.last_t = t
        return self.offer(payload, wire)

    def finish_replay(self, *, accept_gaps: bool = False) -> int:
        """Leave replay mode and flush the live events that arrived meanwhile, in offset order.

        ``accept_gaps``: the log could not be read, so a gap is delivered over rather than held.
        """
        self.replaying = False
        self.needs_repair = False
        pending, self.pending = sorted(self.pending, key=lambda e: (e[0], e[1])), []
        delivered = 0
        for epoch, offset, payload, t in pending:
            if accept_gaps and epoch == self.epoch and offset > self.offset + 1:
                self.offset = offset - 1
            if self.deliver(epoch, offset, payload, t):
                delivered += 1
        return delivered

    # -- sending -------------------------------------------------------------------------------
    def offer(self, frame: str, wire: bytes | None = None) -> bool:
        """Send a frame without waiting: written at once when nothing is queued before it and the
        transport takes it, else queued. Returns False (and starts closing) when the queue is full."""
        if self.closing:
            return False
        if self._direct is not None and self._writer is None and not self.queue:
            if self._direct(wire if wire is not None else text_frame(frame.encode())):
                return True
        if len(self.queue) >= self.queue_size:
            log.warning("closing slow socket %s of %s: send queue full", self.id, self.user_id)
            metrics.slow_closes.inc()
            self.close_soon(CLOSE_SLOW, "client too slow: send queue overflowed")
            return False
        self.queue.append(frame)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return True

    def queued(self) -> int:
        return len(self.queue)

    async def _drain(self) -> None:
        try:
            while self.queue:
                frame = self.queue.pop(0)  # at most WS_SEND_QUEUE items: a cheap shift
                await self.websocket.send_text(frame)
        except (RuntimeError, OSError):
            self.queue.clear()  # the socket went away; the reader loop notices and detaches
        except Exception as exc:  # websockets' ConnectionClosed and friends
            self.queue.clear()
            log.debug("writer of %s stopped: %s", self.id, exc)
        finally:
            self._writer = None


    def close_soon(self, code: int, reason: str) -> None:
        if self.closing:
            return
        self.closing = True
        asyncio.get_running_loop().create_task(self.close(code, reason))

    async def close(self, code: int, reason: str) -> None:
        self.closing = True
        self.queue.clear()
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
