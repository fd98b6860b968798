"""The OpenAI and Gemini image clients against local fakes speaking each provider's protocol.

The real SDKs do the talking, so these tests pin what lands on the wire: the multipart edit request
(OpenAI), the inline image part and IMAGE modality (Gemini), the vision request of both, and how
errors turn into retries or refusals. Nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import base64
import io
import threading
import time
from collections.abc import Iterator

import orjson
import pytest
from PIL import Image

from imaging.cloud import vision
from imaging.cloud.calls import CloudRefused, CloudTransient
from imaging.cloud.gemini_images import GeminiImages
from imaging.cloud.openai_images import OpenAIImages
from shared.providers.retry import RetryPolicy
from tests.fakes import Reply, multipart_fields
from tests.fakes.gemini_server import FakeGemini, GeminiAnswer, gemini_error, image_reply
from tests.fakes.openai_server import FakeOpenAI, openai_error
from tests.imaging.cloudfakes import KEY, solid_png

pytestmark = pytest.mark.timeout(30)

FAST = RetryPolicy(max_retries=2, backoff_base=0.02, backoff_max=0.5)


def jpeg(colour: tuple[int, int, int] = (10, 20, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(buf, "JPEG")
    return buf.getvalue()


def soon(seconds: float = 10) -> float:
    return time.monotonic() + seconds


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(expected_api_key=KEY) as server:
        yield server


@pytest.fixture
def fake_gemini() -> Iterator[FakeGemini]:
    with FakeGemini(expected_api_key=KEY) as server:
        yield server


def openai_client(server: FakeOpenAI, *, concurrency: int = 4, timeout: float = 5, policy: RetryPolicy = FAST):
    return OpenAIImages(KEY, base_url=f"{server.url}/v1", image_model="gpt-image-1", vision_model="gpt-vision",
                        concurrency=concurrency, policy=policy, request_timeout=timeout)


def gemini_client(server: FakeGemini, *, concurrency: int = 4, timeout: float = 5, policy: RetryPolicy = FAST):
    return GeminiImages(KEY, base_url=server.url, image_model="gem-image", vision_model="gem-vision",
                        concurrency=concurrency, policy=policy, request_timeout=timeout)


# --------------------------------------------------------------------------- OpenAI


def test_openai_edit_posts_multipart_with_model_and_image_and_decodes_b64(fake_openai: FakeOpenAI) -> None:
    edited = solid_png((255, 0, 255))
    fake_openai.images.push(edited)
    source = jpeg()
    out = openai_client(fake_openai).edit(source, "image/jpeg", "make it a cartoon", deadline=soon())
    assert out == edited
    [request] = fake_openai.image_edit_requests
    assert request.path == "/v1/images/edits"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data")
    fields = multipart_fields(request)
    assert fields["model"][0].value == b"gpt-image-1"
    assert fields["prompt"][0].value == b"make it a cartoon"
    image = fields["image"][0]
    assert image.value == source
    assert image.filename == "image.jpg"
    assert image.content_type == "image/jpeg"


def test_openai_edit_without_image_in_reply_is_refused(fake_openai: FakeOpenAI) -> None:
    fake_openai.images.push(Reply(json={"created": 0, "data": [{"url": "https://example.invalid/x.png"}]}))
    with pytest.raises(CloudRefused, match="no image"):
        openai_client(fake_openai).edit(jpeg(), "image/jpeg", "p", deadline=soon())
    assert len(fake_openai.image_edit_requests) == 1


def test_openai_vision_sends_image_inline_with_strict_schema(fake_openai: FakeOpenAI) -> None:
    fake_openai.chat.push({"results": [{"id": 0, "present": True, "boxes": [{"box_2d": [100, 200, 500, 600]}]}]})
    source = jpeg()
    text = openai_client(fake_openai).judge(source, "image/jpeg", ["close-up spiders"], deadline=soon())
    assert vision.parse_reply(text, 1) == {0: vision.Finding(True, ((200, 100, 600, 500),))}
    [request] = fake_openai.chat_requests
    body = request.json
    assert body["model"] == "gpt-vision"
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["strict"] is True
    system, user = body["messages"]
    assert system["content"] == vision.SYSTEM_PROMPT
    text_part, image_part = user["content"]
    assert "close-up spiders" in text_part["text"]
    assert image_part["image_url"]["url"] == "data:image/jpeg;base64," + base64.b64encode(source).decode()


def test_openai_5xx_is_retried_then_succeeds(fake_openai: FakeOpenAI) -> None:
    fake_openai.images.push(openai_error(500), openai_error(503), solid_png((1, 2, 3)))
    assert openai_client(fake_openai).edit(jpeg(), "image/jpeg", "p", deadline=soon()) == solid_png((1, 2, 3))
    assert len(fake_openai.image_edit_requests) == 3


def test_openai_persistent_5xx_gives_up_after_bounded_retries(fake_openai: FakeOpenAI) -> None:
    fake_openai.images.responder = lambda request: openai_error(500)
    with pytest.raises(CloudTransient, match="HTTP 500"):
        openai_client(fake_openai).edit(jpeg(), "image/jpeg", "p", deadline=soon())
    assert len(fake_openai.image_edit_requests) == 1 + FAST.max_retries


def test_openai_4xx_is_not_retried(fake_openai: FakeOpenAI) -> None:
    fake_openai.images.push(openai_error(400, "Your request was rejected by the safety system"))
    with pytest.raises(CloudRefused, match="HTTP 400"):
        openai_client(fake_openai).edit(jpeg(), "image/jpeg", "p", deadline=soon())
    assert len(fake_openai.image_edit_requests) == 1


def test_openai_429_waits_for_retry_after(fake_openai: FakeOpenAI) -> None:
    fake_openai.images.push(openai_error(429, retry_after=0.3), solid_png((4, 5, 6)))
    started = time.monotonic()
    openai_client(fake_openai).edit(jpeg(), "image/jpeg", "p", deadline=soon())
    assert time.monotonic() - started >= 0.3
    assert len(fake_openai.image_edit_requests) == 2


def test_openai_timeouts_are_bounded_by_the_deadline(fake_openai: FakeOpenAI) -> None:
    fake_openai.images.responder = lambda request: Reply(delay=5, json={})
    started = time.monotonic()
    with pytest.raises(CloudTransient):
        openai_client(fake_openai, timeout=0.4).edit(jpeg(), "image/jpeg", "p", deadline=soon(2.5))
    assert time.monotonic() - started < 3


def test_concurrent_edits_are_bounded_per_provider(fake_openai: FakeOpenAI) -> None:
    fake_openai.images.responder = lambda request: Reply(
        delay=0.2, json={"data": [{"b64_json": base64.b64encode(solid_png((0, 0, 0))).decode()}]}
    )
    client = openai_client(fake_openai, concurrency=2)
    threads = [
        threading.Thread(target=client.edit, args=(jpeg(), "image/jpeg", "p"), kwargs={"deadline": soon()})
        for _ in range(5)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(fake_openai.image_edit_requests) == 5
    assert fake_openai.max_in_flight == 2


# --------------------------------------------------------------------------- Gemini


def test_gemini_generate_sends_inline_image_and_asks_for_image_output(fake_gemini: FakeGemini) -> None:
    edited = solid_png((0, 200, 0))
    fake_gemini.generate.push(image_reply(edited, text="Here is the edited image."))
    source = jpeg()
    data, mime = gemini_client(fake_gemini).generate(source, "image/jpeg", "replace the spider", deadline=soon())
    assert (data, mime) == (edited, "image/png")
    [request] = fake_gemini.generate_requests
    assert request.path == "/v1beta/models/gem-image:generateContent"
    assert request.json["generationConfig"]["responseModalities"] == ["IMAGE"]
    assert FakeGemini.inline_parts(request) == [("image/jpeg", source)]
    assert FakeGemini.user_text(request) == "replace the spider"


def test_gemini_text_only_reply_is_refused_not_retried(fake_gemini: FakeGemini) -> None:
    fake_gemini.generate.push(GeminiAnswer("I can't edit that image.", finish_reason="IMAGE_SAFETY"))
    with pytest.raises(CloudRefused, match="no image"):
        gemini_client(fake_gemini).generate(jpeg(), "image/jpeg", "p", deadline=soon())
    assert len(fake_gemini.generate_requests) == 1


def test_gemini_429_and_5xx_are_retried(fake_gemini: FakeGemini) -> None:
    fake_gemini.generate.push(gemini_error(429, retry_delay=0.01), gemini_error(503), image_reply(solid_png((9, 9, 9))))
    data, _ = gemini_client(fake_gemini).generate(jpeg(), "image/jpeg", "p", deadline=soon())
    assert data == solid_png((9, 9, 9))
    assert len(fake_gemini.generate_requests) == 3


def test_gemini_vision_uses_json_mode_with_schema(fake_gemini: FakeGemini) -> None:
    fake_gemini.generate.push({"results": [{"id": 0, "present": False, "boxes": []},
                                           {"id": 1, "present": True, "boxes": [{"box_2d": [0, 0, 1000, 500]}]}]})
    text = gemini_client(fake_gemini).judge(jpeg(), "image/jpeg", ["spiders", "blood"], deadline=soon())
    assert vision.parse_reply(text, 2) == {0: vision.Finding(False), 1: vision.Finding(True, ((0, 0, 500, 1000),))}
    [request] = fake_gemini.generate_requests
    assert request.path == "/v1beta/models/gem-vision:generateContent"
    config = request.json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseSchema"]["properties"]["results"]["type"] == "ARRAY"
    assert FakeGemini.system_text(request) == vision.SYSTEM_PROMPT
    asked = orjson.loads(FakeGemini.user_text(request).split("\n", 1)[1])
    assert asked == {"filters": [{"id": 0, "description": "spiders"}, {"id": 1, "description": "blood"}]}
    assert len(FakeGemini.inline_parts(request)) == 1


# --------------------------------------------------------------------------- vision replies and retries


def test_vision_reply_parsing_is_lenient_but_never_trusting() -> None:
    reply = orjson.dumps({"results": [
        {"id": 0, "present": True, "boxes": [{"box_2d": [500, 600, 100, 200]}, {"box_2d": [1, 2, 3]},
                                             {"box_2d": [-50, 0, 2000, 10]}, "junk"]},
        {"id": 7, "present": True, "boxes": []},  # unknown filter
        {"id": True, "present": True},  # bool is not an id
        {"id": 1, "present": "yes"},  # not a boolean
        {"id": 0, "present": False},  # duplicate: first answer wins
    ]}).decode()
    found = vision.parse_reply(f"```json\n{reply}\n```", 2)
    assert found == {0: vision.Finding(True, ((200, 100, 600, 500), (0, 0, 10, 1000)))}
    with pytest.raises(CloudRefused):
        vision.parse_reply("not json", 1)


def test_boxes_convert_from_0_1000_to_pixels_outwards() -> None:
    assert vision.to_pixels([(0, 0, 1000, 1000)], (640, 480)) == ((0, 0, 640, 480),)
    assert vision.to_pixels([(101, 250, 333, 751)], (640, 480)) == ((64, 120, 214, 361),)
