"""``python -m imaging.worker``: run the imaging actors.

Started here rather than by the ``dramatiq`` CLI for one reason: the CLI offers no way to set the
worker's idle poll timeout, and with the default (1 s backoff ceiling) an idle worker picks a new
job up after up to a second. ``WORKER_POLL_MS`` caps that backoff so enqueue-to-start stays under
about 100 ms at p99, for the price of a few more Redis polls per second per idle worker.
"""

from __future__ import annotations

import logging
import signal
import threading

import dramatiq

from imaging import actors  # noqa: F401  (declares the actors on the broker)
from imaging.broker import broker, settings
from imaging.sweeper import Sweeper

WORKER_POLL_MS = 50

log = logging.getLogger("imaging.worker")


def main() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_timeout=WORKER_POLL_MS, worker_threads=settings.worker_threads)
    worker.start()
    sweeper = Sweeper(broker)
    sweeper.start()
    log.info("imaging worker ready: queues %s, %d threads", sorted(broker.get_declared_queues()),
             settings.worker_threads)
    stop.wait()
    log.info("stopping: finishing running jobs")
    sweeper.stop()
    worker.stop(timeout=30_000)
    broker.close()


if __name__ == "__main__":
    main()
