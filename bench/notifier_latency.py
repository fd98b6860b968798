"""Publish-to-socket latency through a real notifier process, with 1, 100 and 1,000 sockets.

Events are published exactly as the worker publishes them (``publish_event.lua``: log append and
PUBLISH in one step); each carries its send time, and the receiving socket records arrival.
Bounded: a fixed number of events per round, a deadline per round, loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import orjson
import websockets

from devtools.redis_server import EmbeddedRedis
from shared import imagejobs, redisconn
from tests.harness import start_notifier

EVENTS_PER_ROUND = 300
ROUND_DEADLINE_SECONDS = 60


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_round(ws_base: str, redis_url: str, sockets: int, rate: float, *, cluster: bool = False,
                    events: int = EVENTS_PER_ROUND, tag: str = "") -> dict[str, float]:
    """``events`` events at ``rate`` to ``sockets`` sockets of as many users (round-robin), published
    as the worker does (SPUBLISH on a Redis Cluster); p50/p99 of publish -> parsed frame."""
    users = [f"bench-{tag}{sockets}-{i}" for i in range(sockets)]
    latencies: list[float] = []
    done = asyncio.Event()

    async def reader(conn: websockets.ClientConnection) -> None:
        async for raw in conn:
            msg = orjson.loads(raw)
            if msg.get("type") == "image_processed":
                latencies.append(time.perf_counter() - msg["data"]["sent"])
                if len(latencies) >= events:
                    done.set()

    conns = []
    for i in range(0, sockets, 100):  # connect in batches
        batch = await asyncio.gather(*(websockets.connect(f"{ws_base}/{u}", max_queue=None)
                                       for u in users[i:i + 100]))
        conns.extend(batch)
    readers = [asyncio.create_task(reader(c)) for c in conns]
    await asyncio.sleep(1.0 if cluster else 0.5)  # subscriptions settle
    client = redisconn.async_client(redis_url, cluster=cluster)
    publish = client.register_script(imagejobs.PUBLISH_EVENT)
    interval = 1.0 / rate
    start = time.perf_counter()
    for n in range(events):
        user = users[n % sockets]
        event = {"type": "image_processed", "data": {"image_url": "u", "result": "r", "filters": [],
                                                      "sent": time.perf_counter()}}
        keys_, args = imagejobs.publish_args(user, f"bench-{tag}{time.time_ns()}-{n}", orjson.dumps(event).decode(),
                                             100, sharded=cluster)
        await publish(keys=keys_, args=args)
        await asyncio.sleep(max(0.0, start + (n + 1) * interval - time.perf_counter()))
    try:
        await asyncio.wait_for(done.wait(), ROUND_DEADLINE_SECONDS)
    except TimeoutError:
        pass
    for t in readers:
        t.cancel()
    await asyncio.gather(*(c.close() for c in conns), return_exceptions=True)
    await client.aclose()
    ms = [v * 1000 for v in latencies]
    return {
        "sockets": sockets,
        "received": len(ms),
        "p50_ms": statistics.median(ms) if ms else float("nan"),
        "p99_ms": percentile(ms, 0.99) if ms else float("nan"),
    }


def run(sizes: tuple[int, ...] = (1, 100, 1000), rate: float = 200.0) -> list[dict[str, float]]:
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        server.start()
        notifier = start_notifier(server.url, Path(tmp) / "logs")
        try:
            ws_base = f"ws://127.0.0.1:{notifier.port}/ws"
            return [asyncio.run(one_round(ws_base, server.url, n, rate)) for n in sizes]
        finally:
            notifier.stop()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    args = parser.parse_args()
    rows = run(rate=args.rate)
    print(f"\nnotifier: publish -> socket latency ({EVENTS_PER_ROUND} events at {args.rate:.0f}/s)")
    print(f"{'sockets':>8} {'received':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for r in rows:
        print(f"{r['sockets']:>8} {r['received']:>9} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f}")


if __name__ == "__main__":
    main()
