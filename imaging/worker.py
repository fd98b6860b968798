"""``python -m imaging.worker``: run the imaging actors.

Started here rather than by the ``dramatiq`` CLI for two reasons:

* The CLI offers no way to set the worker's idle poll timeout, and with the default (1 s backoff
  ceiling) an idle worker picks a new job up after up to a second. ``WORKER_POLL_MS`` (default 50)
  caps that backoff so enqueue-to-start stays under about 100 ms at p99, for the price of a few more
  Redis polls per second per idle worker (``bench/bench_pickup.py`` measures both).
* Local and cloud jobs get separate thread pools (``wiring.ImagingWorker.start``), so cloud jobs
  waiting on a slow provider can never occupy the threads local jobs need.
"""

from __future__ import annotations

import faulthandler
import logging
import signal
import threading

from dramatiq.brokers.redis import RedisBroker

from imaging import metrics
from imaging.sweeper import Sweeper
from imaging.wiring import build_worker, configure_logging
from shared import jobqueue
from shared.config import load_settings

log = logging.getLogger("imaging.worker")


def main() -> None:
    settings = load_settings()
    configure_logging(settings)
    broker = jobqueue.make_broker(settings.queue_broker_url(), parser=settings.redis_parser)
    worker = build_worker(settings, broker)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    # `kill -USR1 <pid>` writes every thread's stack to stderr: where a stuck job is stuck, without a debugger.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    worker.runner.services()  # provider clients and configuration errors show up now, not in the first job
    broker.emit_after("process_boot")
    worker.start()
    # Only Dramatiq's Redis broker needs the sweeper: RabbitMQ requeues a dead worker's
    # unacknowledged messages itself when its connection drops.
    sweeper = Sweeper(broker) if isinstance(broker, RedisBroker) else None
    if sweeper is not None:
        sweeper.start()
    try:
        http = metrics.serve(settings.worker_metrics_port, worker.redis, lambda: not stop.is_set())
    except OSError as exc:  # another worker on this machine has the port: run without it
        log.warning("no metrics endpoint on port %d: %s", settings.worker_metrics_port, exc)
        http = None
    log.info("imaging worker ready: %s", worker.describe())
    stop.wait()
    log.info("stopping: finishing running jobs")
    if http is not None:
        http.shutdown()
    if sweeper is not None:
        sweeper.stop()
    worker.stop(timeout_ms=30_000)


if __name__ == "__main__":
    main()
