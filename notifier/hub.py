"""The hub: which sockets belong to which user, and one shared Redis pub/sub connection.

A user's channel is subscribed when their first socket on this process attaches and unsubscribed
when the last one detaches. Every event on the channel goes to every socket of that user.

Every socket has a position in its user's event log (see ``connection``). That makes three things
gap-free: a client resuming from ``(epoch, offset)`` after a reconnect, a client moving to another
notifier replica, and this process losing its pub/sub connection (it reconnects, resubscribes and
replays each local user's log from the oldest position among that user's sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio as aioredis
from redis._parsers import _AsyncHiredisParser
from redis._parsers.hiredis import NOT_ENOUGH_DATA
from redis.asyncio.client import PubSub

from notifier import metrics
from notifier.connection import Connection
from notifier.directsend import text_frame
from shared import events, keys
from shared.pubsub import next_sharded_message, read_forever
from shared.redisconn import pubsub_client

log = logging.getLogger(__name__)

RECONNECT_DELAY_SECONDS = 0.1
# Sharded pub/sub (Redis Cluster) reads the per-node subscriptions in turns; a short wait per pass
# keeps an event on one node from waiting out another node's slice (measured: bench/cluster_fanout.py).
SHARDED_POLL_SECONDS = 0.02
TOPOLOGY_CHECK_SECONDS = 1.0
# After the node set changes, subscriptions settle on their new nodes some time later; events
# published in between went nowhere. Repair every user once per check for this long.
TOPOLOGY_SETTLE_SECONDS = 5.0
REPLAY_BATCH = 500
GAP_REPAIR_ATTEMPTS = 8
DRAIN_BATCH = 256  # pub/sub replies handled per wake-up before the next health-checked read


@dataclass(frozen=True)
class Attached:
    """Where a socket starts: the log head, and what a resume managed to replay."""

    epoch: str | None
    offset: int
    resumed: bool
    recovered: bool | None
    replayed: int


POSITION = re.compile(r'\{"epoch":"([^"]{1,64})","offset":(\d+),"t":(\d+),')


def hiredis_reader(conn: Any) -> Any:
    """The hiredis reader of a redis-py connection, or None (pure-Python parser, or a redis-py
    whose internals differ: the hub then reads through the connection, which also works)."""
    parser = getattr(conn, "_parser", None)
    if not isinstance(parser, _AsyncHiredisParser):
        return None
    reader = getattr(parser, "_reader", None)
    return reader if reader is not None and hasattr(reader, "gets") else None


def parse_position(payload: str) -> tuple[str, int, float | None] | None:
    """(epoch, offset, publish time ms) of an event. publish_event.lua writes these three keys
    first, so the hot path reads them without decoding the whole event."""
    found = POSITION.match(payload)
    if found is not None:
        return found.group(1), int(found.group(2)), int(found.group(3))
    try:
        event = events.loads(payload)
        return str(event["epoch"]), int(event["offset"]), event.get("t")
    except (KeyError, ValueError, TypeError):
        return None


class Hub:
    """``sharded=True`` on a Redis Cluster: user channels are sharded channels (SSUBSCRIBE), held by
    redis-py's cluster pub/sub with one connection per node that owns a subscribed slot; it moves a
    channel's subscription when its node fails over. Events published while a subscription was
    moving are replayed from the log (the hub repairs every local user when the set of nodes it
    reads from changes). A slot moved by resharding is followed by the hub itself: see
    ``_on_server_sunsubscribe``."""

    def __init__(self, redis_url: str, client: aioredis.Redis, redis_parser: str = "auto", *,
                 sharded: bool = False) -> None:
        self.redis_url = redis_url
        self.redis_parser = redis_parser
        self.redis = client
        self.sharded = sharded
        self._nodes_seen: frozenset[str] = frozenset()
        self._topology_checked = 0.0
        self._unsettled_until = 0.0
        self.sockets: dict[str, set[Connection]] = defaultdict(set)
        self._pubsub_client: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # serialises subscribe/unsubscribe with reconnects
        self._repairing: set[Connection] = set()
        self._resubscribing: set[str] = set()  # users whose channel Redis dropped, until it is back
        self._sockets = 0
        self.connected = asyncio.Event()

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        await self._connect()
        self._reader = asyncio.create_task(self._read_loop(), name="hub-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        await self._disconnect()

    async def _connect(self) -> None:
        self._pubsub_client = pubsub_client(self.redis_url, cluster=self.sharded, parser=self.redis_parser)
        channels = [keys.user_channel(u) for u in self.sockets]
        if self.sharded:
            self._pubsub = self._pubsub_client.pubsub()
            self._resubscribing.clear()  # a reconnect subscribes and repairs every user
            if channels:
                await self._pubsub.ssubscribe(*channels)
        else:
            self._pubsub = self._pubsub_client.pubsub(ignore_subscribe_messages=True)
            # Always hold one subscription so the reader notices a dead server even with no users.
            await self._pubsub.subscribe(keys.PREFIX + ":notifier:keepalive", *channels)
        self.connected.set()

    async def _subscribe(self, channel: str) -> None:
        assert self._pubsub is not None
        if self.sharded:
            await self._pubsub.ssubscribe(channel)  # type: ignore[attr-defined]
        else:
            await self._pubsub.subscribe(channel)

    async def _unsubscribe(self, channel: str) -> None:
        assert self._pubsub is not None
        if self.sharded:
            await self._pubsub.sunsubscribe(channel)  # type: ignore[attr-defined]
        else:
            await self._pubsub.unsubscribe(channel)

    async def _disconnect(self) -> None:
        self.connected.clear()
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._pubsub_client is not None:
            with contextlib.suppress(Exception):
                await self._pubsub_client.aclose()
        self._pubsub = None
        self._pubsub_client = None

    # -- sockets -----------------------------------------------------------------------------
    async def attach(self, conn: Connection, resume_from: tuple[str, int] | None,
                     hello: Callable[[Attached], str]) -> Attached:
        """Register a socket, subscribe its user if needed, and set its position: the log head,
        or the requested position with everything since replayed. The ``hello`` frame goes first,
        then the replayed events; live events that arrive in the meantime are held by the
        connection and flushed after the replay, without duplicates."""
        conn.replaying = True
        async with self._lock:
            conns = self.sockets[conn.user_id]
            first = not conns
            if conn not in conns:
                conns.add(conn)
                self._sockets += 1
                self._count()
            if first and self._pubsub is not None:
                try:
                    await self._subscribe(keys.user_channel(conn.user_id))
                except (redis.ConnectionError, OSError) as exc:
                    log.warning("subscribe failed (%s); the reconnect loop resubscribes", exc)
        replayed: list[str] = []
        try:
            attached = await self._position(conn, resume_from, replayed.append)
            conn.offer(hello(attached))
            for payload in replayed:
                conn.offer(payload)
        finally:
            conn.finish_replay()
        return attached

    async def _position(self, conn: Connection, resume_from: tuple[str, int] | None,
                        sink: Callable[[str], object]) -> Attached:
        epoch, head = await self._log_head(conn.user_id)
        if resume_from is None:
            conn.epoch, conn.offset = epoch, head
            return Attached(epoch, head, resumed=False, recovered=None, replayed=0)
        want_epoch, want_offset = resume_from
        if epoch is None or want_epoch != epoch or want_offset > head or want_offset < 0:
            conn.epoch, conn.offset = epoch, head
            return Attached(epoch, head, resumed=True, recovered=False, replayed=0)
        conn.epoch, conn.offset = epoch, want_offset
        replayed, complete = await self._replay_to(conn, want_offset, sink)
        return Attached(epoch, head, resumed=True, recovered=complete, replayed=replayed)

    async def _replay_to(self, conn: Connection, after: int, sink: Callable[[str], object]) -> tuple[int, bool]:
        """Hand the logged events after ``after`` that ``conn`` has not had to ``sink``, advancing
        its position. Returns (events replayed, whether the log still held all since ``after``)."""
        replayed = 0
        complete = True
        cursor = f"({after}-1"
        first = True
        while True:
            entries = await self.redis.xrange(keys.user_log_key(conn.user_id), min=cursor, max="+",
                                              count=REPLAY_BATCH)
            for entry_id, fields in entries:
                payload = fields[b"p"].decode()
                position = parse_position(payload)
                if position is None:
                    continue
                if first and position[1] != after + 1:
                    complete = False  # the log was trimmed past the requested position
                first = False
                if position[0] == conn.epoch and position[1] <= conn.offset:
                    continue
                conn.epoch, conn.offset = position[0], position[1]
                conn.last_t = max(conn.last_t, position[2] or 0.0)
                sink(payload)
                replayed += 1
                cursor = f"({entry_id.decode()}"
            if len(entries) < REPLAY_BATCH:
                break
        metrics.replayed.inc(replayed)
        return replayed, complete

    async def detach(self, conn: Connection) -> None:
        async with self._lock:
            conns = self.sockets.get(conn.user_id)
            if conns is None or conn not in conns:
                return
            conns.discard(conn)
            self._sockets -= 1
            if not conns:
                del self.sockets[conn.user_id]
                self._resubscribing.discard(conn.user_id)
                if self._pubsub is not None:
                    with contextlib.suppress(redis.ConnectionError, OSError):
                        await self._unsubscribe(keys.user_channel(conn.user_id))
            self._count()

    def _count(self) -> None:
        metrics.sockets.set(self._sockets)
        metrics.users.set(len(self.sockets))

    def socket_count(self) -> int:
        # Kept as a counter: summing over every user on each connect made connect storms quadratic.
        return self._sockets

    def all_connections(self) -> list[Connection]:
        return [c for conns in self.sockets.values() for c in conns]

    # -- events ------------------------------------------------------------------------------
    def fan_out(self, user_id: str, payload: str) -> int:
        """Send one event to every socket of a user; returns the number of sockets reached."""
        position = parse_position(payload)
        if position is None:
            log.error("dropping malformed event for %s", user_id)
            return 0
        epoch, offset, published_ms = position
        reached = 0
        wire = text_frame(payload.encode())
        for conn in list(self.sockets.get(user_id, ())):
            if conn.deliver(epoch, offset, payload, published_ms or 0.0, wire):
                reached += 1
            elif conn.needs_repair and conn not in self._repairing:
                self._repairing.add(conn)
                asyncio.get_running_loop().create_task(self._fill_gap(conn))
        metrics.frames_out.inc(reached)
        if isinstance(published_ms, int | float):
            metrics.fanout_latency.observe(max(0.0, time.time() - published_ms / 1000))
        return reached

    async def _read_loop(self) -> None:
        if self.sharded:
            await read_forever(self._next_sharded, self._on_sharded, self._reconnect, "hub")
            return
        while True:
            try:
                if self._pubsub is None:
                    raise redis.ConnectionError("no pub/sub connection")
                # get_message runs redis-py's health checks and bookkeeping; what else has already
                # arrived is then read without them (_drain_buffered).
                message = await self._pubsub.get_message(timeout=1.0)
                if message is not None and message.get("type") == "message":
                    self._on_message(message["channel"], message["data"])
                await self._drain_buffered(self._pubsub)
            except asyncio.CancelledError:
                raise
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                log.warning("pub/sub connection lost (%s); reconnecting", exc)
                await self._reconnect()
            except Exception:
                log.exception("unexpected error in hub reader; continuing")

    def _on_sharded(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "smessage":
            self._on_message(message["channel"], message["data"])
        elif kind == "sunsubscribe":
            self._on_server_sunsubscribe(keys.channel_user(message["channel"].decode()))
        elif kind == "ssubscribe" and self._resubscribing:
            user_id = keys.channel_user(message["channel"].decode())
            if user_id in self._resubscribing:
                # Subscribed on the slot's new owner: what was published before this is in the log.
                self._resubscribing.discard(user_id)
                asyncio.get_running_loop().create_task(self._repair_resubscribed(user_id))

    def _on_server_sunsubscribe(self, user_id: str) -> None:
        """Redis 7 unsubscribes every shard channel of a slot its node stops serving (the slot was
        migrated: CLUSTER SETSLOT NODE) and says so with a ``sunsubscribe``. redis-py (8.2) keeps
        such a channel on its books, as subscribed on the old node, and never moves it: events
        published on the new owner would reach nobody. So a user who still has sockets here is
        subscribed again (redis-py sends it to the old node, which answers MOVED, and redis-py
        re-routes it to the new owner) and repaired from the log once the new owner confirms.
        The ``sunsubscribe`` answering our own unsubscribe finds the user gone (or back, which
        costs one redundant subscribe and repair)."""
        if user_id in self.sockets and user_id not in self._resubscribing:
            self._resubscribing.add(user_id)
            asyncio.get_running_loop().create_task(self._resubscribe(user_id))

    async def _resubscribe(self, user_id: str) -> None:
        async with self._lock:
            if user_id not in self._resubscribing or self._pubsub is None:
                return
            try:
                await self._subscribe(keys.user_channel(user_id))
            except (redis.ConnectionError, OSError) as exc:
                self._resubscribing.discard(user_id)
                log.warning("resubscribing %s failed (%s); the reconnect loop resubscribes", user_id, exc)

    async def _repair_resubscribed(self, user_id: str) -> None:
        replayed = await self.repair(user_id)
        log.info("Redis dropped the subscription of %s (its slot moved); resubscribed and replayed %d events",
                 user_id, replayed)

    async def _next_sharded(self) -> dict[str, Any] | None:
        message = await next_sharded_message(self._pubsub, SHARDED_POLL_SECONDS)
        now = time.monotonic()
        if now - self._topology_checked >= TOPOLOGY_CHECK_SECONDS:
            self._topology_checked = now
            nodes = frozenset(self._pubsub.node_pubsub_mapping)  # type: ignore[attr-defined]
            if self._nodes_seen and nodes != self._nodes_seen:
                # A slot moved or a primary failed over: events published meanwhile went nowhere.
                self._unsettled_until = now + TOPOLOGY_SETTLE_SECONDS
            self._nodes_seen = nodes
            if now < self._unsettled_until:
                asyncio.get_running_loop().create_task(self._repair_all("cluster topology changed"))
        return message

    async def _repair_all(self, why: str) -> None:
        started = time.monotonic()
        repaired = 0
        for user_id in list(self.sockets):
            repaired += await self.repair(user_id)
        log.info("%s; replayed %d events for %d users in %.0f ms", why, repaired,
                 len(self.sockets), (time.monotonic() - started) * 1000)

    def _on_message(self, channel: bytes, data: bytes) -> None:
        metrics.events_in.inc()
        self.fan_out(keys.channel_user(channel.decode()), data.decode())

    async def _drain_buffered(self, pubsub: PubSub) -> None:
        """Handle the replies already received on the pub/sub connection, straight from the
        connection. Per message, get_message costs a health-check test, a retry wrapper, a timeout
        context and a message dict: about 9 us against 5 us this way, at thousands of events per
        second a good part of the notifier's time (py-spy during bench/notifier_sweep.py). With
        hiredis, the replies already parsed are taken from its reader in a plain loop, without a
        coroutine (and redis-py's push-handler logging) per message. Bounded by what has arrived
        and by DRAIN_BATCH, after which get_message runs again."""
        conn = pubsub.connection
        reader = hiredis_reader(conn)
        handled = 0
        while handled < DRAIN_BATCH:
            if conn is None or not await conn.can_read():
                return
            reply = reader.gets() if reader is not None else NOT_ENOUGH_DATA
            if reply is NOT_ENOUGH_DATA:  # not parsed yet (or no hiredis): let the connection read it
                reply = await conn.read_response(push_request=True, disconnect_on_error=False)
            while True:
                handled += 1
                if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
                    self._on_message(reply[1], reply[2])
                elif isinstance(reply, Exception):
                    raise reply
                elif reply not in pubsub.health_check_response:
                    await pubsub.handle_message(reply, ignore_subscribe_messages=True)  # (un)subscribe replies
                if reader is None or handled >= DRAIN_BATCH:
                    break
                reply = reader.gets()
                if reply is NOT_ENOUGH_DATA:  # redis-py's reader returns this sentinel, not False
                    break

    async def _reconnect(self) -> None:
        async with self._lock:
            await self._disconnect()
        # The lock is held per attempt only, so sockets can still attach (and be told that Redis
        # is unavailable) during an outage instead of queueing behind it.
        while True:
            async with self._lock:
                try:
                    await self._connect()
                    break
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    await self._disconnect()
            await asyncio.sleep(RECONNECT_DELAY_SECONDS)
        metrics.pubsub_reconnects.inc()
        await self._repair_all("pub/sub reconnected")

    async def _fill_gap(self, conn: Connection) -> None:
        """Replay the events a socket missed (it saw an offset jump), then release what it held."""
        try:
            for attempt in range(GAP_REPAIR_ATTEMPTS):
                if conn.closing:
                    return
                try:
                    replayed, _ = await self._replay_to(conn, conn.offset, conn.offer)
                    log.info("filled a gap of %d events for socket %s of %s", replayed, conn.id, conn.user_id)
                    conn.finish_replay()
                    return
                except (redis.ConnectionError, redis.TimeoutError) as exc:
                    log.warning("gap repair for %s failed (%s); retrying", conn.user_id, exc)
                    await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
            log.error("could not fill a gap for %s; delivering past it", conn.user_id)
            conn.finish_replay(accept_gaps=True)
        finally:
            self._repairing.discard(conn)

    async def repair(self, user_id: str) -> int:
        """Deliver what the user's log holds past each of the user's sockets' positions."""
        conns = [c for c in self.sockets.get(user_id, ()) if not c.closing]
        if not conns:
            return 0
        try:
            total = 0
            head = await self._log_head(user_id) if self.sharded else None
            for conn in conns:
                if head is not None and head[0] is not None and conn.epoch == head[0] and conn.offset > head[1]:
                    # The log's head moved backwards: a failover lost entries the old primary had
                    # published, and newer events reuse their offsets. Resume after the newest
                    # entry this socket had by publish time, so those newer events are replayed.
                    resume_at = await self._offset_before(user_id, conn.last_t, head[1])
                    log.warning("event log of %s regressed from %d to %d; resuming after %d", user_id,
                                conn.offset, head[1], resume_at)
                    conn.offset = resume_at
                if conn.epoch is None:
                    # No event existed when it attached: everything in the log is new to it.
                    conn.epoch = await self._current_epoch(user_id)
                    conn.offset = 0
                if conn.epoch is not None:
                    replayed, _ = await self._replay_to(conn, conn.offset, conn.offer)
                    total += replayed
            return total
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("could not repair %s: %s", user_id, exc)
            return 0

    async def _offset_before(self, user_id: str, t: float, head: int) -> int:
        """Offset of the newest log entry published at or before ``t`` (ms), looking back at most
        REPLAY_BATCH entries from the head; ``head - REPLAY_BATCH`` when all of those are newer."""
        entries = await self.redis.xrevrange(keys.user_log_key(user_id), max="+", min="-", count=REPLAY_BATCH)
        for entry_id, fields in entries:
            if float(fields[b"t"]) <= t:
                return int(entry_id.split(b"-", 1)[0])
        return max(0, head - len(entries))

    async def _log_head(self, user_id: str) -> tuple[str | None, int]:
        """(epoch, offset of the newest event) of the user's log; (None, 0) before any event."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(keys.user_epoch_key(user_id))
        pipe.get(keys.user_seq_key(user_id))
        raw_epoch, raw_seq = await pipe.execute()
        return (raw_epoch.decode() if raw_epoch else None), int(raw_seq or 0)

    async def _current_epoch(self, user_id: str) -> str | None:
        raw = await self.redis.get(keys.user_epoch_key(user_id))
        return raw.decode() if raw else None
