"""The imaging queue as both sides see it: queue and actor names, and the broker.

The gateway enqueues by name (it never imports the worker's code); the worker declares actors
with the same names. Local (Pillow) and cloud work use separate queues so a slow provider cannot
starve local jobs.
"""

from __future__ import annotations

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


def make_broker(url: str, *, middleware: list[dramatiq.Middleware] | None = None,
                parser: str = "auto") -> RedisBroker:
    """A Redis broker; ``middleware=[]`` gives a lean enqueue-only broker for the gateway.
    ``parser``: REDIS_PARSER (auto, hiredis, python)."""
    parser_class = sync_parser_class(parser)
    pool = redis.ConnectionPool.from_url(url, **({} if parser_class is None else {"parser_class": parser_class}))
    broker = RedisBroker(connection_pool=pool, namespace=NAMESPACE, heartbeat_timeout=HEARTBEAT_TIMEOUT_MS,
                         middleware=middleware)
    return broker


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
