"""Redis clients built from a URL, with the timeouts every process wants.

Sockets get connect and read timeouts so that a dead Redis gives an error, never a hang; callers
turn that error into a 503 (gateway), a reconnect loop (notifier) or a retry (worker).
"""

from __future__ import annotations

import redis
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from shared.speedups import async_parser_class, sync_parser_class

CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0


def _parser_kwargs(parser_class: type | None) -> dict[str, type]:
    return {} if parser_class is None else {"parser_class": parser_class}


def async_client(url: str, *, max_connections: int = 64, pool_timeout: float = COMMAND_TIMEOUT,
                 parser: str = "auto") -> aioredis.Redis:
    """``parser``: REDIS_PARSER (auto, hiredis, python)."""
    # A blocking pool: a burst of requests waits for a free connection instead of failing with
    # "Too many connections" (which would turn a connect storm into refused sockets).
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=pool_timeout,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        health_check_interval=15,
        # The asyncio Retry: the synchronous one accepted here never awaits the command inside its
        # try block, so it retried nothing and a stale pooled connection after a Redis restart failed
        # its first command (found by tests/reliability/test_redis_restart.py).
        retry=AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), retries=2),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        **_parser_kwargs(async_parser_class(parser)),
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool and closes it


def sync_client(url: str, *, parser: str = "auto") -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        **_parser_kwargs(sync_parser_class(parser)),
    )


def pubsub_client(url: str, *, parser: str = "auto") -> aioredis.Redis:
    """A client for one long-lived pub/sub connection: no read timeout (it idles by design)."""
    return aioredis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=None, health_check_interval=10,
        **_parser_kwargs(async_parser_class(parser)),
    )
