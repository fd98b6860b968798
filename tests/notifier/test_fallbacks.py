"""The native speed-ups are the default, and the pure-Python fallbacks still work end to end."""

from __future__ import annotations

import importlib.util
import uuid
from pathlib import Path

import pytest

from tests.harness import start_notifier
from tests.notifier.test_resume import publish
from tests.wsclient import Socket

NATIVE = all(importlib.util.find_spec(m) for m in ("uvloop", "httptools", "hiredis"))


def deliver_one_event(redis_url: str, tmp_path: Path, name: str, **env: str) -> str:
    """Start a notifier, deliver one event to a socket, return the notifier's log."""
    notifier = start_notifier(redis_url, tmp_path, name=name, **env)
    try:
        user = f"fb-{uuid.uuid4().hex[:8]}"
        sock = Socket(f"ws://127.0.0.1:{notifier.port}/ws/{user}")
        sock.wait_for("connected")
        publish(redis_url, user, 1)
        assert sock.wait_for("image_processed")[0]["offset"] == 1
        sock.close()
        return notifier.log_path.read_text(errors="replace")
    finally:
        notifier.stop()


def test_notifier_on_plain_asyncio_h11_and_the_python_redis_parser(redis_url: str, tmp_path: Path) -> None:
    log = deliver_one_event(redis_url, tmp_path, "notifier-pure", EVENT_LOOP="asyncio", HTTP_PARSER="h11",
                            REDIS_PARSER="python")
    assert "event loop asyncio" in log and "HTTP parser h11" in log and "Redis parser python" in log, log


@pytest.mark.skipif(not NATIVE, reason="uvloop, httptools or hiredis has no build for this platform")
def test_notifier_uses_uvloop_httptools_and_hiredis_by_default(redis_url: str, tmp_path: Path) -> None:
    log = deliver_one_event(redis_url, tmp_path, "notifier-native")
    assert "event loop uvloop, HTTP parser httptools, Redis parser hiredis" in log, log
