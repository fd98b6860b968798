"""Two gateways and two notifiers as processes, no sticky sessions: any notifier serves any user."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx

from tests.conftest import Stack
from tests.harness import make_test_jpeg, start_gateway, start_notifier
from tests.wsclient import Socket


def test_events_reach_sockets_on_both_notifiers_and_a_moved_client_misses_nothing(
    stack: Stack, tmp_path: Path
) -> None:
    gateway_b = start_gateway(stack.redis_url, tmp_path, name="gateway-b", **stack.env)
    notifier_b = start_notifier(stack.redis_url, tmp_path, name="notifier-b", **stack.env)
    try:
        user = f"replica-{uuid.uuid4().hex[:8]}"
        ws_a = f"{stack.ws_base}/{user}"
        ws_b = f"ws://127.0.0.1:{notifier_b.port}/ws/{user}"
        on_a, on_b = Socket(ws_a), Socket(ws_b)
        for s in (on_a, on_b):
            s.wait_for("connected")

        def queue(gateway_url: str, seed: int) -> str:
            url = stack.images.add(f"/{uuid.uuid4().hex}.jpg", make_test_jpeg(seed=seed))
            r = httpx.post(gateway_url + "/images/jobs", timeout=10,
                           json={"user_id": user, "image_url": url, "filters": ["wasps"], "intervention": "blur"})
            assert r.status_code == 202, r.text
            return url

        first = queue(gateway_b.url, 31)  # queued through the second gateway
        for s in (on_a, on_b):
            assert s.wait_for("image_processed", timeout=30)[0]["data"]["image_url"] == first
        last = on_a.of_type("image_processed")[-1]
        on_a.close()

        second = queue(stack.gateway.url, 32)  # while the client moves from notifier A to B
        on_b.wait_for("image_processed", count=2, timeout=30)
        moved = Socket(f"{ws_b}?epoch={last['epoch']}&offset={last['offset']}")
        hello = moved.wait_for("connected")[0]["data"]
        assert hello["recovered"] is True and hello["replayed"] == 1
        got = moved.wait_for("image_processed", timeout=10)
        assert [e["data"]["image_url"] for e in got] == [second]
        assert [e["offset"] for e in on_b.of_type("image_processed")] == [last["offset"], last["offset"] + 1]
        moved.close()
        on_b.close()
    finally:
        notifier_b.stop()
        gateway_b.stop()
