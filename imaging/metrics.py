"""Prometheus metrics and health of one worker process.

``JobMetrics`` is Dramatiq middleware (counts and times every message, by actor and queue);
``serve`` runs a small HTTP server on ``WORKER_METRICS_PORT`` with ``/metrics`` and ``/healthz``
(Redis reachable and the worker pools running). Port 0 turns it off.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Callable
from typing import Any

import dramatiq
import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

registry = CollectorRegistry()
jobs_total = Counter("worker_jobs_total", "Messages processed, by outcome", ["actor", "queue", "outcome"],
                     registry=registry)
job_seconds = Histogram("worker_job_seconds", "Time to process one message", ["actor", "queue"],
                        buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 240),
                        registry=registry)
jobs_running = Gauge("worker_jobs_running", "Messages being processed now", ["queue"], registry=registry)
unreplicated_writes = Counter(
    "worker_unreplicated_writes_total", "Redis Cluster writes no replica confirmed in time (imaging/announce.py)",
    registry=registry,
)


class JobMetrics(dramatiq.Middleware):
    def __init__(self) -> None:
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def before_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        with self._lock:
            self._started[message.message_id] = time.perf_counter()
        jobs_running.labels(message.queue_name).inc()

    def after_process_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy, *,
                              result: Any = None, exception: BaseException | None = None) -> None:
        with self._lock:
            started = self._started.pop(message.message_id, None)
        jobs_running.labels(message.queue_name).dec()
        if started is not None:
            job_seconds.labels(message.actor_name, message.queue_name).observe(time.perf_counter() - started)
        if exception is None:
            outcome = "ok"
        else:
            outcome = "failed" if message.failed else "retried"
        jobs_total.labels(message.actor_name, message.queue_name, outcome).inc()

    def after_skip_message(self, broker: dramatiq.Broker, message: dramatiq.MessageProxy) -> None:
        with self._lock:
            self._started.pop(message.message_id, None)
        jobs_running.labels(message.queue_name).dec()
        jobs_total.labels(message.actor_name, message.queue_name, "skipped").inc()


def serve(port: int, client: redis.Redis, running: Callable[[], bool]) -> http.server.ThreadingHTTPServer | None:
    if port <= 0:
        return None

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/metrics":
                self._reply(200, generate_latest(registry), CONTENT_TYPE_LATEST)
            elif self.path == "/healthz":
                try:
                    client.ping()
                    ok = running()
                except (redis.ConnectionError, redis.TimeoutError):
                    ok = False
                body = b'{"status":"ok"}' if ok else b'{"status":"error"}'
                self._reply(200 if ok else 503, body, "application/json")
            else:
                self._reply(404, b"not found", "text/plain")

        def _reply(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="worker-metrics", daemon=True).start()
    return server
