"""Subscription lifecycle and heartbeats of a real notifier process."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from websockets.sync.client import connect

from shared import keys
from tests.conftest import Stack
from tests.harness import Proc, start_notifier, wait_until
from tests.wsclient import Socket


def channels(redis_url: str) -> set[str]:
    return {c.decode() for c in redis.Redis.from_url(redis_url).pubsub_channels(keys.PREFIX + ":u:*")}


def test_channel_subscribed_while_user_has_sockets(stack: Stack) -> None:
    user = f"sub-{uuid.uuid4().hex[:8]}"
    channel = keys.user_channel(user)
    first = Socket(f"{stack.ws_base}/{user}")
    second = Socket(f"{stack.ws_base}/{user}")
    wait_until(lambda: channel in channels(stack.redis_url), 5, "subscription")
    first.close()
    time.sleep(0.3)
    assert channel in channels(stack.redis_url), "unsubscribed while a socket remained"
    second.close()
    wait_until(lambda: channel not in channels(stack.redis_url), 5, "unsubscription")


@pytest.fixture
def fast_heartbeat_notifier(redis_url: str, tmp_path: Path) -> Iterator[Proc]:
    proc = start_notifier(redis_url, tmp_path, name="notifier-hb", WS_HEARTBEAT_SECONDS="0.6")
    yield proc
    proc.stop()


def test_silent_socket_is_pinged_then_closed(fast_heartbeat_notifier: Proc) -> None:
    url = f"ws://127.0.0.1:{fast_heartbeat_notifier.port}/ws/hb-{uuid.uuid4().hex[:6]}"
    silent = Socket(url)  # reads but never answers
    code = silent.wait_closed(timeout=5)
    assert code == 4002
    assert silent.of_type("ping"), "no heartbeat ping before the close"


def test_answering_socket_stays_open(fast_heartbeat_notifier: Proc) -> None:
    url = f"ws://127.0.0.1:{fast_heartbeat_notifier.port}/ws/hb-{uuid.uuid4().hex[:6]}"
    with connect(url, open_timeout=5) as ws:
        deadline = time.monotonic() + 3  # five heartbeat intervals
        while time.monotonic() < deadline:
            msg = ws.recv(timeout=2)
            if '"ping"' in msg:
                ws.send('{"type": "pong"}')
        ws.send('{"type": "ping"}')
        assert '"pong"' in ws.recv(timeout=2)


def test_per_user_socket_limit(redis_url: str, tmp_path: Path) -> None:
    proc = start_notifier(redis_url, tmp_path, name="notifier-limit", WS_MAX_SOCKETS_PER_USER="2")
    try:
        user = f"lim-{uuid.uuid4().hex[:6]}"
        url = f"ws://127.0.0.1:{proc.port}/ws/{user}"
        first, second = Socket(url), Socket(url)
        for s in (first, second):
            s.wait_for("connected")
        third = Socket(url)
        assert third.wait_closed() == 1008
        other = Socket(f"ws://127.0.0.1:{proc.port}/ws/{user}-other")  # other users are unaffected
        other.wait_for("connected")
        for s in (first, second, other):
            s.close()
    finally:
        proc.stop()
