"""Reading a long-lived Redis pub/sub connection: the loop the notifier's hub and the gateway's
completion watcher share."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis
from redis.asyncio.client import PubSub

log = logging.getLogger(__name__)


async def read_forever(
    current: Callable[[], PubSub | None],
    handle: Callable[[dict[str, Any]], None],
    reconnect: Callable[[], Awaitable[None]],
    what: str,
) -> None:
    """Hand every message of the ``current()`` connection to ``handle``. A lost connection (or
    none) calls ``reconnect``, which returns once there is one again. Runs until cancelled; an
    unexpected error in ``handle`` is logged and reading goes on."""
    while True:
        try:
            pubsub = current()
            if pubsub is None:
                raise redis.ConnectionError("no pub/sub connection")
            message = await pubsub.get_message(timeout=1.0)
            if message is not None:
                handle(message)
        except asyncio.CancelledError:
            raise
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("%s: pub/sub connection lost (%s); reconnecting", what, exc)
            await reconnect()
        except Exception:
            log.exception("%s: unexpected error; reading on", what)
