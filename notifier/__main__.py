"""``python -m notifier``: serve the notifier with uvicorn, in NOTIFIER_PROCESSES processes (see
shared/serving.py).

On SIGTERM/SIGINT the notifier first closes every socket with 1001 (going away) so clients
reconnect to another replica at once and resume from the event log; only then does uvicorn shut
down (uvicorn on its own would close them with 1012).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from types import FrameType

import uvicorn
from starlette.applications import Starlette

from notifier.app import create_asgi_app
from notifier.connection import CLOSE_GOING_AWAY
from notifier.directsend import DirectSendProtocol
from shared.config import Settings, load_settings
from shared.serving import serve, tune_gc, uvicorn_speed_options

BACKLOG = 4096  # reconnect storms: thousands of clients at once


class NotifierServer(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self.notifier_app = app
        self._closing: asyncio.Task[None] | None = None

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._closing is not None:  # a second signal: no more waiting
            super().handle_exit(sig, frame)
            return
        loop = asyncio.get_event_loop()
        self._closing = loop.create_task(self._going_away(sig, frame))

    async def _going_away(self, sig: int, frame: FrameType | None) -> None:
        hub = getattr(self.notifier_app.state, "hub", None)
        if hub is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(
                    asyncio.gather(*(c.close(CLOSE_GOING_AWAY, "server shutting down")
                                     for c in hub.all_connections()), return_exceptions=True),
                    timeout=3,
                )
        super().handle_exit(sig, frame)


def serve_one(settings: Settings, sockets: list[socket.socket] | None) -> None:
    app = create_asgi_app()
    tune_gc()
    config = uvicorn.Config(
        app,
        host=settings.bind_host,
        port=settings.notifier_port,
        log_level=settings.log_level.lower(),
        # The default protocol with frames written straight to the transport (notifier/directsend.py).
        ws=DirectSendProtocol if settings.ws_implementation == "websockets-sansio" else settings.ws_implementation,
        ws_max_size=64 * 1024,  # client frames are small; refuse floods of large ones
        # permessage-deflate keeps a zlib compressor (~40 KiB) per socket; frames are small JSON
        # (and base64 images do not compress), so memory per idle socket matters more.
        ws_per_message_deflate=False,
        ws_ping_interval=None,  # the app's own heartbeat (protocol-level ping frames) is used
        timeout_graceful_shutdown=5,
        backlog=BACKLOG,
        **uvicorn_speed_options(settings),
    )
    NotifierServer(config, app).run(sockets=sockets)


def main() -> None:
    settings = load_settings()
    serve("notifier", "notifier", settings.bind_host, settings.notifier_port, settings.notifier_processes,
          lambda sockets: serve_one(settings, sockets), backlog=BACKLOG)


if __name__ == "__main__":
    main()
