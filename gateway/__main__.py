"""``python -m gateway``: serve the gateway with uvicorn on the configured host and port."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import uvicorn

from gateway.app import create_app, wrap_asgi
from shared.config import load_settings


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


def main() -> None:
    settings = load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    app = create_app(settings)
    config = uvicorn.Config(
        wrap_asgi(app),
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
    GatewayServer(config, before_shutdown=app.state.completions.close).run()


if __name__ == "__main__":
    main()
