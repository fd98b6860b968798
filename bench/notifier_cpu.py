"""CPU time of the processes in a notifier benchmark, read from /proc (Linux), so a trial can say
where the machine's CPU went per event: the notifier, Redis, the client processes, the publisher.

On a shared machine CPU seconds per event vary far less than latency does, which makes them the
figure to compare two versions of the code by.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def own_seconds(pid: int) -> float:
    """User + system CPU of one process (not its children)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live descendants (a supervisor and its workers)."""
    return own_seconds(pid) + sum(cpu_seconds(child) for child in _children(pid))


class CpuMeter:
    """CPU seconds used by named groups of processes between ``start()`` and ``stop()``; each group
    is a function returning its CPU seconds so far (``cpu_seconds`` or ``own_seconds`` of pids)."""

    def __init__(self, groups: dict[str, Callable[[], float]]) -> None:
        self.groups = groups
        self._started: dict[str, float] = {}

    def _now(self) -> dict[str, float]:
        return {name: read() for name, read in self.groups.items()}

    def start(self) -> None:
        self._started = self._now()

    def stop(self) -> dict[str, float]:
        now = self._now()
        return {name: now[name] - self._started.get(name, 0.0) for name in self.groups}


def per_10k(used: dict[str, float], events: int) -> str:
    """'notifier 0.52, redis 0.31, ..., total 1.9' in CPU seconds per 10,000 events."""
    scale = 10_000 / max(events, 1)
    parts = [f"{name} {seconds * scale:.2f}" for name, seconds in used.items()]
    return ", ".join(parts) + f", total {sum(used.values()) * scale:.2f}"
