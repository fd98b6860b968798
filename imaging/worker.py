"""``python -m imaging.worker``: run the imaging actors.

Started here rather than by the ``dramatiq`` CLI for two reasons:

* The CLI offers no way to set the worker's idle poll timeout, and with the default (1 s backoff
  ceiling) an idle worker picks a new job up after up to a second. ``WORKER_POLL_MS`` (default 50)
  caps that backoff so enqueue-to-start stays under about 100 ms at p99, for the price of a few more
  Redis polls per second per idle worker (``bench/bench_pickup.py`` measures both).
* Local and cloud jobs get separate thread pools (two Dramatiq workers on one broker, each consuming
  one queue), so cloud jobs waiting on a slow provider can never occupy the threads local jobs need.
  (Dramatiq warns at start that its worker middleware is added twice: one per pool, each adding
  consumers only for its own queue, which is what we want.)
"""

from __future__ import annotations

import logging
import signal
import threading

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from imaging import actors, metrics
from imaging.broker import broker, redis_client, settings
from imaging.sweeper import Sweeper
from shared.jobqueue import CLOUD_QUEUE, LOCAL_QUEUE

log = logging.getLogger("imaging.worker")


def main() -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    actors.services()  # provider clients and configuration errors show up now, not in the first job
    broker.emit_after("process_boot")
    pools = [
        dramatiq.Worker(broker, queues={LOCAL_QUEUE}, worker_timeout=settings.worker_poll_ms,
                        worker_threads=settings.worker_threads),
        dramatiq.Worker(broker, queues={CLOUD_QUEUE}, worker_timeout=settings.worker_poll_ms,
                        worker_threads=settings.cloud_worker_threads),
    ]
    for pool in pools:
        pool.start()
    # Only Dramatiq's Redis broker needs the sweeper: RabbitMQ requeues a dead worker's
    # unacknowledged messages itself when its connection drops.
    sweeper = Sweeper(broker) if isinstance(broker, RedisBroker) else None
    if sweeper is not None:
        sweeper.start()
    try:
        http = metrics.serve(settings.worker_metrics_port, redis_client, lambda: not stop.is_set())
    except OSError as exc:  # another worker on this machine has the port: run without it
        log.warning("no metrics endpoint on port %d: %s", settings.worker_metrics_port, exc)
        http = None
    providers = actors.services().providers
    log.info(
        "imaging worker ready: queues %s, %d local + %d cloud threads, poll %d ms, openai %s, gemini %s, vision %s",
        sorted(broker.get_declared_queues()), settings.worker_threads, settings.cloud_worker_threads,
        settings.worker_poll_ms, "on" if providers.openai else "off", "on" if providers.gemini else "off",
        providers.vision.name if providers.vision else "none",
    )
    stop.wait()
    log.info("stopping: finishing running jobs")
    if http is not None:
        http.shutdown()
    if sweeper is not None:
        sweeper.stop()
    for pool in pools:
        pool.stop(timeout=30_000)
    broker.close()
    providers.close()


if __name__ == "__main__":
    main()
