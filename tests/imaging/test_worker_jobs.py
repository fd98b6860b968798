"""The worker's actors with no cloud provider (in process, real Redis): fallbacks, judging by post text,
the original actor names, transient and permanent failures, and idempotent redelivery."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import orjson
import pytest

from shared import keys
from shared.imagejobs import ImageJob, WaitRegistry
from shared.jobqueue import CLOUD_QUEUE, LOCAL_QUEUE, image_route
from tests.harness import make_test_jpeg, wait_until
from tests.imaging.workerkit import Rig, new_user, rig

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def bare(redis_url: str) -> Iterator[Rig]:
    with rig(redis_url) as r:
        yield r


def new_job(r: Rig, intervention: str = "blur", filter_text: str = "spiders", *statuses: int, data: bytes | None = None,
            context: str = "", **options: object) -> ImageJob:
    url = r.images.add(make_test_jpeg(seed=7) if data is None else data, *statuses)
    return ImageJob(image_url=url, filters=(filter_text,), intervention=intervention, filter_text=filter_text,
                    context_text=context, options=tuple(sorted(options.items())))


def legacy(url: str, filter_text: str, user_id: str) -> str:
    """The original system's task argument."""
    return orjson.dumps({"url": url, "filter": filter_text, "user_id": user_id}).decode()


def events_of(r: Rig, user: str, count: int = 1, timeout: float = 10) -> list[dict]:
    wait_until(lambda: len(r.events(user)) >= count, timeout, f"{count} event(s) for {user}")
    return r.events(user)


def test_worker_declares_local_cloud_and_original_actor_queues(bare: Rig) -> None:
    described = bare.worker.describe()  # what the worker logs when it is ready
    assert "queues ['images_cloud', 'images_local']" in described
    assert "poll 50 ms" in described and "vision none" in described


@pytest.mark.parametrize(
    ("intervention", "options", "applied", "provider"),
    [
        ("cartoonish_gpt_image", {}, "cartoonish", "openai"),
        ("replacement", {}, "overlay", "gemini"),
        ("inpainting", {"boxes": [[10, 10, 100, 100]]}, "blur", "gemini"),
        ("stylize", {"style": "pointillism"}, "pointillism", "gemini"),
    ],
)
def test_unconfigured_provider_falls_back_and_says_so(
    bare: Rig, intervention: str, options: dict, applied: str, provider: str
) -> None:
    user = new_user()
    job = new_job(bare, intervention, **options)
    bare.queue(job, user)
    result = bare.result(job)
    assert (result["intervention"], result["requested_intervention"]) == (applied, intervention)
    assert result["note"] == f"fallback to {applied}: {provider} is not configured"
    data = events_of(bare, user)[0]["data"]
    assert (data["intervention"], data["requested_intervention"], data["note"]) == (
        applied, intervention, result["note"])


def test_post_text_decides_without_a_vision_provider(bare: Rig) -> None:
    unrelated = new_job(bare, "blur", "close-up spiders", context="Our new puppy learned to sit today, so proud")
    related = new_job(bare, "blur", "close-up spiders", context="Macro shot of a jumping spider on my window")
    silent = new_job(bare, "blur", "close-up spiders")
    for job in (unrelated, related, silent):
        bare.queue(job, new_user())
    kept = bare.result(unrelated)
    assert (kept["url"], kept["intervention"]) == (unrelated.image_url, "none")
    assert kept["note"] == "unchanged: the post does not mention close-up spiders"
    assert bare.result(related)["intervention"] == "blur"
    assert bare.result(silent)["intervention"] == "blur"  # no text at all: trust the gateway's match


def test_original_actor_names_accept_both_payload_forms(bare: Rig) -> None:
    # Our payload dict on the old name: the name decides the intervention.
    dict_job = new_job(bare, "cartoonish")
    bare.queue(dict_job, (alice := new_user()), route=(LOCAL_QUEUE, "make_image_cartoonish"))
    assert bare.result(dict_job)["intervention"] == "cartoonish"
    assert events_of(bare, alice)[0]["data"]["intervention"] == "cartoonish"

    # The original's JSON string, naming the user to tell.
    bob, url = new_user(), bare.images.add(make_test_jpeg(seed=8))
    queue, _ = image_route("cartoonish_gpt_image")
    bare.send(queue, "make_image_cartoonish_gpt_image", legacy(url, "clowns", bob))
    data = events_of(bare, bob)[0]["data"]
    assert data["image_url"] == url and data["filters"] == ["clowns"]
    assert (data["intervention"], data["requested_intervention"]) == ("cartoonish", "cartoonish_gpt_image")

    # Asked again for an image already done: answered from the result, without a download.
    carol = new_user()
    bare.send(queue, "make_image_cartoonish_gpt_image", legacy(url, "clowns", carol))
    assert events_of(bare, carol)[0]["data"]["result"] == data["result"]
    assert bare.images.hits(url) == 1


def test_transient_download_failure_is_retried(bare: Rig) -> None:
    job = new_job(bare, "pixelate", "spiders", 503)
    bare.queue(job, new_user())
    assert bare.result(job, timeout=15)["intervention"] == "pixelate"
    assert bare.images.hits(job.image_url) == 2


@pytest.mark.parametrize(("data", "reason"), [(None, "404"), (b"GIF89a not really", "not a usable image")])
def test_permanent_failure_is_not_retried_and_announced(bare: Rig, data: bytes | None, reason: str) -> None:
    user = new_user()
    if data is None:
        job = new_job(bare)
        job = ImageJob(image_url=job.image_url + "-missing", filters=job.filters, intervention="blur",
                       filter_text="spiders")
    else:
        job = new_job(bare, data=data)
    message = bare.queue(job, user)
    failure = bare.failure(job)
    assert reason in failure["reason"]
    [event] = events_of(bare, user)
    assert event["type"] == "image_failed" and reason in event["data"]["reason"]
    # A retry is enqueued (on the delay queue) before the failed delivery is acknowledged, so once
    # the queues are drained there is none: the message was dead-lettered after one download.
    bare.drain(message.queue_name)
    assert message.message_id in {m.message_id for m in bare.broker.dead_letters}
    assert bare.images.hits(job.image_url) == 1


def test_redelivered_message_does_not_notify_twice(bare: Rig) -> None:
    user = new_user()
    job = new_job(bare, "occlusion", f"wasps {uuid.uuid4().hex[:4]}")
    message = bare.queue(job, user)
    bare.result(job)
    assert len(events_of(bare, user)) == 1
    redelivered = bare.broker.enqueue(message)  # the same message id, as after a worker crash
    duplicate = bare.send(message.queue_name, message.actor_name, message.args[0])  # same job, new message
    for m in (redelivered, duplicate):
        bare.drain(m.queue_name)
    time.sleep(0.2)
    assert len(bare.events(user)) == 1, bare.events(user)
    assert bare.images.hits(job.image_url) == 1  # answered from the stored result
    assert bare.redis.exists(keys.result_key(job.wait_id)) == 1


def test_malformed_messages_do_not_stop_the_worker(bare: Rig) -> None:
    bare.send(CLOUD_QUEUE, "make_image_replacement_gemini", "{not json")
    bare.send(LOCAL_QUEUE, "process_image", {"no": "url"})
    job = new_job(bare, "shrink")
    bare.queue(job, new_user())
    assert bare.result(job)["intervention"] == "shrink"


@pytest.fixture(scope="module")
def forgetful(redis_url: str) -> Iterator[Rig]:
    """A worker that remembers failures briefly, so a test sees the record expire."""
    with rig(redis_url, FAILURE_TTL_SECONDS="3", TRANSIENT_FAILURE_TTL_SECONDS="2") as r:
        yield r


def test_recorded_failure_stops_new_jobs_until_its_ttl_ends(forgetful: Rig) -> None:
    job = new_job(forgetful)
    job = ImageJob(image_url=job.image_url + "-gone", filters=job.filters, intervention="blur", filter_text="spiders")
    forgetful.queue(job, new_user())
    failure = forgetful.failure(job)
    assert failure["kind"] == "permanent" and "404" in failure["reason"]
    assert 2000 < forgetful.redis.pttl(keys.failed_key(job.wait_id)) <= 3000
    # Another page view of the dead image: answered from the record, nothing claimed or fetched.
    again = WaitRegistry(forgetful.redis).register(job.wait_id, new_user(), 900, job.job_id)
    assert again.state == "failed" and again.failure == failure
    assert forgetful.images.hits(job.image_url) == 1
    wait_until(lambda: forgetful.redis.exists(keys.failed_key(job.wait_id)) == 0, 5, "failure record expiry")
    forgetful.queue(job, new_user())  # past the TTL: claimed and run again
    wait_until(lambda: forgetful.images.hits(job.image_url) == 2, 10, "second download")


def test_transient_failure_is_remembered_for_its_shorter_ttl(forgetful: Rig) -> None:
    job = new_job(forgetful, "blur", "spiders", *[503] * 8)
    forgetful.queue(job, new_user())
    failure = forgetful.failure(job, timeout=30)  # after the worker's retries
    assert failure["kind"] == "transient" and "503" in failure["reason"]
    assert 0 < forgetful.redis.pttl(keys.failed_key(job.wait_id)) <= 2000
    assert forgetful.images.hits(job.image_url) == 4  # the first attempt and three retries
