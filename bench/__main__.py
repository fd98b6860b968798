"""``make bench``: every benchmark, one after the other, each printing its own table."""

from __future__ import annotations

import importlib
import sys

BENCHES = [
    "bench.notifier_latency",
    "bench.bench_interventions",
    "bench.feed_bench",
    "bench.feed_parse",
    "bench.bench_pickup",
    "bench.polling_bench",
    "bench.notifier_scale",
    "bench.notifier_sweep",
    "bench.gateway_sweep",
    "bench.cluster_fanout",
    "bench.redis_costs",
    "bench.open_vocab_bench",
    "bench.compare_models",
]


def main() -> None:
    selected = sys.argv[1:] or BENCHES
    for name in selected:
        module = importlib.import_module(name)
        sys.argv = [name]
        module.main()


if __name__ == "__main__":
    main()
