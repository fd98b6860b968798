"""Message arguments to jobs (our dict, the original's JSON string) and per-queue time limits."""

from __future__ import annotations

import dramatiq
import orjson
import pytest

from imaging.middleware import QueueTimeLimits
from imaging.payloads import BadPayload, parse
from shared.imagejobs import ImageJob
from shared.jobqueue import (
    CLOUD_QUEUE,
    LEGACY_IMAGE_ACTORS,
    LOCAL_QUEUE,
    PROCESS_IMAGE_ACTOR,
    PROCESS_IMAGE_CLOUD_ACTOR,
    canonical_intervention,
    image_route,
)

OURS = ImageJob(image_url="https://i.redd.it/a.jpg", filters=("Spiders",), intervention="blur", filter_text="Spiders",
                intensity=4, options=(("radius", 9),), context_text="a spider")


def test_our_payload_round_trips() -> None:
    parsed = parse(PROCESS_IMAGE_ACTOR, OURS.to_message())
    assert parsed.job == OURS and parsed.user_id is None
    assert parse(PROCESS_IMAGE_CLOUD_ACTOR, OURS.to_message()).job == OURS


def test_original_actor_names_impose_their_intervention() -> None:
    assert parse("make_image_cartoonish", OURS.to_message()).job.intervention == "cartoonish"
    original = orjson.dumps({"url": "https://i.redd.it/b.png", "filter": "close-up spiders", "user_id": "u1"})
    for payload in (original, original.decode(), orjson.loads(original)):
        parsed = parse("make_image_replacement_gemini", payload)
        assert parsed.user_id == "u1"
        assert parsed.job == ImageJob(image_url="https://i.redd.it/b.png", filters=("close-up spiders",),
                                      intervention="replacement", filter_text="close-up spiders")
    listed = parse("make_image_cartoonish_gpt_image", {"url": "https://x/y.jpg", "filter": ["a", "b"]})
    assert listed.job.filters == ("a", "b") and listed.job.intervention == "cartoonish_gpt_image"


@pytest.mark.parametrize("payload", ["{not json", "[1, 2]", 42, {"url": ""}, {"image_url": "https://x/y.jpg"},
                                     {"image_url": "https://x/y.jpg", "intervention": "blur", "intensity": "high"}])
def test_malformed_payloads_are_refused(payload: object) -> None:
    with pytest.raises(BadPayload):
        parse(PROCESS_IMAGE_ACTOR, payload)


def test_routes_and_names() -> None:
    assert image_route("blur") == (LOCAL_QUEUE, PROCESS_IMAGE_ACTOR)
    assert image_route("stylize") == (CLOUD_QUEUE, PROCESS_IMAGE_CLOUD_ACTOR)
    assert all(canonical_intervention(name) for name in LEGACY_IMAGE_ACTORS)


def test_queue_time_limits_fill_in_only_missing_limits() -> None:
    middleware = QueueTimeLimits({LOCAL_QUEUE: 60_000, CLOUD_QUEUE: 240_000})

    def limit(queue: str, **options: object) -> object:
        message = dramatiq.Message(queue_name=queue, actor_name="a", args=(), kwargs={}, options=dict(options))
        proxy = dramatiq.MessageProxy(message)
        middleware.before_process_message(None, proxy)  # type: ignore[arg-type]
        return proxy.options.get("time_limit")

    assert limit(CLOUD_QUEUE) == 240_000
    assert limit(LOCAL_QUEUE) == 60_000
    assert limit(CLOUD_QUEUE, time_limit=5) == 5
    assert limit("other") is None
