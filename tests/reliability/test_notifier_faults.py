"""Notifiers killed (SIGKILL) and restarted one by one under load, two of them: every client reconnects
to the other with (epoch, offset) and misses nothing, gets nothing twice."""

from __future__ import annotations

import signal
import statistics
import threading
import time
from pathlib import Path

import redis

from devtools.redis_server import EmbeddedRedis
from shared import keys
from tests.harness import Proc
from tests.reliability import procs
from tests.reliability.figures import record, scale
from tests.reliability.load import Publisher, uid
from tests.reliability.wsclients import ResilientClient


def log_offsets(client: redis.Redis, user: str) -> list[int]:
    return [int(i.decode().split("-")[0]) for i, _ in client.xrange(keys.user_log_key(user))]


def test_notifier_sigkill_and_rolling_restart(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    url = own_redis.url
    notifiers: list[Proc] = [procs.notifier(url, tmp_path, name=f"notifier-{i}") for i in range(2)]
    ports = [n.port for n in notifiers]
    bases = [f"ws://127.0.0.1:{p}/ws" for p in ports]
    users = [uid("roll") for _ in range(scale(20, 100))]
    clients = [ResilientClient(u, bases if i % 2 == 0 else bases[::-1]) for i, u in enumerate(users)]
    publishers = {u: Publisher(url, u) for u in users}
    stop = threading.Event()
    try:
        for c in clients:
            c.start()
        for c in clients:
            assert c.connected.wait(10), f"{c.user} never connected"

        def publish_loop() -> None:
            deadline = time.monotonic() + 180
            for i in range(scale(20_000, 200_000)):
                if stop.is_set() or time.monotonic() > deadline:
                    return
                publishers[users[i % len(users)]].publish(i)
                if i % len(users) == 0:
                    stop.wait(0.01)  # about 100 rounds a second

        thread = threading.Thread(target=publish_loop, daemon=True)
        thread.start()
        time.sleep(1.0)
        timeline: list[str] = []
        rounds = scale(1, 4)
        for _ in range(rounds):
            # SIGKILL one notifier: its sockets drop without a close frame.
            notifiers[0].kill()
            timeline.append("kill notifier-0")
            time.sleep(1.0)
            notifiers[0] = procs.notifier(url, tmp_path, name="notifier-0", port=ports[0])
            time.sleep(1.0)
            # Rolling restart: each in turn gets SIGTERM (going away, 1001) and comes back on its port.
            for i in (1, 0):
                notifiers[i].stop(signal.SIGTERM)
                timeline.append(f"restart notifier-{i}")
                notifiers[i] = procs.notifier(url, tmp_path, name=f"notifier-{i}", port=ports[i])
                time.sleep(1.0)
        stop.set()
        thread.join(timeout=10)
        check = redis.Redis.from_url(url)
        sent = received = lost = dups = 0
        deadline = time.monotonic() + 10
        for c in clients:
            expected = [o for o in log_offsets(check, c.user) if o > (c.start_offset or 0)]
            while set(c.offsets) < set(expected) and time.monotonic() < deadline:
                time.sleep(0.05)
            sent += len(expected)
            received += len(set(c.offsets) & set(expected))
            lost += len(set(expected) - set(c.offsets))
            dups += len(c.offsets) - len(set(c.offsets))
        check.close()
        gaps = [g for c in clients for g in c.reconnect_gaps]
        figures = {
            "clients": len(clients), "notifier_kills": rounds, "rolling_restarts": 2 * rounds,
            "reconnects": sum(c.connects - 1 for c in clients), "reconnect_s_median": statistics.median(gaps),
            "reconnect_s_max": max(gaps), "events_sent": sent, "events_received": received, "events_lost": lost,
            "duplicates": dups, "resumes_not_recovered": sum(c.not_recovered for c in clients),
            "fence_breaches": procs.fence_breaches(*notifiers),
        }
        record("notifier_kill_and_rolling_restart", **figures)
        assert lost == 0 and dups == 0, figures
        assert figures["resumes_not_recovered"] == 0
        assert sent > 100 * rounds
        assert figures["fence_breaches"] == 0
    finally:
        stop.set()
        for c in clients:
            c.stop()
        for p in publishers.values():
            p.close()
        for n in notifiers:
            n.stop()
