"""The reliability suite: faults and hostile input against real processes, with figures.

Fast variants run in ``make test``; ``make soak`` (``RELIABILITY_SOAK=1``) runs the same tests longer.
Every process is started through ``tests.reliability.boot`` (network fenced to loopback).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.redis_server import EmbeddedRedis
from tests.reliability.figures import RECORDS, SOAK, line

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A Redis of the test's own (append-only), so faults never touch the session's Redis."""
    server = EmbeddedRedis(tmp_path / "redis")
    server.start()
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RECORDS:
        return
    terminalreporter.section("reliability figures" + (" (soak)" if SOAK else ""))
    for name, figures in RECORDS:
        terminalreporter.write_line(line(name, figures))
    out = ROOT / "test-artifacts" / ("reliability-soak.json" if SOAK else "reliability.json")
    try:
        out.parent.mkdir(exist_ok=True)
        out.write_text(json.dumps([{"name": n, **f} for n, f in RECORDS], indent=1, default=str))
    except OSError:
        pass
