"""Fixtures for the scale-out engines: a private RabbitMQ node (Debian's rabbitmq-server).

These tests need software pip cannot install; `.ci/run` installs it (`make cluster-deps`). Where it is
missing they skip and say why, so a developer without root still runs the rest of the suite.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.rabbitmq_server import MISSING, RabbitMQServer, rabbitmq_available


@pytest.fixture(scope="module")
def rabbitmq(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitMQServer]:
    if not rabbitmq_available():
        pytest.skip(f"RabbitMQ tests skipped: {MISSING}")
    server = RabbitMQServer(tmp_path_factory.mktemp("rabbitmq"))
    server.start()
    yield server
    server.stop()
