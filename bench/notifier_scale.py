"""Notifier at scale, in one run: idle sockets held and their memory, and a reconnect storm with
replay. (Latency under load: bench/notifier_sweep.py, which reuses the client processes here.)

Clients run in separate processes (so their CPU is not the notifier's); the notifier is a real
process whose RSS is read from /proc. Everything is on loopback; every phase is bounded in count
and time. The sandbox caps open files at 20,000 per process, so "20k sockets" is measured as the
largest round number under that cap.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import tempfile
import time
from pathlib import Path

from bench.notifier_client import (  # fast_runner, no_gc_pauses: bench/gateway_sweep.py imports them here
    CLIENT_PROCESSES,
    ask,
    fast_runner,  # noqa: F401
    no_gc_pauses,  # noqa: F401
    raise_nofile,
    start_clients,
    stop_clients,
)
from bench.notifier_publisher import publish
from devtools.redis_server import EmbeddedRedis
from tests.harness import start_notifier


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run(idle_sockets: int, storm_sockets: int) -> None:
    raise_nofile()
    per_client = idle_sockets // CLIENT_PROCESSES
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        server.start()
        notifier = start_notifier(server.url, Path(tmp) / "logs",
                                  LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
                                  WS_SEND_QUEUE="1024", WS_HEARTBEAT_SECONDS="60")
        ws_base = f"ws://127.0.0.1:{notifier.port}/ws"
        pipes, procs = start_clients(ws_base, per_client, "scale")
        try:
            time.sleep(1)
            base_rss = rss_kib(notifier.popen.pid)
            connected = ask(pipes, "connect", per_client)
            held = sum(n for n, _ in connected)
            took = max(t for _, t in connected)
            time.sleep(2)
            rss = rss_kib(notifier.popen.pid)
            print(f"\nnotifier at scale (one notifier process, {CLIENT_PROCESSES} client processes)")
            print(f"idle sockets held: {held} (connected in {took:.1f} s); RSS {base_rss / 1024:.0f} MiB -> "
                  f"{rss / 1024:.0f} MiB = {(rss - base_rss) / max(held, 1):.1f} KiB per socket")

            keep = storm_sockets // CLIENT_PROCESSES
            ask(pipes, "close_to", keep)
            users = [f"scale-{c}-{i}" for c in range(CLIENT_PROCESSES) for i in range(keep)]
            # Every user gets one event first, so that each client knows its (epoch, offset) to resume from.
            ask(pipes, "reset_stats")
            warm = asyncio.run(publish(server.url, users, 5000, len(users) / 5000))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(ask(pipes, "count")) < warm:
                time.sleep(0.2)
            ask(pipes, "disconnect_all")
            time.sleep(1)
            asyncio.run(publish(server.url, users, 5000, len(users) / 5000))  # one missed event per user
            results = ask(pipes, "storm", keep)
            reattached = sum(r[0] for r in results)
            caught_up = sum(r[1] for r in results)
            took = max(r[2] for r in results)
            print(f"\nreconnect storm: {reattached} clients reconnected with resume, {caught_up} caught up "
                  f"(missed event replayed) in {took:.1f} s")
            ask(pipes, "exit")
        finally:
            if os.environ.get("BENCH_KEEP_LOG"):
                lines = notifier.log_path.read_text(errors="replace").splitlines()
                print("\n".join(line for line in lines if "INFO" not in line and "connection" not in line)[-3000:])
                import collections
                print(collections.Counter(line.split("Redis unavailable")[1] for line in lines
                                          if "Redis unavailable" in line).most_common(5))
            stop_clients(procs)
            notifier.stop()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    cap = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    default_idle = min(20_000, (cap - 500) // 1000 * 1000)
    parser.add_argument("--idle", type=int, default=default_idle)
    parser.add_argument("--sockets", type=int, default=10_000, help="clients in the reconnect storm")
    args = parser.parse_args()
    run(args.idle, args.sockets)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
