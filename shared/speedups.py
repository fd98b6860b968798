"""The native speed-ups a process uses, and the switches that force the pure-Python fallbacks.

uvloop (event loop), httptools (HTTP parser) and hiredis (Redis reply parser) are dependencies and
are used by default. ``EVENT_LOOP=asyncio``, ``HTTP_PARSER=h11`` and ``REDIS_PARSER=python`` force
the fallbacks, so a platform without the wheels still runs the same code, the fallbacks stay
tested, and the benchmarks can compare both in one run.
"""

from __future__ import annotations

import asyncio
import importlib.util

import redis.asyncio as aioredis
from redis._parsers import _AsyncHiredisParser, _AsyncRESP2Parser, _HiredisParser, _RESP2Parser
from redis.asyncio.connection import DefaultParser
from redis.utils import HIREDIS_AVAILABLE

from shared.config import Settings


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def async_parser_class(choice: str) -> type | None:
    """redis.asyncio ``parser_class`` for REDIS_PARSER; None keeps redis-py's own pick (hiredis when
    installed). RESP2 is given for "python": redis-py swaps it for RESP3 on a RESP3 connection."""
    if choice == "python":
        return _AsyncRESP2Parser
    if choice == "hiredis":
        _require_hiredis()
        return _AsyncHiredisParser
    return None


def sync_parser_class(choice: str) -> type | None:
    if choice == "python":
        return _RESP2Parser
    if choice == "hiredis":
        _require_hiredis()
        return _HiredisParser
    return None


def _require_hiredis() -> None:
    if not HIREDIS_AVAILABLE:
        raise RuntimeError("REDIS_PARSER=hiredis but hiredis (>= 3.2) is not installed")


def redis_parser_name(choice: str) -> str:
    if choice == "auto":
        return "hiredis" if HIREDIS_AVAILABLE else "python"
    return choice


def http_parser_name(choice: str) -> str:
    if choice == "auto":
        return "httptools" if _installed("httptools") else "h11"
    return choice


def running_loop_name() -> str:
    loop_type = type(asyncio.get_running_loop())
    return "uvloop" if loop_type.__module__.startswith("uvloop") else f"asyncio ({loop_type.__name__})"


def client_parser_name(client: aioredis.Redis) -> str:
    """The parser the client's connections are built with (what REDIS_PARSER led to)."""
    pool = getattr(client, "connection_pool", None)
    if pool is None:  # a cluster client: one pool per node, all built with the same options
        kwargs = getattr(client, "connection_kwargs", {})
    else:
        kwargs = pool.connection_kwargs
    parser = kwargs.get("parser_class", DefaultParser)
    return "hiredis" if issubclass(parser, _AsyncHiredisParser) else "python"


def describe_server(settings: Settings, client: aioredis.Redis) -> str:
    """For the start-up log of the gateway and notifier (call inside the running loop)."""
    return (f"event loop {running_loop_name()}, HTTP parser {http_parser_name(settings.http_parser)}, "
            f"Redis parser {client_parser_name(client)}")
