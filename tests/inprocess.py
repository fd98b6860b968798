"""The gateway and the notifier in the test process, against real Redis, for handler tests.

Each app is built by its own factory from Settings made here (nothing is read from the test
process's environment) and served by Starlette's ``TestClient``, which runs the app's lifespan.
Process behaviour (signals, sockets over TCP, restarts) is tested in tests/e2e and tests/reliability.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

from starlette.testclient import TestClient, WebSocketTestSession

from gateway.app import asgi_app as gateway_asgi_app
from notifier.app import create_app as create_notifier_app
from shared.config import Settings, load_settings

BASE_URL = "http://testserver"


def settings_for(redis_url: str, **env: str) -> Settings:
    """Settings as the process harness gives them (local moderation, loopback image hosts), plus ``env``."""
    return load_settings({
        "REDIS_URL": redis_url,
        "FETCH_ALLOW_PRIVATE_HOSTS": "127.0.0.1",
        "MODERATION_PROVIDER": "local",
        "PUBLIC_GATEWAY_URL": BASE_URL,
        **env,
    })


@contextlib.contextmanager
def gateway_client(redis_url: str, **env: str) -> Iterator[TestClient]:
    """The gateway as uvicorn serves it (CORS and request metrics included), lifespan running."""
    app = gateway_asgi_app(settings_for(redis_url, **env))
    with TestClient(app, base_url=BASE_URL, follow_redirects=False) as client:
        yield client


@contextlib.contextmanager
def notifier_client(redis_url: str, **env: str) -> Iterator[TestClient]:
    with TestClient(create_notifier_app(settings_for(redis_url, **env)), base_url=BASE_URL) as client:
        yield client


class AppSocket:
    """A notifier socket through ``TestClient``; frames are collected by a thread, like tests.wsclient.Socket."""

    def __init__(self, client: TestClient, path: str) -> None:
        self.session: WebSocketTestSession = client.websocket_connect(path).__enter__()
        self.frames: list[dict[str, Any]] = []
        self.closed_code: int | None = None
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        code = -1
        try:
            while True:
                message = self.session.receive()
                if message["type"] == "websocket.close":
                    code = message.get("code", 1000)
                    return
                with self._cv:
                    self.frames.append(json.loads(message["text"]))
                    self._cv.notify_all()
        except Exception:  # the session ended (closed by us): no more frames
            return
        finally:
            with self._cv:
                self.closed_code = code
                self._cv.notify_all()

    def send(self, frame: dict[str, Any] | str) -> None:
        self.session.send_text(frame if isinstance(frame, str) else json.dumps(frame))

    def wait_for(self, type_: str, timeout: float = 10.0, count: int = 1) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                found = [f for f in self.frames if f.get("type") == type_]
                if len(found) >= count:
                    return found
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.closed_code is not None:
                    raise TimeoutError(f"no {count}x {type_!r} within {timeout}s; got {self.frames}")
                self._cv.wait(remaining)

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        with self._cv:
            return [f for f in self.frames if f.get("type") == type_]

    def wait_closed(self, timeout: float = 10.0) -> int:
        deadline = time.monotonic() + timeout
        with self._cv:
            while self.closed_code is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("socket not closed")
                self._cv.wait(remaining)
            return self.closed_code

    def close(self) -> None:
        self.session.__exit__(None, None, None)
        self._thread.join(timeout=5)
