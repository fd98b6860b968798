"""``python -m gateway``: serve the gateway with uvicorn on the configured host and port, in
GATEWAY_PROCESSES processes (see shared/serving.py)."""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn

from shared.config import Settings, load_settings
from shared.serving import serve, tune_gc, uvicorn_speed_options


class GatewayServer(uvicorn.Server):
    """uvicorn's server, plus one step at shutdown: held polls are released first.

    uvicorn stops accepting, then waits (up to ``timeout_graceful_shutdown``) for open requests to
    finish, and only then runs the app's lifespan shutdown. A poll held for its job would keep it
    waiting for the whole hold; released here, each answers at once, as before holds existed.
    """

    def __init__(self, config: uvicorn.Config, before_shutdown: Callable[[], None]) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.before_shutdown()
        await super().shutdown(sockets)


def serve_one(settings: Settings, sockets: list[socket.socket] | None) -> None:
    from gateway.app import configure_logging, create_app, wrap_asgi  # a supervisor never needs these

    configure_logging(settings)
    app = create_app(settings)
    tune_gc()
    config = uvicorn.Config(
        wrap_asgi(app),
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=10,
        **uvicorn_speed_options(settings),
    )
    GatewayServer(config, before_shutdown=app.state.completions.close).run(sockets=sockets)


def main() -> None:
    settings = load_settings()
    serve("gateway", "gateway", settings.bind_host, settings.gateway_port, settings.gateway_processes,
          lambda sockets: serve_one(settings, sockets))


if __name__ == "__main__":
    main()
