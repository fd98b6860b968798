"""No lost events: resume by (epoch, offset), replicas, pub/sub loss, shutdown, slow clients.

The notifier app runs in process (real Redis) except where the process itself is the subject: shutdown
on SIGTERM and a slow client on a real TCP socket.
"""

from __future__ import annotations

import base64
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
import redis
from starlette.testclient import TestClient

from shared import imagejobs
from tests.harness import start_notifier, wait_until
from tests.inprocess import AppSocket, notifier_client
from tests.wsclient import Frames, Socket


def publish(redis_url: str, user: str, n: int, *, log_len: int = 1000, log_seconds: int = 600,
            size: int = 0) -> list[tuple[str, int]]:
    client = redis.Redis.from_url(redis_url)
    script = client.register_script(imagejobs.PUBLISH_EVENT)
    out = []
    for i in range(n):
        event = {"type": "image_processed", "data": {"image_url": f"https://img/{i}", "result": "r",
                                                      "filters": [], "pad": "x" * size}}
        keys_, args = imagejobs.publish_args(user, uuid.uuid4().hex, orjson.dumps(event).decode(), log_len,
                                             log_seconds)
        epoch, offset = script(keys=keys_, args=args)
        out.append((epoch.decode(), int(offset)))
    return out


def offsets(sock: Frames) -> list[int]:
    return [f["offset"] for f in sock.of_type("image_processed")]


@pytest.fixture
def notifier(redis_url: str) -> Iterator[TestClient]:
    with notifier_client(redis_url) as client:
        yield client


def ws(notifier: TestClient, user: str, query: str = "") -> AppSocket:
    return AppSocket(notifier, f"/ws/{user}{query}")


def test_connected_frame_then_resume_replays_exactly_the_gap(notifier: TestClient, redis_url: str) -> None:
    user = f"r-{uuid.uuid4().hex[:8]}"
    publish(redis_url, user, 2)  # history before the client ever connected
    s = ws(notifier, user)
    hello = s.wait_for("connected")[0]["data"]
    assert hello["offset"] == 2 and hello["resumed"] is False
    live = publish(redis_url, user, 3)
    s.wait_for("image_processed", count=3)
    assert offsets(s) == [3, 4, 5]  # history is not replayed to a fresh socket
    epoch, last = live[-1]
    s.close()
    missed = publish(redis_url, user, 4)  # published while disconnected
    s2 = ws(notifier, user, f"?epoch={epoch}&offset={last}")
    hello2 = s2.wait_for("connected")[0]["data"]
    assert hello2 == {"epoch": epoch, "offset": missed[-1][1], "resumed": True, "recovered": True, "replayed": 4}
    s2.wait_for("image_processed", count=4)
    publish(redis_url, user, 1)
    s2.wait_for("image_processed", count=5)
    assert offsets(s2) == [6, 7, 8, 9, 10]  # no gap, no duplicate, in order
    assert s2.frames[0]["type"] == "connected"
    s2.close()


def test_resume_frame_and_gap_older_than_the_log(notifier: TestClient, redis_url: str) -> None:
    user = f"g-{uuid.uuid4().hex[:8]}"
    first = publish(redis_url, user, 1)
    epoch = first[0][0]
    publish(redis_url, user, 30, log_len=5, log_seconds=0)  # trims the log to ~5 entries
    s = ws(notifier, user)
    s.wait_for("connected")
    s.send({"type": "resume", "data": {"epoch": epoch, "offset": 1}})
    hellos = s.wait_for("connected", count=2)
    assert hellos[1]["data"]["recovered"] is False
    assert hellos[1]["data"]["replayed"] >= 1  # what the log still has is sent anyway
    # A different epoch (the log was lost) is never "recovered".
    s3 = ws(notifier, user, "?epoch=not-the-epoch&offset=3")
    assert s3.wait_for("connected")[0]["data"]["recovered"] is False
    assert s3.of_type("image_processed") == []
    s.close()
    s3.close()


def test_client_moves_between_two_notifiers_without_missing_anything(redis_url: str, notifier: TestClient) -> None:
    with notifier_client(redis_url) as other:
        user = f"m-{uuid.uuid4().hex[:8]}"
        a, b = ws(notifier, user), ws(other, user)
        for s in (a, b):
            s.wait_for("connected")
        publish(redis_url, user, 3)
        for s in (a, b):
            s.wait_for("image_processed", count=3)
        last = a.of_type("image_processed")[-1]
        a.close()
        publish(redis_url, user, 2)  # while the client moves
        moved = ws(other, user, f"?epoch={last['epoch']}&offset={last['offset']}")
        moved.wait_for("image_processed", count=2)
        assert offsets(moved) == [4, 5]
        b.wait_for("image_processed", count=5)
        assert offsets(b) == [1, 2, 3, 4, 5]
        moved.close()
        b.close()


def test_pubsub_connection_loss_is_repaired(notifier: TestClient, redis_url: str) -> None:
    user = f"p-{uuid.uuid4().hex[:8]}"
    s = ws(notifier, user)
    s.wait_for("connected")
    publish(redis_url, user, 1)
    s.wait_for("image_processed")
    client = redis.Redis.from_url(redis_url)
    killed = client.client_kill_filter(_type="pubsub")
    assert killed >= 1
    publish(redis_url, user, 3)  # some of these go out while the notifier has no subscription
    started = time.monotonic()
    s.wait_for("image_processed", count=4, timeout=5)
    assert time.monotonic() - started < 3
    assert offsets(s) == [1, 2, 3, 4]
    s.close()


def test_shutdown_closes_sockets_with_going_away(redis_url: str, tmp_path: Path) -> None:
    proc = start_notifier(redis_url, tmp_path, name="notifier-shutdown")
    s = Socket(f"ws://127.0.0.1:{proc.port}/ws/s-{uuid.uuid4().hex[:8]}")
    s.wait_for("connected")
    proc.popen.send_signal(signal.SIGTERM)
    assert s.wait_closed(timeout=10) == 1001
    proc.stop()


def raw_socket_that_never_reads(port: int, user: str) -> socket.socket:
    """A WebSocket handshake over a plain TCP socket with a tiny receive buffer, then silence."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET /ws/{user} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                  f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    assert b"101" in sock.recv(1024).split(b"\r\n")[0]
    return sock


def test_slow_client_is_closed_without_slowing_others(redis_url: str, tmp_path: Path) -> None:
    proc = start_notifier(redis_url, tmp_path, name="notifier-slow", WS_SEND_QUEUE="8")
    slow_user, fast_user = f"slow-{uuid.uuid4().hex[:6]}", f"fast-{uuid.uuid4().hex[:6]}"
    slow = raw_socket_that_never_reads(proc.port or 0, slow_user)
    try:
        fast = Socket(f"ws://127.0.0.1:{proc.port}/ws/{fast_user}")
        fast.wait_for("connected")
        started = time.monotonic()
        for _ in range(40):
            publish(redis_url, slow_user, 20, size=100_000)
            publish(redis_url, fast_user, 1)
        fast.wait_for("image_processed", count=40, timeout=10)
        assert time.monotonic() - started < 20

        def slow_closed() -> bool:
            return b"notifier_slow_client_closes_total 1.0" in httpx.get(f"http://127.0.0.1:{proc.port}/metrics").content

        wait_until(slow_closed, 10, "slow client close")
        fast.close()
    finally:
        slow.close()
        proc.stop()


def test_an_event_lost_on_the_way_is_filled_in_from_the_log(notifier: TestClient, redis_url: str) -> None:
    """An offset jump (a pub/sub message that never arrived) makes the notifier replay the gap."""
    user = f"gap-{uuid.uuid4().hex[:8]}"
    s = ws(notifier, user)
    s.wait_for("connected")
    publish(redis_url, user, 1)
    s.wait_for("image_processed")
    client = redis.Redis.from_url(redis_url)
    script = client.register_script(imagejobs.PUBLISH_EVENT)
    for i in range(2):  # logged, but published on a channel nobody listens to
        event = {"type": "image_processed", "data": {"image_url": f"https://lost/{i}", "result": "r", "filters": []}}
        keys_, args = imagejobs.publish_args(user, uuid.uuid4().hex, orjson.dumps(event).decode(), 1000)
        args[0] = "dm:nowhere"
        script(keys=keys_, args=args)
    publish(redis_url, user, 1)  # offset 4 arrives live: 2 and 3 are missing
    s.wait_for("image_processed", count=4, timeout=5)
    assert offsets(s) == [1, 2, 3, 4]
    s.close()
