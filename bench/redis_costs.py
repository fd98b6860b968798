"""Redis operations per feed page, per event and per image job, measured; and the capacity model.

Real processes (gateway, notifier, worker) on one Redis; ``CONFIG RESETSTAT`` before each phase and
``INFO commandstats`` after it count every command Redis executed, commands run inside Lua scripts
included. A job is measured against an idle baseline of the same length (Dramatiq's Redis broker
polls its queues while idle). ``redis-benchmark`` (Debian's redis-tools, installed with
redis-server) gives what one Redis primary does per second on this machine, and a short closed loop
gives cached pages per second of one gateway process. The capacity table multiplies these by the
workload written in ``WORKLOAD`` below: every assumption is printed next to the result.
Bounded: fixed counts, loopback only.
"""

from __future__ import annotations

import concurrent.futures
import math
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson
import redis

from devtools.redis_server import EmbeddedRedis
from gateway.viewer.samplegen import reddit_page
from shared import imagejobs
from tests.harness import (
    DEFAULT_PREFIX,
    ImageServer,
    make_test_jpeg,
    start_gateway,
    start_notifier,
    start_worker,
    wait_until,
)
from tests.wsclient import Socket

REDDIT_URL = "https://www.reddit.com/"
PAGES = 20
EVENTS = 200
JOBS = 30

# What one concurrently active user does (stated, not measured): a feed page every 10 s of scrolling,
# one page in five has posts nobody with the same filters saw before, one image job (an image post
# matching an image filter, with its one event) per five pages, one socket held.
WORKLOAD = {"pages_per_min": 6.0, "uncached_share": 0.2, "jobs_per_page": 0.2}
# Per-process figures not measured here (README benchmarks): sockets one notifier holds, events/s one
# notifier delivers to 10k sockets within p99 25 ms, 2 MP local blur jobs/s per worker process.
NOTIFIER_SOCKETS = 19_000
NOTIFIER_EVENTS_PER_S = 2_000
WORKER_JOBS_PER_S = 15.0


def commandstats(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())


def phase(client: redis.Redis, action: object, idle_per_s: float = 0.0) -> tuple[float, float]:
    """Commands Redis ran during ``action``, less the idle background (the worker's queue polling)."""
    client.config_resetstat()
    started = time.perf_counter()
    action()  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    ran = commandstats(client) - 1  # the INFO call itself is not counted; RESETSTAT is not either
    return ran - idle_per_s * elapsed, elapsed


def redis_capacity(port: int) -> dict[str, float]:
    if shutil.which("redis-benchmark") is None:
        return {}
    out = subprocess.run(
        ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-q", "-n", "100000", "-c", "50", "-t", "get,set,incr"],
        capture_output=True, text=True, timeout=120,
    ).stdout
    rates = {}
    for line in out.replace("\r", "\n").splitlines():
        if "requests per second" in line:
            name, _, rest = line.partition(":")
            rates[name.strip()] = float(rest.split("requests per second")[0].strip())
    return rates


def pages_per_second(url: str, user: str, body: str, seconds: float = 5.0, clients: int = 8) -> float:
    deadline = time.monotonic() + seconds

    def loop() -> int:
        n = 0
        with httpx.Client(base_url=url, timeout=30) as http:
            while time.monotonic() < deadline:
                http.post("/get_feed", json={"user_id": user, "url": REDDIT_URL,
                                             "data": {"feed_info": {"response": body}}}).raise_for_status()
                n += 1
        return n

    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(lambda _: loop(), range(clients)))
    return total / seconds


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        server = EmbeddedRedis(base / "redis", appendonly=False)
        server.start()
        images = ImageServer()
        images.start()
        gw = start_gateway(server.url, base / "logs")
        nt = start_notifier(server.url, base / "logs")
        wk = start_worker(server.url, base / "logs", gw.url)
        client = redis.Redis.from_url(server.url)
        try:
            user = f"cost-{uuid.uuid4().hex[:6]}"
            with httpx.Client(base_url=gw.url, timeout=30) as http:
                for text in ("spiders", "war footage", "pregnancy announcements"):
                    body = {"user_id": user, "filter_text": text, "intensity": 3}
                    http.post("/filters", json=body).raise_for_status()
                # Image hosts point at the local image server, so image jobs succeed and their results are
                # cached as in production (an unreachable host would requeue its job on every page).
                images.default = make_test_jpeg(seed=9)
                base = images.url("") + DEFAULT_PREFIX
                bodies = []
                for i in range(PAGES):
                    body = reddit_page(25, seed=100 + i).body
                    for host in ("https://preview.redd.it", "https://i.redd.it"):
                        body = body.replace(host, base + host.split("//")[1].split(".")[0])
                    bodies.append(body)

                def feed(body: str) -> None:
                    http.post("/get_feed", json={"user_id": user, "url": REDDIT_URL,
                                                 "data": {"feed_info": {"response": body}}}).raise_for_status()

                idle_ops, idle_s = phase(client, lambda: time.sleep(3.0))
                idle = idle_ops / idle_s
                uncached_ops, _ = phase(client, lambda: [feed(b) for b in bodies], idle)
                time.sleep(2.0)  # the pages' image jobs finish
                cached_ops, _ = phase(client, lambda: [feed(b) for b in bodies], idle)
                pages_s = pages_per_second(gw.url, user, bodies[0])

            publish = client.register_script(imagejobs.PUBLISH_EVENT)
            event = orjson.dumps({"type": "image_processed", "data": {"image_url": "u", "result": "r", "filters": []}})
            sockets = [Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}-ev{i}") for i in range(10)]
            for s in sockets:
                s.wait_for("connected")

            def events() -> None:
                for n in range(EVENTS):
                    k, a = imagejobs.publish_args(f"{user}-ev{n % 10}", f"d{n}", event.decode(), 1000)
                    publish(keys=k, args=a)
                wait_until(lambda: sum(len(s.of_type("image_processed")) for s in sockets) >= EVENTS, 30, "events")

            event_ops, _ = phase(client, events, idle)
            for s in sockets:
                s.close()

            job_socket = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}")
            job_socket.wait_for("connected")

            def jobs() -> None:
                with httpx.Client(base_url=gw.url, timeout=30) as http:
                    urls = [images.add(f"/cost-{uuid.uuid4().hex}.jpg", make_test_jpeg(seed=i)) for i in range(JOBS)]
                    for u in urls:
                        http.post("/images/jobs", json={"user_id": user, "image_url": u, "filters": ["spiders"],
                                                        "intervention": "blur"}).raise_for_status()
                job_socket.wait_for("image_processed", timeout=60, count=JOBS)

            job_ops, _ = phase(client, jobs, idle)
            job_socket.close()
            capacity = redis_capacity(server.port)
        finally:
            client.close()
            for p in (wk, nt, gw):
                p.stop()
            images.stop()
            server.stop()

    per_uncached = uncached_ops / PAGES
    per_cached = cached_ops / PAGES
    per_event = event_ops / EVENTS
    per_job = job_ops / JOBS
    print("\nRedis commands (INFO commandstats, inside scripts included)")
    print(f"  per uncached 25-post page (3 filters): {per_uncached:.1f}")
    print(f"  per cached 25-post page:               {per_cached:.1f}")
    print(f"  per event (log append + publish):      {per_event:.1f} (part of a job's cost below)")
    print(f"  per image job, request to announced result (its one event included): {per_job:.1f}")
    print(f"  idle background (worker queue polling), subtracted from each figure: {idle:.0f} commands/s")
    print(f"  one gateway process, cached pages/s (8 clients, closed loop): {pages_s:.0f}")
    redis_ops = min(capacity.values()) if capacity else float("nan")
    print(f"  one Redis primary (redis-benchmark, 50 clients, lowest of {sorted(capacity)}): {redis_ops:.0f} ops/s")

    w = WORKLOAD
    pages_per_s_per_user = w["pages_per_min"] / 60
    ops_per_user_s = pages_per_s_per_user * (
        (1 - w["uncached_share"]) * per_cached + w["uncached_share"] * per_uncached
        + w["jobs_per_page"] * per_job
    )
    print(f"\ncapacity model; workload per active user: {w}; assumed per process: notifier {NOTIFIER_SOCKETS} sockets "
          f"and {NOTIFIER_EVENTS_PER_S} events/s, worker {WORKER_JOBS_PER_S} jobs/s; Redis primaries run at "
          "50% of the measured ops/s")
    print(f"{'active users':>12} {'pages/s':>8} {'gateways':>9} {'notifiers':>10} {'workers':>8} "
          f"{'Redis ops/s':>12} {'primaries':>10}")
    for users in (10_000, 100_000, 1_000_000):
        pages = users * pages_per_s_per_user
        events_s = pages * w["jobs_per_page"]
        gateways = math.ceil(pages / (pages_s * 0.5))
        notifiers = max(math.ceil(users / NOTIFIER_SOCKETS), math.ceil(events_s / NOTIFIER_EVENTS_PER_S))
        workers = math.ceil(pages * w["jobs_per_page"] / WORKER_JOBS_PER_S)
        ops = users * ops_per_user_s
        primaries = max(1, math.ceil(ops / (redis_ops * 0.5)))
        print(f"{users:>12,} {pages:>8.0f} {gateways:>9} {notifiers:>10} {workers:>8} {ops:>12,.0f} {primaries:>10}")


if __name__ == "__main__":
    main()
