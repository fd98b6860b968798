"""Finding the knee: the highest offered rate whose p99 latency stays within a bound.

A sweep walks up a ladder of rates, measures each rate ``repeats`` times, and stops at the first
rate that misses the loosest bound (or loses messages). A rate meets a bound only if every repeat
did, so one lucky run does not count; the spread of the repeats is printed beside it.
Bounded: at most ``len(ladder) * repeats`` trials.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Trial:
    offered: float  # the rate asked for
    achieved: float  # the rate the load generator managed
    p50_ms: float
    p99_ms: float
    complete: bool  # every message arrived, at (nearly) the offered rate

    @property
    def usable_p99(self) -> float:
        return self.p99_ms if self.complete else math.inf


@dataclass
class Point:
    rate: float
    trials: list[Trial]

    def meets(self, bound_ms: float) -> bool:
        return all(t.usable_p99 <= bound_ms for t in self.trials)

    def spread(self) -> str:
        p99s = sorted(t.p99_ms for t in self.trials)
        p50s = sorted(t.p50_ms for t in self.trials)
        lost = "" if all(t.complete for t in self.trials) else " (incomplete)"
        return f"p50 {p50s[0]:.1f}-{p50s[-1]:.1f} ms, p99 {p99s[0]:.1f}-{p99s[-1]:.1f} ms{lost}"


def percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else math.inf


def sweep(measure: Callable[[float], Trial], ladder: Sequence[float], bounds_ms: Sequence[float], repeats: int,
          label: str, unit: str) -> list[Point]:
    """Measure rates from ``ladder`` upwards until one misses the loosest bound; print each point."""
    loosest = max(bounds_ms)
    points: list[Point] = []
    for rate in ladder:
        point = Point(rate, [measure(rate) for _ in range(repeats)])
        points.append(point)
        achieved = min(t.achieved for t in point.trials)
        print(f"  {label}: {rate:>8,.0f} {unit} (achieved >= {achieved:,.0f}): {point.spread()}", flush=True)
        if not point.meets(loosest):
            break
    return points


def passes(measure: Callable[[float], Trial], rates: Sequence[float], repeats: int, label: str,
           unit: str) -> list[Point]:
    """Measure every rate in ``repeats`` full passes over ``rates`` (not ``repeats`` trials of one
    rate in a row), so a spell of load from elsewhere on the machine spreads over all rates instead
    of sinking one; then print each rate's spread. Bounded: ``len(rates) * repeats`` trials."""
    points = [Point(rate, []) for rate in rates]
    for n in range(repeats):
        for point in points:
            trial = measure(point.rate)
            point.trials.append(trial)
            lost = "" if trial.complete else " (incomplete)"
            print(f"  pass {n + 1}/{repeats}, {point.rate:>8,.0f} {unit} (achieved {trial.achieved:,.0f}): "
                  f"p50 {trial.p50_ms:.1f} ms, p99 {trial.p99_ms:.1f} ms{lost}", flush=True)
    for point in points:
        print(f"  {label}: {point.rate:>8,.0f} {unit}: {point.spread()}", flush=True)
    return points


def knee(points: Sequence[Point], bound_ms: float) -> tuple[Point | None, Point | None]:
    """(highest point meeting the bound with every lower point meeting it too, the first one missing it)."""
    best = None
    for point in points:
        if not point.meets(bound_ms):
            return best, point
        best = point
    return best, None


def describe_knee(points: Sequence[Point], bound_ms: float, unit: str) -> str:
    if not points:
        return "not measured"
    best, missed = knee(points, bound_ms)
    if best is None:
        return f"below the lowest rate tried ({points[0].rate:,.0f} {unit}: {points[0].spread()})"
    text = f"{best.rate:,.0f} {unit} ({best.spread()})"
    if missed is not None:
        text += f"; {missed.rate:,.0f} missed ({missed.spread()})"
    else:
        text += "; the highest rate tried"
    return text
