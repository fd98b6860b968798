"""Waiting for image jobs to end, without a polling loop or a thread: one Redis pub/sub connection
per gateway process and an in-process table of futures keyed by wait id.

``finish_job.lua`` publishes ``done`` or ``failed`` on the wait id's channel (``keys.wait_channel``)
in the same step that stores the outcome. A waiter's channel is subscribed, and Redis has
confirmed the subscription, before :meth:`CompletionWatcher.watch` hands back its futures; the
caller re-reads the outcome only then, so a job that ends between that read and the wait is heard
of (the publish comes after the subscription) or found (the outcome was stored before the read).
Several waiters of one wait id share its subscription.

Bounded: at most ``max_waiting`` futures per process (past it ``watch`` yields None and callers
answer at once). :meth:`CompletionWatcher.close` (gateway shutdown) resolves every future with
``closing`` and refuses new waits; a lost connection resolves them with ``lost`` and refuses new
waits until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import redis.asyncio as aioredis
from redis.asyncio.client import PubSub

from shared import keys
from shared.pubsub import next_message, next_sharded_message, read_forever
from shared.redisconn import pubsub_client

log = logging.getLogger(__name__)

CLOSING = "closing"  # the gateway is shutting down
LOST = "lost"  # the pub/sub connection dropped; the outcome may exist, re-read it
CONFIRM_TIMEOUT_SECONDS = 2.0
RECONNECT_DELAY_SECONDS = 0.2
KEEPALIVE_CHANNEL = keys.PREFIX + ":gateway:keepalive"
SHARDED_POLL_SECONDS = 0.02  # a cluster's per-node subscriptions are read in turns (see notifier/hub.py)


@dataclass
class _Channel:
    confirmed: asyncio.Future[bool]
    waiters: set[asyncio.Future[str]] = field(default_factory=set)


class CompletionWatcher:
    """``sharded=True`` on a Redis Cluster: wait channels are sharded channels (``SSUBSCRIBE``; the
    worker says ``SPUBLISH``), each held on the node that owns its image's slot. When that slot is
    migrated, Redis unsubscribes the channel (``_on_server_sunsubscribe``)."""

    def __init__(self, redis_url: str, max_waiting: int, *, sharded: bool = False) -> None:
        self.redis_url = redis_url
        self.max_waiting = max_waiting
        self.sharded = sharded
        self._channels: dict[str, _Channel] = {}
        self._waiting = 0
        self._client: aioredis.Redis | None = None
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # orders SUBSCRIBE/UNSUBSCRIBE on the connection
        self._idle: set[str] = set()  # channels without waiters, to unsubscribe
        self._flush: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def waiting(self) -> int:
        return self._waiting

    @property
    def available(self) -> bool:
        return self._pubsub is not None and not self._closing

    # -- lifecycle ---------------------------------------------------------------------------
    async def start(self) -> None:
        try:
            await self._connect()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("completion channel unavailable at start (%s); polls answer at once until it is", exc)
        self._reader = asyncio.create_task(self._read_loop(), name="completion-reader")

    def close(self) -> None:
        """Shutdown begins: every waiter is answered now and nobody new waits."""
        self._closing = True
        self._resolve_all(CLOSING)

    async def stop(self) -> None:
        self.close()
        for task in (self._reader, self._flush):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self._disconnect()

    async def _connect(self) -> None:
        client = pubsub_client(self.redis_url, cluster=self.sharded)
        pubsub = client.pubsub()
        if self.sharded:  # redis-py's cluster pub/sub watches its per-node connections itself
            self._client, self._pubsub = client, pubsub
            return
        try:
            # One standing subscription, so the reader notices a dead server with nobody waiting.
            await pubsub.subscribe(KEEPALIVE_CHANNEL)
        except BaseException:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
                await client.aclose()
            raise
        self._client, self._pubsub = client, pubsub

    async def _disconnect(self) -> None:
        pubsub, client = self._pubsub, self._client
        self._pubsub = self._client = None
        if pubsub is not None:
            with contextlib.suppress(Exception):
                await pubsub.aclose()
        if client is not None:
            with contextlib.suppress(Exception):
                await client.aclose()

    # -- waiting -----------------------------------------------------------------------------
    @contextlib.asynccontextmanager
    async def watch(self, waits: Sequence[str]) -> AsyncIterator[dict[str, asyncio.Future[str]] | None]:
        """Futures, one per wait id, resolved with ``done``/``failed`` when its job ends (or
        ``closing``/``lost``); None when no wait is possible (full, shutting down, no connection).
        Subscriptions are confirmed on entry and released on exit."""
        unique = list(dict.fromkeys(waits))
        if not unique or not self.available or self._waiting + len(unique) > self.max_waiting:
            yield None
            return
        loop = asyncio.get_running_loop()
        futures = {wait: loop.create_future() for wait in unique}
        self._waiting += len(futures)
        registered: list[tuple[str, asyncio.Future[str]]] = []
        try:
            confirmations = await self._register(futures, registered)
            ok = confirmations is not None and await self._confirmed(confirmations)
            yield futures if ok else None
        finally:
            self._waiting -= len(futures)
            for channel, future in registered:
                entry = self._channels.get(channel)
                if entry is not None:
                    entry.waiters.discard(future)
                    if not entry.waiters:
                        self._idle.add(channel)
            self._schedule_flush()

    async def _register(
        self, futures: dict[str, asyncio.Future[str]], registered: list[tuple[str, asyncio.Future[str]]]
    ) -> list[asyncio.Future[bool]] | None:
        loop = asyncio.get_running_loop()
        async with self._lock:
            pubsub = self._pubsub
            if pubsub is None or self._closing:
                return None
            new: list[str] = []
            confirmations: list[asyncio.Future[bool]] = []
            for wait, future in futures.items():
                channel = keys.wait_channel(wait)
                entry = self._channels.get(channel)
                if entry is None:
                    entry = self._channels[channel] = _Channel(loop.create_future())
                    new.append(channel)
                entry.waiters.add(future)
                self._idle.discard(channel)
                registered.append((channel, future))
                confirmations.append(entry.confirmed)
            if new:
                try:
                    await (pubsub.ssubscribe(*new) if self.sharded else pubsub.subscribe(*new))  # type: ignore[attr-defined]
                except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                    log.warning("subscribe failed (%s); the reader reconnects", exc)
                    return None
            return confirmations

    async def _confirmed(self, confirmations: list[asyncio.Future[bool]]) -> bool:
        try:
            async with asyncio.timeout(CONFIRM_TIMEOUT_SECONDS):
                results = await asyncio.gather(*(asyncio.shield(c) for c in confirmations))
        except TimeoutError:
            log.warning("Redis did not confirm a subscription within %.1f s", CONFIRM_TIMEOUT_SECONDS)
            return False
        return all(results)

    def _schedule_flush(self) -> None:
        if self._idle and (self._flush is None or self._flush.done()):
            self._flush = asyncio.get_running_loop().create_task(self._unsubscribe_idle())

    async def _unsubscribe_idle(self) -> None:
        """Unsubscribe channels nobody waits on any more, in one command. A channel whose
        subscription is not yet confirmed stays until it is, so that its confirmation can never be
        taken for that of a later subscription to the same channel."""
        async with self._lock:
            done = [
                c for c in self._idle
                if (entry := self._channels.get(c)) is not None and not entry.waiters and entry.confirmed.done()
            ]
            for channel in done:
                self._idle.discard(channel)
                del self._channels[channel]
            self._idle = {c for c in self._idle if c in self._channels}
            if done and self._pubsub is not None:
                try:
                    if self.sharded:
                        await self._pubsub.sunsubscribe(*done)  # type: ignore[attr-defined]
                    else:
                        await self._pubsub.unsubscribe(*done)
                except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                    log.warning("unsubscribe failed (%s); the reader reconnects", exc)

    # -- the reader ----------------------------------------------------------------------------
    def _on_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        channel = message.get("channel")
        if not isinstance(channel, bytes):
            return
        entry = self._channels.get(channel.decode())
        if entry is None:
            return
        if kind in ("subscribe", "ssubscribe"):
            if not entry.confirmed.done():
                entry.confirmed.set_result(True)
            if not entry.waiters:
                self._schedule_flush()
        elif kind in ("message", "smessage"):
            data = message.get("data")
            ended = data.decode() if isinstance(data, bytes) else str(data)
            for future in entry.waiters:
                if not future.done():
                    future.set_result(ended)
        elif kind == "sunsubscribe" and entry.confirmed.done():
            self._on_server_sunsubscribe(channel.decode(), entry)

    def _on_server_sunsubscribe(self, channel: str, entry: _Channel) -> None:
        """Redis 7 unsubscribes every shard channel of a slot its node stops serving (the slot was
        migrated: CLUSTER SETSLOT NODE). The job may end meanwhile, unheard: the channel's waiters
        re-read the outcome (``lost``), as after a lost connection. Our own unsubscribe drops the
        entry first, and the answer to it comes before the confirmation of a new subscription on
        that connection, so a confirmed entry's ``sunsubscribe`` is Redis's own (at worst, waiters
        re-read early). redis-py (8.2) still counts the channel as subscribed on the old node;
        unsubscribing it there clears that, and a later wait on it subscribes anew (redis-py
        follows the old node's MOVED answer to the new owner)."""
        for future in entry.waiters:
            if not future.done():
                future.set_result(LOST)
        del self._channels[channel]
        self._idle.discard(channel)
        asyncio.get_running_loop().create_task(self._forget(channel))

    async def _forget(self, channel: str) -> None:
        async with self._lock:
            if channel in self._channels or self._pubsub is None:
                return  # waited on again meanwhile: that subscription stands
            with contextlib.suppress(redis.ConnectionError, redis.TimeoutError, OSError):
                await self._pubsub.sunsubscribe(channel)  # type: ignore[attr-defined]

    def _resolve_all(self, why: str) -> None:
        for entry in self._channels.values():
            for future in entry.waiters:
                if not future.done():
                    future.set_result(why)

    def _drop_all(self) -> None:
        """The connection is gone: every waiter re-reads the outcome, every subscription is void."""
        self._resolve_all(LOST)
        for entry in self._channels.values():
            if not entry.confirmed.done():
                entry.confirmed.set_result(False)
        self._channels.clear()
        self._idle.clear()

    async def _read_loop(self) -> None:
        if self.sharded:
            receive = lambda: next_sharded_message(self._pubsub, SHARDED_POLL_SECONDS)  # noqa: E731
        else:
            receive = lambda: next_message(self._pubsub)  # noqa: E731
        await read_forever(receive, self._on_message, self._reconnect, "completion channel")

    async def _reconnect(self) -> None:
        async with self._lock:
            self._drop_all()
            await self._disconnect()
        while True:
            await asyncio.sleep(RECONNECT_DELAY_SECONDS)
            async with self._lock:
                try:
                    await self._connect()
                    log.info("completion channel reconnected")
                    return
                except (redis.ConnectionError, redis.TimeoutError, OSError):
                    continue
