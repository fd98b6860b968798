"""``python -m notifier``: serve the notifier with uvicorn."""

import uvicorn

from shared.config import load_settings

if __name__ == "__main__":
    settings = load_settings()
    uvicorn.run(
        "notifier.app:create_asgi_app",
        factory=True,
        host=settings.bind_host,
        port=settings.notifier_port,
        log_level=settings.log_level.lower(),
        ws_max_size=64 * 1024,  # client frames are small; refuse floods of large ones
        ws_ping_interval=None,  # the app's own heartbeat (protocol-level ping frames) is used
        timeout_graceful_shutdown=5,
    )
