"""Figures the reliability tests measure, printed together at the end of the run.

Each test calls :func:`record` with a short name and its figures; ``conftest.pytest_terminal_summary``
prints one ``RELIABILITY <name>: k=v ...`` line per record (in ``make test`` and ``make soak`` output,
whatever the ``-r`` flags), and writes them as JSON to ``test-artifacts/reliability.json``.
"""

from __future__ import annotations

import os
from typing import Any

RECORDS: list[tuple[str, dict[str, Any]]] = []

# ``make soak`` sets RELIABILITY_SOAK=1: the same tests, longer and with more load.
SOAK = os.environ.get("RELIABILITY_SOAK", "") not in ("", "0")


def scale(fast: int, soak: int) -> int:
    return soak if SOAK else fast


def record(name: str, **figures: Any) -> None:
    RECORDS.append((name, figures))


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def line(name: str, figures: dict[str, Any]) -> str:
    return f"RELIABILITY {name}: " + " ".join(f"{k}={fmt(v)}" for k, v in figures.items())
