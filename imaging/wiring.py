"""Building an imaging worker from settings: broker, middleware, Redis client, actors, thread pools.

Nothing happens at import. ``python -m imaging.worker`` calls :func:`build_worker` with the settings
and a Redis broker; tests call it with Dramatiq's ``StubBroker`` to run the actors in their own process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import dramatiq
import redis
from dramatiq.middleware import CurrentMessage, Retries, TimeLimit

from imaging.actors import JobRunner, declare_actors
from imaging.metrics import JobMetrics
from imaging.middleware import FailureEvents, QueueTimeLimits
from shared import jobqueue, redisconn
from shared.config import Settings
from shared.jobqueue import CLOUD_QUEUE, LOCAL_QUEUE
from shared.speedups import redis_parser_name


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    # The provider SDKs' HTTP clients log every request at INFO, and pika (RabbitMQ) every connection step.
    for chatty in ("httpx", "httpx2", "pika"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))


def queue_time_limits(settings: Settings) -> dict[str, int]:
    return {LOCAL_QUEUE: settings.job_time_limit_ms, CLOUD_QUEUE: settings.cloud_job_time_limit_ms}


@dataclass
class ImagingWorker:
    """One worker's parts. ``start`` runs the actors in two thread pools; ``stop`` undoes all of it."""

    settings: Settings
    broker: dramatiq.Broker
    redis: redis.Redis
    runner: JobRunner
    actors: dict[str, dramatiq.Actor[[Any], None]]
    pools: list[dramatiq.Worker] = field(default_factory=list)

    def start(self) -> None:
        """Local and cloud jobs get separate thread pools (two Dramatiq workers on one broker, each
        consuming one queue), so cloud jobs waiting on a slow provider never hold the threads local
        jobs need. (Dramatiq warns that its worker middleware is added twice: one per pool, each
        adding consumers only for its own queue, which is what we want.)"""
        s = self.settings
        self.pools = [
            dramatiq.Worker(self.broker, queues={LOCAL_QUEUE}, worker_timeout=s.worker_poll_ms,
                            worker_threads=s.worker_threads),
            dramatiq.Worker(self.broker, queues={CLOUD_QUEUE}, worker_timeout=s.worker_poll_ms,
                            worker_threads=s.cloud_worker_threads),
        ]
        for pool in self.pools:
            pool.start()

    def stop(self, timeout_ms: int = 30_000) -> None:
        """Finish running jobs, then close the broker, the provider clients and Redis."""
        for pool in self.pools:
            pool.stop(timeout=timeout_ms)
        self.broker.close()
        self.runner.close()
        self.redis.close()

    def describe(self) -> str:
        """One line for the log: queues, threads, poll interval and the providers in use."""
        s, providers = self.settings, self.runner.services().providers
        # The stub broker lists delay queues among the declared ones; the Redis broker does not.
        queues = sorted(self.broker.get_declared_queues() - self.broker.get_declared_delay_queues())
        return (
            f"queues {queues}, {s.worker_threads} local + "
            f"{s.cloud_worker_threads} cloud threads, poll {s.worker_poll_ms} ms, "
            f"Redis parser {redis_parser_name(s.redis_parser)}, "
            f"openai {'on' if providers.openai else 'off'}, gemini {'on' if providers.gemini else 'off'}, "
            f"vision {providers.vision.name if providers.vision else 'none'}"
        )


def build_worker(settings: Settings, broker: dramatiq.Broker | None = None) -> ImagingWorker:
    """The worker's broker (the one BROKER_URL names unless one is given), middleware, Redis client and actors."""
    broker = broker if broker is not None else jobqueue.make_broker(settings.queue_broker_url(),
                                                                    parser=settings.redis_parser)
    client = redisconn.sync_client(settings.require_redis_url(), cluster=settings.redis_cluster,
                                   parser=settings.redis_parser)
    limits = queue_time_limits(settings)
    broker.add_middleware(CurrentMessage())
    broker.add_middleware(JobMetrics(), before=Retries)  # after-hooks run in reverse: sees message.failed
    broker.add_middleware(QueueTimeLimits(limits), before=TimeLimit)
    # "after" hooks run in reverse order of the middleware list: placed before Retries, FailureEvents
    # runs after it and so sees whether a failed message will be retried.
    broker.add_middleware(FailureEvents(client, settings), before=Retries)
    runner = JobRunner(settings, client, limits)
    return ImagingWorker(settings, broker, client, runner, declare_actors(broker, runner))
