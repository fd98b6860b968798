"""The worker's actors (in process, real Redis) with both cloud providers (local fakes) and Gemini
judging images.

One worker and one pair of fakes for the module; every test uses its own filter text, so
the fakes' answers (by filter text) and request counts never mix between tests.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import orjson
import pytest
from PIL import Image, ImageStat

from imaging.verdicts import content_hash, verdict_key
from shared import keys
from shared.imagejobs import ImageJob
from shared.jobqueue import CLOUD_QUEUE, LOCAL_QUEUE, PROCESS_IMAGE_ACTOR
from tests.fakes import Request, multipart_fields
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI
from tests.harness import make_test_jpeg, wait_until
from tests.imaging.cloudfakes import (
    EDIT_COLOUR,
    GEMINI_VISION_MODEL,
    Behaviour,
    provider_env,
    scripted_gemini,
    scripted_openai,
    vision_filters,
)
from tests.imaging.workerkit import Rig, new_user, rig

pytestmark = pytest.mark.timeout(60)


@dataclass
class CloudRig:
    rig: Rig
    openai: FakeOpenAI
    gemini: FakeGemini
    behaviour: Behaviour

    def vision_calls(self, text: str) -> list[Request]:
        return [r for r in self.gemini.requests_to(r".*:generateContent")
                if r.params.get("model") == GEMINI_VISION_MODEL and text in vision_filters(r)]

    def gemini_edits(self, text: str) -> list[Request]:
        return [r for r in self.gemini.requests_to(r".*:generateContent")
                if r.params.get("model") != GEMINI_VISION_MODEL and text in FakeGemini.user_text(r)]

    def openai_edits(self, text: str) -> list[Request]:
        return [r for r in self.openai.image_edit_requests
                if text in multipart_fields(r)["prompt"][0].value.decode()]


@pytest.fixture(scope="module")
def cloud(redis_url: str) -> Iterator[CloudRig]:
    behaviour = Behaviour()
    with scripted_openai(behaviour) as openai_fake, scripted_gemini(behaviour) as gemini_fake:
        env = provider_env(
            openai_fake.url, gemini_fake.url, IMAGE_VISION_PROVIDER="gemini", CLOUD_MAX_RETRIES="1",
            CLOUD_BACKOFF_SECONDS="0.05", CLOUD_CONCURRENCY="1", CLOUD_WORKER_THREADS="3",
        )
        with rig(redis_url, **env) as r:
            yield CloudRig(r, openai_fake, gemini_fake, behaviour)


def topic(word: str) -> str:
    return f"{word} {uuid.uuid4().hex[:6]}"


def new_job(cloud: CloudRig, intervention: str, filter_text: str, data: bytes | None = None,
            **options: object) -> ImageJob:
    url = cloud.rig.images.add(data or make_test_jpeg(seed=3))
    return ImageJob(image_url=url, filters=(filter_text,), intervention=intervention, filter_text=filter_text,
                    options=tuple(sorted(options.items())))


def stored_image(cloud: CloudRig, url: str) -> Image.Image:
    img = Image.open(io.BytesIO(cloud.rig.blob(url)))
    img.load()
    return img.convert("RGB")


def mean(img: Image.Image) -> tuple[int, ...]:
    return tuple(round(v) for v in ImageStat.Stat(img).mean)


def close(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 3) -> bool:
    """Equal up to lossy (WebP) encoding."""
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=True))


def test_gpt_image_cartoon_is_decoded_stored_and_announced(cloud: CloudRig) -> None:
    user, text = new_user(), topic("spiders")
    job = new_job(cloud, "cartoonish_gpt_image", text)
    cloud.rig.queue(job, user)
    result = cloud.rig.result(job)
    assert result["intervention"] == result["requested_intervention"] == "cartoonish_gpt_image"
    assert "note" not in result
    out = stored_image(cloud, result["url"])
    assert out.size == (320, 240)  # the fake answered 256x192; the page keeps the original's box
    assert close(mean(out), EDIT_COLOUR["openai"])
    [edit] = cloud.openai_edits(text)
    fields = multipart_fields(edit)
    assert fields["model"][0].value == b"gpt-image-1"
    assert Image.open(io.BytesIO(fields["image"][0].value)).size == (320, 240)
    assert len(cloud.vision_calls(text)) == 1
    wait_until(lambda: cloud.rig.events(user) != [], 5, "event")
    [event] = cloud.rig.events(user)
    assert event["type"] == "image_processed"
    assert event["data"]["result"] == result["url"]
    assert event["data"]["intervention"] == "cartoonish_gpt_image"


def test_replacement_and_stylize_go_to_gemini(cloud: CloudRig) -> None:
    user, text = new_user(), topic("snakes")
    cloud.behaviour.see(text, True, [[100, 100, 600, 500]])
    replace = new_job(cloud, "replacement", text, replacement_object="a teddy bear")
    stylize = new_job(cloud, "stylize", text, style="watercolor")
    inpaint = new_job(cloud, "inpainting", text)
    for job in (replace, stylize, inpaint):
        cloud.rig.queue(job, user)
    for job in (replace, stylize, inpaint):
        result = cloud.rig.result(job)
        assert result["intervention"] == job.intervention
        assert close(mean(stored_image(cloud, result["url"])), EDIT_COLOUR["gemini"])
    prompts = sorted(FakeGemini.user_text(r) for r in cloud.gemini_edits(text))
    assert len(prompts) == 3
    assert any('with "a teddy bear"' in p for p in prompts)
    assert any("watercolour" in p for p in prompts)
    assert any("remove every instance" in p for p in prompts)
    # Same bytes for all three: the image was judged once.
    assert len(cloud.vision_calls(text)) == 1


def test_failing_provider_falls_back_to_local_with_a_note(cloud: CloudRig) -> None:
    user, text = new_user(), topic("wasps")
    cloud.behaviour.see(text, True, [[0, 0, 500, 500]])
    cloud.behaviour.fail(text, 500)
    job = new_job(cloud, "replacement", text, data=make_test_jpeg(seed=11))
    cloud.rig.queue(job, user)
    result = cloud.rig.result(job)
    assert result["intervention"] == "blur"  # the vision boxes are known: blur them
    assert result["requested_intervention"] == "replacement"
    assert result["note"] == "fallback to blur: gemini: HTTP 500"
    assert len(cloud.gemini_edits(text)) == 2  # one retry (CLOUD_MAX_RETRIES=1), then the fallback
    wait_until(lambda: cloud.rig.events(user) != [], 5, "event")
    data = cloud.rig.events(user)[0]["data"]
    assert (data["intervention"], data["requested_intervention"], data["note"]) == (
        "blur", "replacement", "fallback to blur: gemini: HTTP 500")


def test_image_without_the_content_stays_unchanged_and_is_judged_once(cloud: CloudRig) -> None:
    user, text = new_user(), topic("kittens")
    cloud.behaviour.see(text, False)
    data = make_test_jpeg(seed=21)
    first = new_job(cloud, "blur", text, data=data)
    cloud.rig.queue(first, user)
    result = cloud.rig.result(first)
    assert result["url"] == first.image_url  # the extension swaps in the same picture: a no-op
    assert result["intervention"] == "none"
    assert result["requested_intervention"] == "blur"
    assert result["note"] == f"unchanged: image does not show {text}"
    wait_until(lambda: cloud.rig.events(user) != [], 5, "event")
    assert cloud.rig.events(user)[0]["data"]["result"] == first.image_url
    # The same picture under another URL (a repost): judged from the cache, no call at all.
    second = new_job(cloud, "pixelate", text, data=data)
    cloud.rig.queue(second, new_user())
    assert cloud.rig.result(second)["intervention"] == "none"
    assert len(cloud.vision_calls(text)) == 1
    assert cloud.rig.redis.exists(verdict_key(content_hash(data))) == 1


def test_todays_gateway_routing_works_on_the_cloud_queue(cloud: CloudRig) -> None:
    """The gateway enqueues ``process_image`` on the cloud queue for cloud interventions."""
    text = topic("clowns")
    job = new_job(cloud, "stylize", text, style="pointillism")
    cloud.rig.queue(job, new_user(), route=(CLOUD_QUEUE, PROCESS_IMAGE_ACTOR))
    assert cloud.rig.result(job)["intervention"] == "stylize"
    assert "pointillist" in FakeGemini.user_text(cloud.gemini_edits(text)[0])


def test_original_actor_names_take_the_original_json_payload(cloud: CloudRig) -> None:
    user, text = new_user(), topic("rats")
    url = cloud.rig.images.add(make_test_jpeg(seed=31))
    cloud.rig.send(CLOUD_QUEUE, "make_image_replacement_gemini",
                   orjson.dumps({"url": url, "filter": text, "user_id": user}).decode())
    wait_until(lambda: cloud.rig.events(user) != [], 15, "event for the user named in the payload")
    [event] = cloud.rig.events(user)
    assert event["data"]["image_url"] == url
    assert event["data"]["filters"] == [text]
    assert event["data"]["intervention"] == "replacement"
    assert cloud.rig.redis.exists(keys.result_key(keys.wait_id(url, [text]))) == 1


def test_slow_cloud_edits_do_not_hold_up_local_jobs(cloud: CloudRig) -> None:
    text = topic("sharks")
    cloud.behaviour.edit_delay = 0.8
    try:
        slow = [new_job(cloud, "inpainting", text, data=make_test_jpeg(seed=40 + i)) for i in range(3)]
        for job in slow:
            cloud.rig.queue(job, new_user())
        time.sleep(0.3)  # the cloud jobs are running (or waiting for the one Gemini edit slot)
        local = new_job(cloud, "pixelate", text, data=make_test_jpeg(seed=50))
        started = time.monotonic()
        cloud.rig.queue(local, new_user())
        assert cloud.rig.result(local)["intervention"] == "pixelate"
        assert time.monotonic() - started < 1.0
        assert not all(cloud.rig.redis.exists(keys.result_key(j.wait_id)) for j in slow)
        for job in slow:
            assert cloud.rig.result(job, timeout=20)["intervention"] == "inpainting"
        assert cloud.behaviour.max_edits_in_flight == 1  # CLOUD_CONCURRENCY=1
    finally:
        cloud.behaviour.edit_delay = 0.0


def test_local_queue_jobs_are_judged_too(cloud: CloudRig) -> None:
    text = topic("needles")
    cloud.behaviour.see(text, True, [[250, 250, 750, 750]])
    job = new_job(cloud, "occlusion", text, data=make_test_jpeg(seed=60))
    cloud.rig.queue(job, new_user(), route=(LOCAL_QUEUE, PROCESS_IMAGE_ACTOR))
    result = cloud.rig.result(job)
    assert result["intervention"] == "occlusion"
    out = stored_image(cloud, result["url"])
    # Occlusion covered the box found by the vision call (the middle), not the whole picture.
    assert close(mean(out.crop((120, 90, 200, 150))), (0, 0, 0))
    assert not close(mean(out.crop((0, 0, 40, 40))), (0, 0, 0), 30)
