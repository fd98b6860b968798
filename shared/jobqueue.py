"""The imaging queue as both sides see it: queue and actor names, and the broker.

The gateway enqueues by name (it never imports the worker's code); the worker declares actors
with the same names. Local (Pillow) and cloud work use separate queues so a slow provider cannot
starve local jobs.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dramatiq
import redis
from dramatiq.brokers.redis import RedisBroker

from shared.speedups import sync_parser_class

NAMESPACE = "dm-dramatiq"  # prefix of Dramatiq's keys in Redis
LOCAL_QUEUE = "images_local"
CLOUD_QUEUE = "images_cloud"
PROCESS_IMAGE_ACTOR = "process_image"
# The same work declared on CLOUD_QUEUE with the cloud time limit. The worker also runs
# PROCESS_IMAGE_ACTOR messages found on CLOUD_QUEUE (with the cloud queue's time limit), so either
# name works there; ``image_route`` picks queue and actor together.
PROCESS_IMAGE_CLOUD_ACTOR = "process_image_cloud"
# Actor names of the original system, declared by the worker too. Each takes our payload dict or the
# original's JSON string ``{"url", "filter", "user_id"}`` and runs INTERVENTION_ALIASES[name].
LEGACY_IMAGE_ACTORS = ("make_image_cartoonish", "make_image_cartoonish_gpt_image", "make_image_replacement_gemini")
# A worker whose broker has not touched Redis for this long is dead: the next maintenance pass (the
# worker's sweeper, every second) requeues its unacknowledged messages. A live worker touches Redis
# every WORKER_POLL_MS (its delay-queue consumer polls even while every thread is busy), so 5 s is a
# wide margin; it was 15 s, which made a killed worker's job wait ~17 s (tests/reliability).
HEARTBEAT_TIMEOUT_MS = 5_000


REDIS_SCHEMES = ("redis", "rediss", "unix")
AMQP_SCHEMES = ("amqp", "amqps")


def broker_kind(url: str) -> str:
    """``"redis"`` or ``"rabbitmq"``, from the URL's scheme (``shared.config`` validates it)."""
    scheme = urlsplit(url).scheme
    if scheme in AMQP_SCHEMES:
        return "rabbitmq"
    if scheme in REDIS_SCHEMES:
        return "redis"
    raise ValueError(f"no queue broker for URL scheme {scheme!r} (use redis://, rediss://, unix:// or amqp://)")


def make_broker(
    url: str, *, middleware: list[dramatiq.Middleware] | None = None, parser: str = "auto"
) -> dramatiq.Broker:
    """The queue broker named by ``url``'s scheme; ``middleware=[]`` gives a lean enqueue-only
    broker for the gateway.

    * ``redis://``: Dramatiq's Redis broker (the default: the same Redis as everything else).
    * ``amqp://``: Dramatiq's RabbitMQ broker. Its queues are durable and messages persistent, and
      ``confirm_delivery`` makes an enqueue return only once RabbitMQ has the message, so a queued
      job survives a broker restart. Unacknowledged messages go back to the queue when a worker's
      connection drops, which is how a killed worker's job is redelivered there (no sweeper).

    ``parser``: REDIS_PARSER (auto, hiredis, python), for the Redis broker.
    """
    if broker_kind(url) == "rabbitmq":
        from dramatiq.brokers.rabbitmq import RabbitmqBroker  # pika is only needed on this path

        return RabbitmqBroker(url=url, confirm_delivery=True, middleware=middleware)
    parser_class = sync_parser_class(parser)
    pool = redis.ConnectionPool.from_url(url, **({} if parser_class is None else {"parser_class": parser_class}))
    return RedisBroker(connection_pool=pool, namespace=NAMESPACE, heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
                       middleware=middleware)


def rabbitmq_queue_counts(broker: dramatiq.Broker, queue: str) -> tuple[int, int, int]:
    """(ready, delayed, dead) messages of ``queue`` on a RabbitMQ broker. Blocking: run it in a thread."""
    broker.declare_queue(queue)  # the counts come from passive declares of the three queues
    ready, delayed, dead = broker.get_queue_message_counts(queue)  # type: ignore[attr-defined]
    return int(ready), int(delayed), int(dead)


def image_message(
    job_payload: dict[str, object], *, queue: str = LOCAL_QUEUE, actor: str = PROCESS_IMAGE_ACTOR
) -> dramatiq.Message:
    """``queue, actor = image_route(intervention)`` picks both together."""
    return dramatiq.Message(
        queue_name=queue,
        actor_name=actor,
        args=(job_payload,),
        kwargs={},
        options={},
    )


# Interventions a job may ask for. The worker owns the implementations; the gateway only checks
# names, so it never imports worker code.
LOCAL_INTERVENTIONS = (
    "blur", "pixelate", "occlusion", "overlay", "shrink", "cartoonish", "pointillism", "impressionism",
)
CLOUD_INTERVENTIONS = ("cartoonish_gpt_image", "replacement", "inpainting", "stylize")
# Names the original system used, kept working.
INTERVENTION_ALIASES = {
    "make_image_cartoonish": "cartoonish",
    "make_image_cartoonish_gpt_image": "cartoonish_gpt_image",
    "make_image_replacement_gemini": "replacement",
    "edit_to_replace": "replacement",
    "warning": "overlay",
}


def canonical_intervention(name: str) -> str | None:
    name = INTERVENTION_ALIASES.get(name, name)
    if name in LOCAL_INTERVENTIONS or name in CLOUD_INTERVENTIONS:
        return name
    return None


def image_route(intervention: str) -> tuple[str, str]:
    """``(queue, actor_name)`` for a job asking for ``intervention`` (a canonical name)."""
    if intervention in CLOUD_INTERVENTIONS:
        return CLOUD_QUEUE, PROCESS_IMAGE_CLOUD_ACTOR
    return LOCAL_QUEUE, PROCESS_IMAGE_ACTOR
