"""The worker's Dramatiq broker: Redis, the default middleware, and ours.

Importing this module sets the global broker, as Dramatiq actors need one at declaration time.
"""

from __future__ import annotations

import logging

import dramatiq
from dramatiq.middleware import CurrentMessage, Retries, TimeLimit

from imaging.metrics import JobMetrics
from imaging.middleware import FailureEvents, QueueTimeLimits
from shared import jobqueue, redisconn
from shared.config import load_settings

settings = load_settings()
logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
for _chatty in ("httpx", "httpx2"):  # the provider SDKs' HTTP clients log every request at INFO
    logging.getLogger(_chatty).setLevel(max(logging.WARNING, logging.getLogger().level))

QUEUE_TIME_LIMITS_MS = {
    jobqueue.LOCAL_QUEUE: settings.job_time_limit_ms,
    jobqueue.CLOUD_QUEUE: settings.cloud_job_time_limit_ms,
}

broker = jobqueue.make_broker(settings.queue_broker_url())
redis_client = redisconn.sync_client(settings.require_redis_url(), cluster=settings.redis_cluster)
broker.add_middleware(CurrentMessage())
broker.add_middleware(JobMetrics(), before=Retries)  # after-hooks run in reverse: sees message.failed
broker.add_middleware(QueueTimeLimits(QUEUE_TIME_LIMITS_MS), before=TimeLimit)
# "after" hooks run in reverse order of the middleware list: placed before Retries, FailureEvents
# runs after it and so sees whether a failed message will be retried.
broker.add_middleware(FailureEvents(redis_client, settings), before=Retries)
dramatiq.set_broker(broker)
