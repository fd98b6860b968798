"""Notifier knee: the highest events/s delivered to 10,000 sockets with p99 <= 25 ms and <= 50 ms.

Side by side in one run: the pure-Python fallbacks (asyncio loop, h11, Python Redis parser) in one
process, uvloop + httptools + hiredis in one process, and the same in two processes on one port.
Latency is from the publisher's timestamp (taken as the event is published exactly as the worker
does it) to the client having parsed the frame. Clients run in two separate processes, the
publisher in this one; all of them share the machine's cores with the notifier and Redis, so the
figures are for the whole loop on this machine. Each trial also prints the CPU seconds per
10,000 events of each process group (notifier, Redis, clients, publisher): on a shared machine that
varies far less than latency, and it says which part of the loop to make cheaper. Every trial is
bounded in count and time, and everything is on loopback.

Default: walk up the ladder, each rate ``--trials`` times, and stop at the first rate that misses
the loosest bound. With ``--rates``, every rate given is measured, in ``--trials`` full passes over
the list (the final figures: ``--configs uvloop --rates 8000,10000,12000,14000 --trials 3``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.knee import Point, Trial, describe_knee, passes, percentile, sweep
from bench.notifier_client import (
    CLIENT_PROCESSES,
    ask,
    fast_runner,
    no_gc_pauses,
    raise_nofile,
    start_clients,
    stop_clients,
)
from bench.notifier_cpu import CpuMeter, cpu_seconds, own_seconds, per_10k
from bench.notifier_publisher import publish
from devtools.redis_server import EmbeddedRedis
from tests.harness import start_notifier

CONFIGS = {
    "python": ("pure Python (asyncio, h11, Python Redis parser), 1 process",
               {"EVENT_LOOP": "asyncio", "HTTP_PARSER": "h11", "REDIS_PARSER": "python"}),
    "uvloop": ("uvloop + httptools + hiredis, 1 process", {}),
    "uvloop-2proc": ("uvloop + httptools + hiredis, 2 processes", {"NOTIFIER_PROCESSES": "2"}),
}
LADDER = [2_000, 4_000, 6_000, 8_000, 10_000, 12_000, 14_000, 17_000, 20_000, 24_000]
BOUNDS_MS = (25.0, 50.0)
DRAIN_SECONDS = 10.0  # after publishing, how long stragglers may take before a trial counts as lossy
WARM_SECONDS = 60.0
ACHIEVED_FRACTION = 0.95  # a publisher that fell behind the offered rate makes the trial not count


def run_publisher(redis_url: str, users: list[str], rate: float, seconds: float) -> tuple[int, float]:
    started = time.perf_counter()
    with fast_runner() as runner:
        sent = runner.run(publish(redis_url, users, rate, seconds))
    return sent, time.perf_counter() - started


def measure_config(redis_url: str, redis_pid: int, log_dir: Path, env: dict[str, str], sockets: int,
                   seconds: float, repeats: int, ladder: list[float], every_rate: bool, label: str) -> list[Point]:
    notifier = start_notifier(redis_url, log_dir, name="notifier-sweep",
                              LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"), WS_SEND_QUEUE="1024",
                              WS_HEARTBEAT_SECONDS="60", **env)
    per_client = sockets // CLIENT_PROCESSES
    prefix = f"sweep{time.monotonic_ns() % 10**6}"
    pipes, procs = start_clients(f"ws://127.0.0.1:{notifier.port}/ws", per_client, prefix)
    try:
        held = sum(n for n, _ in ask(pipes, "connect", per_client))
        users = [f"{prefix}-{c}-{i}" for c in range(CLIENT_PROCESSES) for i in range(per_client)]
        # One event per user first: it creates the user's log in Redis; measure the steady state.
        warm, _ = run_publisher(redis_url, users, 5_000, len(users) / 5_000)
        deadline = time.monotonic() + WARM_SECONDS
        while time.monotonic() < deadline and sum(ask(pipes, "count")) < warm:
            time.sleep(0.2)
        print(f"\n{label}: {held} sockets held, {sum(ask(pipes, 'count'))} of {warm} warm-up events received",
              flush=True)

        client_pids = [p.pid for p in procs if p.pid is not None]
        cpu = CpuMeter({"notifier": lambda: cpu_seconds(notifier.popen.pid), "redis": lambda: own_seconds(redis_pid),
                        "clients": lambda: sum(own_seconds(pid) for pid in client_pids),
                        "publisher": lambda: own_seconds(os.getpid())})

        def trial(rate: float) -> Trial:
            ask(pipes, "reset_stats")
            cpu.start()
            sent, took = run_publisher(redis_url, users, rate, seconds)
            deadline = time.monotonic() + DRAIN_SECONDS
            while time.monotonic() < deadline and sum(ask(pipes, "count")) < sent:
                time.sleep(0.1)
            used = cpu.stop()
            latencies = [v * 1000 for lat, _ in ask(pipes, "stats") for v in lat]
            achieved = sent / took
            complete = len(latencies) >= sent and achieved >= ACHIEVED_FRACTION * rate
            print(f"    {rate:,.0f} events/s: CPU s per 10k events: {per_10k(used, sent)}", flush=True)
            return Trial(rate, achieved, percentile(latencies, 0.5), percentile(latencies, 0.99), complete)

        if every_rate:
            return passes(trial, ladder, repeats, label="events/s", unit="events/s")
        return sweep(trial, ladder, BOUNDS_MS, repeats, label="events/s", unit="events/s")
    finally:
        try:
            ask(pipes, "exit")
        finally:  # a client that died must not leave the notifier running
            stop_clients(procs)
            notifier.stop()


def run(sockets: int, seconds: float, repeats: int, ladder: list[float], configs: list[str],
        every_rate: bool = False) -> None:
    raise_nofile()
    no_gc_pauses()  # this process publishes
    print(f"\nnotifier knee: {sockets} sockets, {seconds:.0f} s per trial, {repeats} trials per rate "
          f"(a rate meets a bound only if every trial did)")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        server.start()
        try:
            assert server.process is not None
            for name in configs:
                label, env = CONFIGS[name]
                results.append((label, measure_config(server.url, server.process.pid, Path(tmp) / "logs", env,
                                                      sockets, seconds, repeats, ladder, every_rate, label)))
        finally:
            server.stop()
    print(f"\nnotifier knee summary ({sockets} sockets; highest rate meeting the bound in every trial)")
    for label, points in results:
        print(f"{label}")
        for bound in BOUNDS_MS:
            print(f"  p99 <= {bound:.0f} ms: {describe_knee(points, bound, 'events/s')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0, help="publishing time per trial")
    parser.add_argument("--trials", "--repeats", type=int, default=2, help="trials per rate")
    parser.add_argument("--rates", type=rate_list, default=None,
                        help="comma-separated events/s, each measured in every pass (default: walk up "
                             f"{','.join(f'{r:.0f}' for r in LADDER)} and stop at the first miss)")
    parser.add_argument("--configs", type=config_list, default=list(CONFIGS),
                        help="comma-separated, from: " + "; ".join(f"{n}: {c[0]}" for n, c in CONFIGS.items()))
    args = parser.parse_args()
    run(args.sockets, args.seconds, args.trials, args.rates or LADDER, args.configs, every_rate=bool(args.rates))


def rate_list(text: str) -> list[float]:
    rates = [float(r) for r in text.split(",") if r.strip()]
    if not rates or any(r <= 0 for r in rates):
        raise argparse.ArgumentTypeError("rates must be positive numbers")
    return rates


def config_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in CONFIGS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"unknown config {unknown}; choose from {', '.join(CONFIGS)}")
    return names


if __name__ == "__main__":
    main()
