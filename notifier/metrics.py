"""Prometheus metrics of the notifier (served at /metrics, summed over its processes: gauges of
processes that are gone drop out)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

registry = CollectorRegistry()

sockets = Gauge("notifier_sockets", "Open client sockets", registry=registry, multiprocess_mode="livesum")
users = Gauge("notifier_users", "Users with at least one socket here", registry=registry,
              multiprocess_mode="livesum")
events_in = Counter("notifier_events_in_total", "Events received from Redis pub/sub", registry=registry)
frames_out = Counter("notifier_frames_out_total", "Event frames queued to sockets", registry=registry)
replayed = Counter("notifier_replayed_total", "Events replayed from the log (resume or repair)",
                   registry=registry)
slow_closes = Counter("notifier_slow_client_closes_total", "Sockets closed for a full send queue",
                      registry=registry)
idle_closes = Counter("notifier_idle_closes_total", "Sockets closed for missing heartbeats", registry=registry)
auth_failures = Counter("notifier_auth_failures_total", "Refused or expired tokens", registry=registry)
pubsub_reconnects = Counter("notifier_pubsub_reconnects_total", "Reconnects of the pub/sub connection",
                            registry=registry)
fanout_latency = Histogram(
    "notifier_fanout_latency_seconds",
    "From the worker's publish (Redis time) to the frame queued on every socket of the user",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
    registry=registry,
)
send_queue_depth = Gauge("notifier_send_queue_frames", "Frames waiting in all send queues", registry=registry,
                         multiprocess_mode="livesum")
