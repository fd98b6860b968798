"""Session fixtures: one real Redis, the gateway and notifier in process for handler tests, and one real
process stack shared by the tests that need processes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from devtools.redis_server import EmbeddedRedis
from tests.harness import ImageServer, Proc, start_gateway, start_notifier, start_worker
from tests.inprocess import gateway_client, notifier_client


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("logs")


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_url(redis_server: EmbeddedRedis) -> str:
    return redis_server.url


@pytest.fixture(scope="session")
def api(redis_url: str) -> Iterator[TestClient]:
    """The gateway app in this process (lifespan running), default settings, real Redis."""
    with gateway_client(redis_url) as client:
        yield client


@pytest.fixture(scope="session")
def notifier_api(redis_url: str) -> Iterator[TestClient]:
    """The notifier app in this process (lifespan running), default settings, real Redis."""
    with notifier_client(redis_url) as client:
        yield client


@dataclass
class Stack:
    redis_url: str
    gateway: Proc
    notifier: Proc
    worker: Proc
    images: ImageServer
    env: dict[str, str] = field(default_factory=dict)  # extra settings of every process (cluster mode)

    @property
    def ws_base(self) -> str:
        return f"ws://127.0.0.1:{self.notifier.port}/ws"


@pytest.fixture(scope="session")
def image_host() -> Iterator[ImageServer]:
    server = ImageServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def gateway(redis_url: str, artifacts_dir: Path) -> Iterator[Proc]:
    proc = start_gateway(redis_url, artifacts_dir)
    yield proc
    proc.stop()


@pytest.fixture(scope="session")
def stack(redis_url: str, artifacts_dir: Path, gateway: Proc, image_host: ImageServer) -> Iterator[Stack]:
    notifier = start_notifier(redis_url, artifacts_dir)
    worker = start_worker(redis_url, artifacts_dir, gateway.url)
    yield Stack(redis_url, gateway, notifier, worker, image_host)
    worker.stop()
    notifier.stop()
