"""Redis clients built from a URL, with the timeouts every process wants.

Sockets get connect and read timeouts so that a dead Redis gives an error, never a hang; callers
turn that error into a 503 (gateway), a reconnect loop (notifier) or a retry (worker).

With ``cluster=True`` (``REDIS_CLUSTER=1``) the URL names seed nodes of a Redis Cluster
(``redis://[user:password@]host:port[,host:port...]``: name more than one, so a process that starts
or reconnects while a seed is down still finds the cluster) and redis-py's cluster clients are
returned instead: they discover the other nodes, route each command and Lua
script by its keys' slot and follow MOVED/ASK redirections and failovers. Every multi-key script
of this project keeps its keys in one slot (hash tags, ``shared/keys.py``), so nothing else changes.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

import redis
import redis.asyncio as aioredis
import redis.asyncio.cluster as aiocluster
import redis.cluster
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from shared.speedups import async_parser_class, sync_parser_class

CONNECT_TIMEOUT = 2.0
COMMAND_TIMEOUT = 5.0


def _parser_kwargs(parser_class: type | None) -> dict[str, type]:
    return {} if parser_class is None else {"parser_class": parser_class}


def cluster_seeds(url: str) -> tuple[list[tuple[str, int]], dict[str, Any]]:
    """Seed ``(host, port)`` pairs and connection options (username, password, TLS) of a cluster URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"a Redis Cluster URL must be redis:// or rediss://, not {parts.scheme}://")
    userinfo, _, hosts = parts.netloc.rpartition("@")
    seeds = []
    for item in (h.strip() for h in hosts.split(",")):
        if item.startswith("["):  # [IPv6]:port
            host, _, rest = item[1:].partition("]")
            port = rest.removeprefix(":")
        else:
            host, _, port = item.partition(":")
        seeds.append((host, int(port or 6379)))
    options: dict[str, Any] = {"ssl": parts.scheme == "rediss"}
    if userinfo:
        user, _, password = userinfo.partition(":")
        options.update(username=unquote(user) or None, password=unquote(password) or None)
    return seeds, options


def async_client(
    url: str, *, max_connections: int = 64, pool_timeout: float = COMMAND_TIMEOUT, cluster: bool = False,
    parser: str = "auto",
) -> aioredis.Redis:
    """``parser``: REDIS_PARSER (auto, hiredis, python); ``cluster``: REDIS_CLUSTER."""
    if cluster:
        seeds, options = cluster_seeds(url)
        return aiocluster.RedisCluster(  # type: ignore[return-value]
            startup_nodes=[aiocluster.ClusterNode(h, p) for h, p in seeds],
            **options,
            max_connections=max_connections,  # per node
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            health_check_interval=15,
            retry=AsyncRetry(ExponentialBackoff(cap=0.5, base=0.05), retries=3),
            **_parser_kwargs(async_parser_class(parser)),
        )
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


async def mget(client: aioredis.Redis, keys: list[str]) -> list[bytes | None]:
    """MGET that works on a cluster too, where keys of different slots are read from their nodes
    (not atomically across nodes, which a cache read does not need)."""
    if isinstance(client, aiocluster.RedisCluster):
        return await client.mget_nonatomic(keys)
    return await client.mget(keys)


def sync_client(url: str, *, cluster: bool = False, parser: str = "auto") -> redis.Redis:
    if cluster:
        seeds, options = cluster_seeds(url)
        return redis.cluster.RedisCluster(  # type: ignore[return-value]
            startup_nodes=[redis.cluster.ClusterNode(h, p) for h, p in seeds],
            **options,
            socket_connect_timeout=CONNECT_TIMEOUT,
            socket_timeout=COMMAND_TIMEOUT,
            health_check_interval=15,
            retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
            # A transaction (MULTI/EXEC) counts its connection errors per pipeline object and asks for a new
            # slot map only at the reinitialize_steps-th (default 5), which its 4 attempts never reach: after a
            # failover, transactions on a dead primary's slots failed for a minute while other commands worked
            # (tests/cluster/test_failover.py). 1: every such error, and every MOVED, asks for a refresh
            # (merged and rate-limited by redis-py).
            reinitialize_steps=1,
            **_parser_kwargs(sync_parser_class(parser)),
        )
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=COMMAND_TIMEOUT,
        health_check_interval=15,
        retry=Retry(ExponentialBackoff(cap=1.0, base=0.05), retries=3),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        **_parser_kwargs(sync_parser_class(parser)),
    )


def pubsub_client(url: str, *, cluster: bool = False, parser: str = "auto") -> aioredis.Redis:
    """A client for one long-lived pub/sub connection: no read timeout (it idles by design).

    On a cluster its ``pubsub()`` holds one sharded subscription connection per node that serves
    a subscribed channel's slot, and re-subscribes channels when their slot moves or fails over.
    """
    if cluster:
        seeds, options = cluster_seeds(url)
        return aiocluster.RedisCluster(  # type: ignore[return-value]
            startup_nodes=[aiocluster.ClusterNode(h, p) for h, p in seeds], **options,
            socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=None, health_check_interval=10,
            **_parser_kwargs(async_parser_class(parser)),
        )
    return aioredis.Redis.from_url(
        url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=None, health_check_interval=10,
        **_parser_kwargs(async_parser_class(parser)),
    )
