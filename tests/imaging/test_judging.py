"""Judging images before changing them: vision (one call per image, all filters), the verdict cache
in a real Redis, and the offline fallback on post text."""

from __future__ import annotations

import io
import os
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from PIL import Image

from imaging.cloud.gemini_images import GeminiImages
from imaging.judging import ImageJudge, judge_filters
from imaging.verdicts import VerdictCache, content_hash, verdict_key
from shared.imagejobs import ImageJob
from shared.providers.retry import RetryPolicy
from tests.fakes import Request
from tests.fakes.gemini_server import FakeGemini, gemini_error
from tests.imaging.cloudfakes import KEY, Behaviour, scripted_gemini, vision_filters

pytestmark = pytest.mark.timeout(30)

VISION = "fake-gemini-vision"


@pytest.fixture
def behaviour() -> Behaviour:
    return Behaviour()


@pytest.fixture
def fake(behaviour: Behaviour) -> Iterator[FakeGemini]:
    with scripted_gemini(behaviour) as server:
        yield server


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    return redis.Redis.from_url(redis_url)


def judge_for(fake: FakeGemini, client: redis.Redis, timeout: float = 5) -> ImageJudge:
    gemini = GeminiImages(KEY, base_url=fake.url, image_model="x", vision_model=VISION, concurrency=2,
                          policy=RetryPolicy(max_retries=1, backoff_base=0.02), request_timeout=2)
    return ImageJudge(gemini, VerdictCache(client, ttl=600), timeout=timeout)


def unique_image(size: tuple[int, int] = (400, 300)) -> tuple[bytes, Image.Image]:
    """Bytes no other test has produced (the cache is keyed by content)."""
    img = Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3))
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue(), img


def job(*filters: str, context: str = "", **options: object) -> ImageJob:
    return ImageJob(image_url="https://img.example/x.jpg", filters=filters, intervention="blur",
                    filter_text=", ".join(filters), context_text=context, options=tuple(sorted(options.items())))


def later() -> float:
    return time.monotonic() + 10


def test_present_with_boxes_gives_pixel_boxes(fake: FakeGemini, client: redis.Redis, behaviour: Behaviour) -> None:
    behaviour.see("close-up spiders", True, [[100, 250, 500, 750]])  # ymin, xmin, ymax, xmax
    data, img = unique_image((400, 300))
    verdict = judge_for(fake, client).judge(job("close-up spiders"), data, img, deadline=later())
    assert verdict.apply
    assert verdict.boxes == ((100, 30, 300, 150),)
    assert verdict.judged_by == "gemini"


def test_absent_leaves_the_image_unchanged(fake: FakeGemini, client: redis.Redis, behaviour: Behaviour) -> None:
    behaviour.see("kittens", False)
    data, img = unique_image()
    verdict = judge_for(fake, client).judge(job("kittens"), data, img, deadline=later())
    assert not verdict.apply
    assert verdict.note == "unchanged: image does not show kittens"


def test_one_call_per_image_for_all_filters_then_cached_by_content(
    fake: FakeGemini, client: redis.Redis, behaviour: Behaviour
) -> None:
    behaviour.see("spiders", False)
    behaviour.see("blood", True, [[0, 0, 500, 500]])
    behaviour.see("needles", True, [])  # present, the whole image
    data, img = unique_image()
    j = job("spiders", image_filters=["spiders", "blood", "needles"])
    assert judge_filters(j) == ["spiders", "blood", "needles"]
    judge = judge_for(fake, client)
    first = judge.judge(j, data, img, deadline=later())
    assert first.apply and first.boxes == ()  # one present filter covers the whole image
    [request] = fake.generate_requests
    assert vision_filters(request) == ["spiders", "blood", "needles"]
    assert client.ttl(verdict_key(content_hash(data))) > 0

    # Another job, same bytes (say, the image posted again under another URL): zero calls.
    fake.clear()
    again = judge.judge(job("Spiders.", image_filters=["Blood", "spiders"]), data, img, deadline=later())
    assert again.apply and again.boxes == ((0, 0, 200, 150),) and again.judged_by == "cache"
    assert fake.generate_requests == []

    # A partly new filter set asks only about what is new.
    behaviour.see("wasps", False)
    third = judge.judge(job("spiders", image_filters=["spiders", "wasps"]), data, img, deadline=later())
    assert not third.apply
    [request] = fake.generate_requests
    assert vision_filters(request) == ["wasps"]


def test_vision_failure_falls_back_to_post_text(fake: FakeGemini, client: redis.Redis) -> None:
    fake.generate.responder = lambda request: gemini_error(503)
    data, img = unique_image()
    judge = judge_for(fake, client)
    unrelated = judge.judge(job("spiders", context="My cat is asleep on the sofa all afternoon"), data, img,
                            deadline=later())
    assert not unrelated.apply
    assert "image not judged (gemini: HTTP 503)" in unrelated.note
    assert "the post does not mention spiders" in unrelated.note
    assert len(fake.generate_requests) == 2  # one retry, then post text decides
    related = judge.judge(job("spiders", context="a huge spider sat on my pillow this morning"), data, img,
                          deadline=later())
    assert related.apply
    assert client.exists(verdict_key(content_hash(data))) == 0  # failures are not cached


def test_text_judging_offline() -> None:
    judge = ImageJudge(None, None, timeout=1)
    data, img = unique_image((8, 8))
    no_context = judge.judge(job("spiders"), data, img, deadline=later())
    assert no_context.apply and no_context.note == ""
    short = judge.judge(job("spiders", context="wow look"), data, img, deadline=later())
    assert short.apply  # too little text to say it does not match
    unrelated = judge.judge(job("spiders", context="Sunset over the lake from our holiday cabin"), data, img,
                            deadline=later())
    assert not unrelated.apply
    assert unrelated.note == "unchanged: the post does not mention spiders"
    related = judge.judge(job("close-up spiders", context="Found this tarantula in the garden today"), data, img,
                          deadline=later())
    assert related.apply and related.judged_by == "post text"


def test_judging_can_be_switched_off_per_job(fake: FakeGemini, client: redis.Redis, behaviour: Behaviour) -> None:
    behaviour.see("kittens", False)
    data, img = unique_image()
    verdict = judge_for(fake, client).judge(job("kittens", judge=False), data, img, deadline=later())
    assert verdict.apply
    assert fake.generate_requests == []


def test_filters_judged_come_from_options_then_filters_then_text() -> None:
    assert judge_filters(job("a", image_filters=["x", "x", " y\n", 3])) == ["x", "y"]
    assert judge_filters(job("custom_12", "spiders")) == ["spiders"]
    only_custom = ImageJob(image_url="u", filters=("custom_1",), intervention="blur", filter_text="close-up spiders")
    assert judge_filters(only_custom) == ["close-up spiders"]


def test_concurrent_jobs_for_one_picture_ask_once(fake: FakeGemini, client: redis.Redis, behaviour: Behaviour) -> None:
    behaviour.see("spiders", True, [[0, 0, 100, 100]])
    answer = fake.generate.responder

    def slow(request: Request) -> object:
        time.sleep(0.3)
        return answer(request)

    fake.generate.responder = slow
    data, img = unique_image()
    judge = judge_for(fake, client)
    verdicts = []
    threads = [threading.Thread(target=lambda: verdicts.append(judge.judge(job("spiders"), data, img,
                                                                           deadline=later())))
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake.generate_requests) == 1
    assert [v.apply for v in verdicts] == [True] * 4
    assert {v.boxes for v in verdicts} == {((0, 0, 40, 30),)}
