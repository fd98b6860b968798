"""/metrics in the Prometheus text format, for one process or summed over a supervisor's processes."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

from shared.config import Settings


def all_processes(registry: CollectorRegistry, settings: Settings) -> CollectorRegistry:
    """With PROMETHEUS_MULTIPROC_DIR (several processes, shared/serving.py) every process writes its
    values to files there and any of them reads the sum; else this process's registry."""
    if not settings.prometheus_multiproc_dir:
        return registry
    combined = CollectorRegistry()
    MultiProcessCollector(combined, path=settings.prometheus_multiproc_dir)
    return combined


def exposition(registry: CollectorRegistry, settings: Settings) -> bytes:
    return generate_latest(all_processes(registry, settings))
