"""Hostile WebSocket clients against a real notifier: oversized frames (ws_max_size 64 KiB), binary frames,
floods of frames from one socket while another user's socket must keep getting its events promptly."""

from __future__ import annotations

import multiprocessing
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from devtools.redis_server import EmbeddedRedis
from tests.reliability import procs
from tests.reliability.figures import record, scale
from tests.reliability.load import Publisher, uid
from tests.wsclient import Socket


def closed_code(url: str, payload: str | bytes, *, timeout: float = 5.0) -> tuple[int | None, float]:
    t0 = time.monotonic()
    with connect(url, open_timeout=5, max_size=2**22) as ws:
        try:
            ws.recv(timeout=5)  # connected (or closed at once)
            ws.send(payload)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                ws.recv(timeout=deadline - time.monotonic())
        except (ConnectionClosed, TimeoutError):
            pass
        return ws.close_code, time.monotonic() - t0


def test_oversized_binary_and_garbage_frames(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    nt = procs.notifier(own_redis.url, tmp_path, name="notifier-hostile")
    try:
        base = f"ws://127.0.0.1:{nt.port}/ws"
        big, big_s = closed_code(f"{base}/{uid('big')}", '{"type": "ping", "pad": "' + "x" * 100_000 + '"}')
        binary, binary_s = closed_code(f"{base}/{uid('bin')}", b"\x00\x01binary")
        # Garbage and unknown types: answered with error frames, the socket stays open.
        s = Socket(f"{base}/{uid('junk')}")
        s.wait_for("connected")
        for junk in ("not json", "[]", '{"type": 5}', '{"type": "x" }', '{"type": "wait_for_image", "data": 1}',
                     '{"type": "resume", "data": {"epoch": "e", "offset": "NaN"}}', '{"' + "a" * 60_000 + '": 1}'):
            s.send(junk)
        errors = s.wait_for("error", count=7, timeout=5)
        s.send({"type": "ping", "id": "still-alive"})
        assert s.wait_for("pong", timeout=5)
        s.close()
        # Bad user ids in the path.
        bad_id, _ = closed_code(f"{base}/{'u' * 300}", "{}")
        record("ws_hostile_frames", oversized_close=big, oversized_s=big_s, binary_close=binary, binary_s=binary_s,
               garbage_frames=7, error_replies=len(errors), long_user_id_close=bad_id,
               fence_breaches=procs.fence_breaches(nt))
        assert big == 1009 and binary == 1008 and bad_id == 1008
        assert procs.fence_breaches(nt) == 0
    finally:
        nt.stop()


def _flood(base: str, user: str, frames: int, all_connected: threading.Barrier) -> tuple[int, int | None]:
    """One socket sending pings (each answered with a pong it never reads) and garbage, as fast as it can, once
    every flooder is connected; the frames it sent and how the notifier closed it."""
    sent = 0
    try:
        with connect(f"{base}/{user}", open_timeout=5, max_size=2**22) as ws:
            all_connected.wait(timeout=30)
            deadline = time.monotonic() + 60
            for n in range(frames):
                if time.monotonic() > deadline:
                    break
                ws.send('{"type": "ping"}' if n % 2 else "garbage{")
                sent += 1
            return sent, ws.close_code
    except (ConnectionClosed, OSError) as exc:
        return sent, getattr(getattr(exc, "rcvd", None), "code", -1)


def _flood_all(base: str, users: list[str], frames: int, started: Any, outcomes: Any) -> None:
    """The flood process: every flooder at once; ``started`` is set when all are connected."""
    all_connected = threading.Barrier(len(users), action=started.set)
    with ThreadPoolExecutor(max_workers=len(users)) as pool:
        outcomes.put(list(pool.map(lambda user: _flood(base, user, frames, all_connected), users)))


def test_flood_does_not_starve_other_sockets(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    nt = procs.notifier(own_redis.url, tmp_path, name="notifier-flood")
    base = f"ws://127.0.0.1:{nt.port}/ws"
    flooders = scale(4, 16)
    frames_each = scale(5_000, 50_000)
    victim_user = uid("victim")
    victim = Socket(f"{base}/{victim_user}")
    victim.wait_for("connected")
    publisher = Publisher(own_redis.url, victim_user)
    latencies: list[float] = []
    # The flooders run in a process of their own: as threads of this one they competed with the victim's
    # reader for the GIL, and their scheduling showed up as the victim's latency (seconds on a busy machine).
    spawn = multiprocessing.get_context("spawn")
    started, outcomes = spawn.Event(), spawn.Queue()
    flood = spawn.Process(target=_flood_all, args=(base, [uid("flood") for _ in range(flooders)], frames_each,
                                                    started, outcomes), daemon=True)
    try:
        flood.start()
        assert started.wait(30), "the flooders did not connect"
        # Meanwhile the victim gets an event every 20 ms; each one's publish-to-receive latency is measured.
        for i in range(scale(100, 1000)):
            before = len(victim.of_type("image_processed"))
            t0 = time.monotonic()
            assert publisher.publish(i) is not None, f"event {i} was not published"
            victim.wait_for("image_processed", count=before + 1, timeout=10)
            latencies.append(time.monotonic() - t0)
            time.sleep(0.02)
        results = outcomes.get(timeout=70)
        sent = [n for n, _ in results]
        closes = [code for _, code in results]
        latencies.sort()
        figures = {
            "flooders": flooders, "frames_sent": sum(sent), "victim_events": len(latencies),
            "victim_p50_ms": 1000 * statistics.median(latencies),
            "victim_p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "victim_max_ms": 1000 * latencies[-1], "flooder_closes": ",".join(str(c) for c in closes),
            "notifier_alive": nt.popen.poll() is None,
        }
        record("ws_flood_vs_other_sockets", **figures)
        assert nt.popen.poll() is None
        assert latencies[-1] < 2.0, figures
        assert figures["victim_p99_ms"] < 500, figures
    finally:
        if flood.is_alive():
            flood.kill()
        flood.join(timeout=10)
        victim.close()
        publisher.close()
        nt.stop()
