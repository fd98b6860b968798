"""The imaging queue as both sides see it: queue and actor names, and the broker.

The gateway enqueues by name (it never imports the worker's code); the worker declares actors
with the same names. Local (Pillow) and cloud work use separate queues so a slow provider cannot
starve local jobs.
"""

from __future__ import annotations

import dramatiq
from dramatiq.brokers.redis import RedisBroker

LOCAL_QUEUE = "images_local"
CLOUD_QUEUE = "images_cloud"
PROCESS_IMAGE_ACTOR = "process_image"


def make_broker(url: str, *, middleware: list[dramatiq.Middleware] | None = None) -> RedisBroker:
    """A Redis broker; ``middleware=[]`` gives a lean enqueue-only broker for the gateway."""
    # heartbeat_timeout: a worker that died is considered gone after this long, and its
    # unacknowledged messages are requeued by the next maintenance pass.
    broker = RedisBroker(url=url, namespace="dm-dramatiq", heartbeat_timeout=15_000,
                         middleware=middleware)
    return broker


def image_message(job_payload: dict[str, object], *, queue: str = LOCAL_QUEUE) -> dramatiq.Message:
    return dramatiq.Message(
        queue_name=queue,
        actor_name=PROCESS_IMAGE_ACTOR,
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
