"""The completion watcher against a real Redis: what held polls and inline feed waits rely on."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import orjson
import pytest
import redis.asyncio as aioredis

from gateway.completions import CLOSING, LOST, CompletionWatcher
from shared import imagejobs, keys


@pytest.fixture()
async def client(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    c = aioredis.Redis.from_url(redis_url)
    yield c
    await c.aclose()


@pytest.fixture()
async def watcher(redis_url: str) -> AsyncIterator[CompletionWatcher]:
    w = CompletionWatcher(redis_url, max_waiting=100)
    await w.start()
    yield w
    await w.stop()


def new_wait() -> str:
    return keys.wait_id(f"https://i.example/{uuid.uuid4().hex}.jpg", ["spiders"])


async def finish(client: aioredis.Redis, wait: str, *, failed: bool = False) -> None:
    """What the worker does when a job ends (finish_job.lua)."""
    keys_, args = imagejobs.finish_args(wait, "job", orjson.dumps({"url": "https://r/x"}), 60, failed=failed)
    await client.eval(imagejobs.FINISH_JOB, len(keys_), *keys_, *args)


async def subscribers(client: aioredis.Redis, wait: str) -> int:
    return dict(await client.pubsub_numsub(keys.wait_channel(wait)))[keys.wait_channel(wait).encode()]


class SlowUplink:
    """A loopback TCP proxy to Redis that delays what the client sends: a SUBSCRIBE then reaches
    Redis well after a command sent a moment later on another connection."""

    def __init__(self, redis_url: str, delay: float) -> None:
        parts = urlsplit(redis_url)
        self.target = (parts.hostname or "127.0.0.1", parts.port or 6379)
        self.delay = delay
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return f"redis://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter, delay: float) -> None:
            with contextlib.suppress(ConnectionError):
                while data := await src.read(65536):
                    await asyncio.sleep(delay)
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pump(reader, up_writer, self.delay), pump(up_reader, writer, 0))

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


async def test_a_job_ending_right_after_watch_returns_is_never_missed(client: aioredis.Redis, redis_url: str) -> None:
    # watch() hands back its futures only once Redis has confirmed the subscription, so a job that
    # ends right afterwards is heard of even when the SUBSCRIBE travels slowly. (Returning after
    # merely sending it loses this publish: it reaches Redis before the SUBSCRIBE does.)
    uplink = SlowUplink(redis_url, delay=0.1)
    w = CompletionWatcher(await uplink.start(), max_waiting=10)
    await w.start()
    try:
        for _ in range(3):
            wait = new_wait()
            async with w.watch([wait]) as futures:
                assert futures is not None
                await finish(client, wait)
                assert await asyncio.wait_for(futures[wait], 5) == imagejobs.ENDED_DONE
    finally:
        await w.stop()
        await uplink.stop()


async def test_failure_is_reported_as_failed(watcher: CompletionWatcher, client: aioredis.Redis) -> None:
    wait = new_wait()
    async with watcher.watch([wait]) as futures:
        assert futures is not None
        await finish(client, wait, failed=True)
        assert await asyncio.wait_for(futures[wait], 5) == imagejobs.ENDED_FAILED


async def test_waiters_share_a_subscription_and_release_it(watcher: CompletionWatcher, client: aioredis.Redis) -> None:
    wait = new_wait()
    async with watcher.watch([wait]) as first:
        async with watcher.watch([wait]) as second:
            assert first is not None and second is not None
            assert await subscribers(client, wait) == 1
            assert watcher.waiting == 2
        assert watcher.waiting == 1
        await finish(client, wait)
        assert await asyncio.wait_for(first[wait], 5) == imagejobs.ENDED_DONE
    for _ in range(100):
        if await subscribers(client, wait) == 0:
            break
        await asyncio.sleep(0.02)
    assert await subscribers(client, wait) == 0
    assert watcher.waiting == 0


async def test_several_waits_in_one_watch(watcher: CompletionWatcher, client: aioredis.Redis) -> None:
    waits = [new_wait() for _ in range(5)]
    async with watcher.watch(waits) as futures:
        assert futures is not None and set(futures) == set(waits)
        await finish(client, waits[2])
        done, pending = await asyncio.wait(futures.values(), timeout=0.5)
        assert [f for f in done] == [futures[waits[2]]] and len(pending) == 4


async def test_past_the_cap_nobody_waits(redis_url: str) -> None:
    w = CompletionWatcher(redis_url, max_waiting=2)
    await w.start()
    try:
        async with w.watch([new_wait(), new_wait()]) as full:
            assert full is not None
            async with w.watch([new_wait()]) as refused:
                assert refused is None
        async with w.watch([new_wait()]) as again:
            assert again is not None
    finally:
        await w.stop()


async def test_close_answers_every_waiter_and_refuses_new_ones(redis_url: str) -> None:
    w = CompletionWatcher(redis_url, max_waiting=10)
    await w.start()
    try:
        wait = new_wait()
        async with w.watch([wait]) as futures:
            assert futures is not None
            w.close()
            assert await asyncio.wait_for(futures[wait], 1) == CLOSING
        async with w.watch([new_wait()]) as after:
            assert after is None
    finally:
        await w.stop()


async def test_a_lost_connection_wakes_waiters_and_comes_back(
    watcher: CompletionWatcher, client: aioredis.Redis
) -> None:
    wait = new_wait()
    async with watcher.watch([wait]) as futures:
        assert futures is not None
        # Only this watcher's connection (other processes of the test session share this Redis).
        host, port = watcher._pubsub.connection._writer.get_extra_info("sockname")[:2]  # type: ignore[union-attr]
        assert await client.client_kill_filter(_type="pubsub", addr=f"{host}:{port}") == 1
        assert await asyncio.wait_for(futures[wait], 5) == LOST
    for _ in range(200):
        if watcher.available:
            break
        await asyncio.sleep(0.02)
    wait = new_wait()
    async with watcher.watch([wait]) as futures:
        assert futures is not None
        await finish(client, wait)
        assert await asyncio.wait_for(futures[wait], 5) == imagejobs.ENDED_DONE
