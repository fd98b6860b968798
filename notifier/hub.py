"""The hub: which sockets belong to which user, and one shared Redis pub/sub connection.

A user's channel is subscribed when their first socket on this process attaches and unsubscribed
when the last one detaches. Every event on the channel goes to every socket of that user.

The pub/sub connection is watched: when it drops, the hub reconnects, resubscribes every local
user and replays from each user's event log whatever was published meanwhile (tracked by the last
offset seen per user), so a Redis blip loses no event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from notifier.connection import Connection
from shared import events, keys

log = logging.getLogger(__name__)

RECONNECT_DELAY_SECONDS = 0.2


class Hub:
    def __init__(self, redis_url: str, client: aioredis.Redis) -> None:
        self.redis_url = redis_url
        self.redis = client
        self.sockets: dict[str, set[Connection]] = defaultdict(set)
        self.last_seen: dict[str, tuple[str, int]] = {}  # user -> (epoch, offset) last fanned out
        self._pubsub_client: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # serialises subscribe/unsubscribe with reconnects
        self.connected = asyncio.Event()
        self.stats = {"events_in": 0, "frames_out": 0, "replayed": 0, "reconnects": 0, "slow_closes": 0}

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
        from shared.redisconn import pubsub_client

        self._pubsub_client = pubsub_client(self.redis_url)
        self._pubsub = self._pubsub_client.pubsub(ignore_subscribe_messages=True)
        channels = [keys.user_channel(u) for u in self.sockets]
        if channels:
            await self._pubsub.subscribe(*channels)
        else:
            # A connection with no subscription would not notice a dead server; keep one.
            await self._pubsub.subscribe(keys.PREFIX + ":notifier:keepalive")
        self.connected.set()

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
    async def attach(self, conn: Connection) -> None:
        async with self._lock:
            first = not self.sockets.get(conn.user_id)
            self.sockets[conn.user_id].add(conn)
            if first and self._pubsub is not None:
                try:
                    await self._pubsub.subscribe(keys.user_channel(conn.user_id))
                except (redis.ConnectionError, OSError) as exc:
                    log.warning("subscribe failed (%s); the reconnect loop resubscribes", exc)

    async def detach(self, conn: Connection) -> None:
        async with self._lock:
            conns = self.sockets.get(conn.user_id)
            if conns is None:
                return
            conns.discard(conn)
            if not conns:
                del self.sockets[conn.user_id]
                self.last_seen.pop(conn.user_id, None)
                if self._pubsub is not None:
                    with contextlib.suppress(redis.ConnectionError, OSError):
                        await self._pubsub.unsubscribe(keys.user_channel(conn.user_id))

    def socket_count(self) -> int:
        return sum(len(c) for c in self.sockets.values())

    def all_connections(self) -> list[Connection]:
        return [c for conns in self.sockets.values() for c in conns]

    # -- events ------------------------------------------------------------------------------
    def fan_out(self, user_id: str, payload: str) -> int:
        """Send one event to every socket of a user; returns the number of sockets reached."""
        try:
            event = events.loads(payload)
            position = (str(event.get("epoch", "")), int(event.get("offset", 0)))
        except (ValueError, TypeError):
            log.error("dropping malformed event for %s", user_id)
            return 0
        previous = self.last_seen.get(user_id)
        if previous is not None and previous[0] == position[0] and position[1] <= previous[1]:
            return 0  # already delivered (a replay overlapping the live stream)
        self.last_seen[user_id] = position
        reached = 0
        for conn in list(self.sockets.get(user_id, ())):
            if conn.offer(payload):
                reached += 1
            else:
                self.stats["slow_closes"] += 1
        self.stats["frames_out"] += reached
        return reached

    async def _read_loop(self) -> None:
        while True:
            try:
                assert self._pubsub is not None
                message = await self._pubsub.get_message(timeout=1.0)
                if message is None or message.get("type") != "message":
                    continue
                self.stats["events_in"] += 1
                channel = message["channel"].decode()
                self.fan_out(keys.channel_user(channel), message["data"].decode())
            except asyncio.CancelledError:
                raise
            except (redis.ConnectionError, redis.TimeoutError, OSError, AssertionError) as exc:
                log.warning("pub/sub connection lost (%s); reconnecting", exc)
                await self._reconnect()
            except Exception:
                log.exception("unexpected error in hub reader; continuing")

    async def _reconnect(self) -> None:
        async with self._lock:
            await self._disconnect()
            while True:
                try:
                    await self._connect()
                    break
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    await asyncio.sleep(RECONNECT_DELAY_SECONDS)
            self.stats["reconnects"] += 1
        started = time.monotonic()
        for user_id in list(self.sockets):
            await self.repair(user_id)
        log.info("pub/sub reconnected; gaps repaired for %d users in %.0f ms", len(self.sockets),
                 (time.monotonic() - started) * 1000)

    async def repair(self, user_id: str) -> None:
        """Deliver what the user's log holds past the last event this process fanned out."""
        seen = self.last_seen.get(user_id)
        if seen is None:
            return  # nothing delivered yet on this process: nothing to be behind on
        try:
            entries = await self.redis.xrange(keys.user_log_key(user_id), min=f"({seen[1]}-1", max="+")
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("could not repair %s: %s", user_id, exc)
            return
        for _id, fields in entries:
            if self.fan_out(user_id, fields[b"p"].decode()):
                self.stats["replayed"] += 1
