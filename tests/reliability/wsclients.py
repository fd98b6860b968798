"""A resilient WebSocket client like the extension's: on any close it reconnects to the next notifier and
resumes from the last (epoch, offset) it saw. Bounded in attempts and time; runs in its own thread."""

from __future__ import annotations

import json
import random
import threading
import time
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.sync.client import connect


@dataclass
class ResilientClient:
    user: str
    urls: list[str]  # ws://127.0.0.1:port/ws base URLs; starts on urls[0]
    max_seconds: float = 120.0
    max_connects: int = 500
    offsets: list[int] = field(default_factory=list)
    start_offset: int | None = None  # the log head when it first connected
    connects: int = 0
    reconnect_gaps: list[float] = field(default_factory=list)  # close -> next "connected" frame, seconds
    not_recovered: int = 0  # resumes the server could not fully replay
    epoch: str | None = None
    offset: int | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    connected: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, daemon=True, name=f"ws-{self.user}")
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _url(self, index: int) -> str:
        base = f"{self.urls[index % len(self.urls)]}/{self.user}"
        if self.epoch is not None and self.offset is not None:
            return f"{base}?epoch={self.epoch}&offset={self.offset}"
        return base

    def _run(self) -> None:
        deadline = time.monotonic() + self.max_seconds
        index = 0
        closed_at: float | None = None
        while not self._stop.is_set() and time.monotonic() < deadline and self.connects < self.max_connects:
            try:
                with connect(self._url(index), open_timeout=2, close_timeout=1, max_size=2**22) as ws:
                    self.connects += 1
                    while not self._stop.is_set() and time.monotonic() < deadline:
                        try:
                            raw = ws.recv(timeout=0.5)
                        except TimeoutError:
                            continue
                        frame = json.loads(raw)
                        kind = frame.get("type")
                        if kind == "connected":
                            data = frame["data"]
                            if self.start_offset is None:
                                self.start_offset = int(data["offset"])
                                self.epoch, self.offset = data["epoch"], int(data["offset"])
                            elif data.get("recovered") is False:
                                self.not_recovered += 1
                            if closed_at is not None:
                                self.reconnect_gaps.append(time.monotonic() - closed_at)
                                closed_at = None
                            self.connected.set()
                        elif kind == "image_processed":
                            self.epoch, self.offset = frame["epoch"], int(frame["offset"])
                            self.offsets.append(int(frame["offset"]))
                        elif kind == "ping":
                            ws.send(json.dumps({"type": "pong"}))
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError):
                pass
            if self._stop.is_set():
                return
            if closed_at is None:
                closed_at = time.monotonic()
            index += 1  # elsewhere
            self._stop.wait(random.uniform(0.02, 0.1))
