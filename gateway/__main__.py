"""``python -m gateway``: serve the gateway with uvicorn on the configured host and port."""

import uvicorn

from shared.config import load_settings

if __name__ == "__main__":
    settings = load_settings()
    uvicorn.run(
        "gateway.app:create_asgi_app",
        factory=True,
        host=settings.bind_host,
        port=settings.gateway_port,
        log_level=settings.log_level.lower(),
        proxy_headers=True,
        timeout_graceful_shutdown=10,
    )
