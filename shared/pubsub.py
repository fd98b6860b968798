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

Message = dict[str, Any]


async def next_message(pubsub: PubSub | None, wait: float = 1.0) -> Message | None:
    """The next message of ``pubsub`` (None after ``wait`` seconds); no connection counts as a lost one."""
    if pubsub is None:
        raise redis.ConnectionError("no pub/sub connection")
    return await pubsub.get_message(timeout=wait)


async def next_sharded_message(pubsub: Any, wait: float) -> Message | None:
    """The next message of a Redis Cluster pub/sub (``SSUBSCRIBE``): redis-py reads its per-node
    connections in turns, each for part of ``wait``. With nothing subscribed the read returns at
    once, so this sleeps instead of spinning."""
    if pubsub is None:
        raise redis.ConnectionError("no pub/sub connection")
    message = await pubsub.get_sharded_message(timeout=wait)
    if message is None and not pubsub.node_pubsub_mapping:
        await asyncio.sleep(wait)
    return message


async def read_forever(
    receive: Callable[[], Awaitable[Message | None]],
    handle: Callable[[Message], None],
    reconnect: Callable[[], Awaitable[None]],
    what: str,
) -> None:
    """Hand every message that ``receive`` returns to ``handle``. A lost connection calls
    ``reconnect``, which returns once there is one again. Runs until cancelled; an unexpected
    error in ``handle`` is logged and reading goes on."""
    while True:
        try:
            message = await receive()
            if message is not None:
                handle(message)
        except asyncio.CancelledError:
            raise
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            log.warning("%s: pub/sub connection lost (%s); reconnecting", what, exc)
            await reconnect()
        except Exception:
            log.exception("%s: unexpected error; reading on", what)
