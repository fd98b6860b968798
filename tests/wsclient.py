"""A small synchronous WebSocket test client that collects frames in the background."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect


class Frames:
    """Frames received by a reader thread, and the close code once the socket closed."""

    def __init__(self) -> None:
        self.frames: list[dict[str, Any]] = []
        self.closed_code: int | None = None
        self._cv = threading.Condition()

    def _received(self, raw: str | bytes) -> None:
        with self._cv:
            self.frames.append(json.loads(raw))
            self._cv.notify_all()

    def _closed(self, code: int) -> None:
        with self._cv:
            self.closed_code = code
            self._cv.notify_all()

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


class Socket(Frames):
    def __init__(self, url: str) -> None:
        super().__init__()
        self._stack = contextlib.ExitStack()
        self.conn: ClientConnection = self._stack.enter_context(connect(url, open_timeout=5, max_size=2**22))
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self.conn:
                self._received(raw)
        except ConnectionClosed:
            pass
        finally:
            code = self.conn.close_code
            self._closed(code if code is not None else -1)

    def send(self, frame: dict[str, Any] | str) -> None:
        self.conn.send(frame if isinstance(frame, str) else json.dumps(frame))

    def close(self) -> None:
        self._stack.close()
        self._thread.join(timeout=5)
