"""Subscription lifecycle, heartbeats and socket limits of the notifier app (in process, real Redis)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from starlette.testclient import TestClient

from shared import keys
from tests.harness import wait_until
from tests.inprocess import AppSocket, notifier_client


def channels(redis_url: str) -> set[str]:
    return {c.decode() for c in redis.Redis.from_url(redis_url).pubsub_channels(keys.PREFIX + ":u:*")}


def test_channel_subscribed_while_user_has_sockets(notifier_api: TestClient, redis_url: str) -> None:
    user = f"sub-{uuid.uuid4().hex[:8]}"
    channel = keys.user_channel(user)
    first = AppSocket(notifier_api, f"/ws/{user}")
    second = AppSocket(notifier_api, f"/ws/{user}")
    wait_until(lambda: channel in channels(redis_url), 5, "subscription")
    first.close()
    time.sleep(0.3)
    assert channel in channels(redis_url), "unsubscribed while a socket remained"
    second.close()
    wait_until(lambda: channel not in channels(redis_url), 5, "unsubscription")


@pytest.fixture(scope="module")
def fast_heartbeat_notifier(redis_url: str) -> Iterator[TestClient]:
    with notifier_client(redis_url, WS_HEARTBEAT_SECONDS="0.6") as client:
        yield client


def test_silent_socket_is_pinged_then_closed(fast_heartbeat_notifier: TestClient) -> None:
    silent = AppSocket(fast_heartbeat_notifier, f"/ws/hb-{uuid.uuid4().hex[:6]}")  # reads but never answers
    code = silent.wait_closed(timeout=5)
    assert code == 4002
    assert silent.of_type("ping"), "no heartbeat ping before the close"
    silent.close()


def test_answering_socket_stays_open(fast_heartbeat_notifier: TestClient) -> None:
    ws = AppSocket(fast_heartbeat_notifier, f"/ws/hb-{uuid.uuid4().hex[:6]}")
    answered = 0
    deadline = time.monotonic() + 3  # five heartbeat intervals
    while time.monotonic() < deadline:
        assert ws.closed_code is None, ws.frames
        pings = len(ws.of_type("ping"))
        if pings > answered:
            ws.send('{"type": "pong"}')
            answered = pings
        time.sleep(0.02)
    assert answered, "no heartbeat ping in five intervals"
    ws.send('{"type": "ping"}')
    ws.wait_for("pong", timeout=2)
    ws.close()


def test_per_user_socket_limit(redis_url: str) -> None:
    with notifier_client(redis_url, WS_MAX_SOCKETS_PER_USER="2") as notifier:
        user = f"lim-{uuid.uuid4().hex[:6]}"
        first, second = AppSocket(notifier, f"/ws/{user}"), AppSocket(notifier, f"/ws/{user}")
        for s in (first, second):
            s.wait_for("connected")
        third = AppSocket(notifier, f"/ws/{user}")
        assert third.wait_closed() == 1008
        other = AppSocket(notifier, f"/ws/{user}-other")  # other users are unaffected
        other.wait_for("connected")
        for s in (first, second, other, third):
            s.close()
