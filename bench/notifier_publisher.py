"""The notifier benchmarks' publisher: events published exactly as the imaging worker publishes
them (``publish_event.lua`` by EVALSHA, arguments from ``imagejobs.publish_args``), at a steady
rate, each carrying its send time (``data.sent``, wall clock) for the clients to measure from.

It shares the machine's cores with the notifier it measures, so it is written to cost little:
commands are encoded straight to RESP and written in one batch per 10 ms tick over one plain
connection, and replies are parsed by hiredis in a task of their own, instead of going through
redis-py's pipeline (which cost about 85 us per event here, more than the notifier spent on it).
Bounded: ``rate * seconds`` events.
"""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import hiredis
import orjson

from shared import imagejobs

TICK_SECONDS = 0.01
REPLY_DEADLINE_SECONDS = 30.0


def resp(*parts: str | bytes) -> bytes:
    """One Redis command in RESP: ``*N`` then each part as a bulk string."""
    out = [b"*%d\r\n" % len(parts)]
    for part in parts:
        raw = part.encode() if isinstance(part, str) else part
        out.append(b"$%d\r\n%s\r\n" % (len(raw), raw))
    return b"".join(out)


def event_json(sent: float) -> str:
    return orjson.dumps({"type": "image_processed",
                         "data": {"image_url": "u", "result": "r", "filters": [], "sent": sent}}).decode()


class Publisher:
    """One connection to Redis that publishes batches of events and waits for their replies."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sha: str) -> None:
        self.reader = reader
        self.writer = writer
        self.sha = sha
        self.parser = hiredis.Reader()
        self.run_id = f"{time.time_ns()}"

    @classmethod
    async def open(cls, redis_url: str) -> Publisher:
        url = urlparse(redis_url)
        reader, writer = await asyncio.open_connection(url.hostname or "127.0.0.1", url.port or 6379)
        self = cls(reader, writer, "")
        db = (url.path or "/0").lstrip("/") or "0"
        writer.write(resp("SELECT", db) + resp("SCRIPT", "LOAD", imagejobs.PUBLISH_EVENT))
        _, sha = await self.replies(2)
        self.sha = sha.decode()
        return self

    def command(self, user: str, n: int) -> bytes:
        event_keys, args = imagejobs.publish_args(user, f"b{n}-{self.run_id}", event_json(time.time()), 100)
        return resp("EVALSHA", self.sha, str(len(event_keys)), *event_keys, *args)

    async def replies(self, count: int) -> list[object]:
        out: list[object] = []
        while len(out) < count:
            reply = self.parser.gets()
            if reply is False:
                data = await asyncio.wait_for(self.reader.read(1 << 16), REPLY_DEADLINE_SECONDS)
                if not data:
                    raise ConnectionError("Redis closed the publisher's connection")
                self.parser.feed(data)
                continue
            if isinstance(reply, hiredis.ReplyError):
                raise RuntimeError(f"publish failed: {reply}")
            out.append(reply)
        return out

    async def close(self) -> None:
        self.writer.close()
        await self.writer.wait_closed()


async def publish(redis_url: str, users: list[str], rate: float, seconds: float) -> int:
    """Publish ``rate * seconds`` events round-robin over ``users``, paced per 10 ms tick. Open
    loop: replies are read by another task, so a slow reply does not hold back the next batch."""
    publisher = await Publisher.open(redis_url)
    total = int(rate * seconds)
    per_tick = max(1, int(rate * TICK_SECONDS))
    replies = asyncio.create_task(publisher.replies(total))
    sent = 0
    started = time.perf_counter()
    try:
        while sent < total:
            batch = min(per_tick, total - sent)
            publisher.writer.write(b"".join(publisher.command(users[(sent + i) % len(users)], sent + i)
                                            for i in range(batch)))
            sent += batch
            if replies.done():  # only on an error: raise it now
                replies.result()
            await asyncio.sleep(max(0.0, started + (sent / rate) - time.perf_counter()))
        await replies
    finally:
        replies.cancel()
        await publisher.close()
    return sent
