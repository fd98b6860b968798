"""``python -m gateway``: serve the gateway with uvicorn on the configured host and port, in
GATEWAY_PROCESSES processes (see shared/serving.py)."""

from __future__ import annotations

import socket

import uvicorn

from shared.config import Settings, load_settings
from shared.serving import serve, tune_gc, uvicorn_speed_options


def serve_one(settings: Settings, sockets: list[socket.socket] | None) -> None:
    from gateway.app import create_asgi_app  # here: a supervisor of several processes never needs it

    app = create_asgi_app()
    tune_gc()
    config = uvicorn.Config(
        app,
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        **uvicorn_speed_options(settings),
    )
    uvicorn.Server(config).run(sockets=sockets)


def main() -> None:
    settings = load_settings()
    serve("gateway", "gateway", settings.bind_host, settings.gateway_port, settings.gateway_processes,
          lambda sockets: serve_one(settings, sockets))


if __name__ == "__main__":
    main()
