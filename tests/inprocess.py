"""The gateway and the notifier in the test process, against real Redis, for handler tests.

Each app is built by its own factory from Settings made here (nothing is read from the test
process's environment) and served by Starlette's ``TestClient``, which runs the app's lifespan.
Process behaviour (signals, sockets over TCP, restarts) is tested in tests/e2e and tests/reliability.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import anyio
from starlette.testclient import TestClient, WebSocketTestSession

from gateway.app import asgi_app as gateway_asgi_app
from notifier.app import create_app as create_notifier_app
from shared.config import Settings, load_settings
from tests.wsclient import Frames

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


class AppSocket(Frames):
    """A notifier socket through ``TestClient``, with the same API as tests.wsclient.Socket."""

    def __init__(self, client: TestClient, path: str) -> None:
        super().__init__()
        self.session: WebSocketTestSession = client.websocket_connect(path).__enter__()
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
                self._received(message["text"])
        except anyio.ClosedResourceError:  # closed by us (close()): the session's streams are gone
            return
        finally:
            self._closed(code)

    def send(self, frame: dict[str, Any] | str) -> None:
        self.session.send_text(frame if isinstance(frame, str) else json.dumps(frame))

    def close(self) -> None:
        self.session.__exit__(None, None, None)
        self._thread.join(timeout=5)
