"""The socket protocol against the notifier app (in process, real Redis)."""

from __future__ import annotations

import uuid

from starlette.testclient import TestClient

from tests.inprocess import AppSocket


def test_ping_gets_pong_and_bad_frames_get_errors_without_closing(notifier_api: TestClient) -> None:
    s = AppSocket(notifier_api, f"/ws/{uuid.uuid4().hex}")
    try:
        s.send({"type": "ping", "data": {"timestamp": "2025-01-01T00:00:00Z"}, "id": "abc"})
        pong = s.wait_for("pong", timeout=5)[0]
        assert pong["id"] == "abc" and pong["data"]["timestamp"]
        s.send("{not json")
        s.send({"no": "type"})
        s.send({"type": "wait_for_image", "data": {"filters": ["x"]}})
        s.send({"type": "teleport"})
        errors = s.wait_for("error", timeout=5, count=4)
        assert all(e["data"]["message"] for e in errors)
        s.send({"type": "ping"})
        assert len(s.wait_for("pong", timeout=5, count=2)) == 2  # still open
    finally:
        s.close()
