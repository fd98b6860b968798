"""POST /chat/image without a model: upload checks, and a plain answer that pictures need a provider."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import orjson
import pytest
from starlette.testclient import TestClient

from tests.gateway.chat.chatclient import new_user
from tests.gateway.chat.images import bmp, noisy_png, png
from tests.harness import make_test_jpeg
from tests.inprocess import gateway_client

SMALL_LIMIT = 200_000


@pytest.fixture(scope="module")
def strict_gateway(redis_url: str) -> Iterator[TestClient]:
    with gateway_client(redis_url, CHAT_IMAGE_MAX_BYTES=str(SMALL_LIMIT), MAX_IMAGE_PIXELS="1000000") as client:
        yield client


def upload(
    gateway: httpx.Client, image: bytes | None, name: str = "pic.png", mime: str = "image/png", **fields: str
) -> httpx.Response:
    files = {"image": (name, image, mime)} if image is not None else {"other": ("x.txt", b"x", "text/plain")}
    return gateway.post("/chat/image", files=files, data=fields)


def test_offline_answer_says_a_provider_is_needed(api: TestClient) -> None:
    response = upload(api, make_test_jpeg(), "spider.jpg", "image/jpeg", history="not json [")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "success"
    assert body["user_id"] == "default_user"  # the extension sends none
    assert body["type"] == "clarify"
    assert "provider" in body["text"]
    assert "Describe it in words" in body["options"]

    # The button works in the text chat.
    chat = api.post(
        "/chat",
        json={
            "message": "Describe it in words",
            "history": [{"role": "assistant", "content": body["text"]}],
            "user_id": "default_user",
        },
    )
    assert chat.json()["type"] == "clarify"


def test_offline_uses_the_words_sent_with_the_picture(api: TestClient) -> None:
    user = new_user()
    response = upload(
        api,
        png(),
        message="hide close-up spiders like this one",
        user_id=user,
        history=orjson.dumps([]).decode(),
    )
    body = response.json()
    assert response.status_code == 200, body
    assert body["user_id"] == user
    assert body["type"] == "ready_for_config"
    assert body["filter_data"]["filter_text"] == "close-up spiders like this one"
    assert "provider" in body["text"]


@pytest.mark.parametrize(
    ("content", "name", "mime"),
    [
        (b"hello, I am a text file pretending to be a picture\n" * 20, "cat.png", "image/png"),
        (png((300, 200))[:-400], "truncated.png", "image/png"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "header-only.png", "image/png"),
        (b"", "empty.png", "image/png"),
    ],
)
def test_bad_pictures_are_refused(api: TestClient, content: bytes, name: str, mime: str) -> None:
    response = upload(api, content, name, mime)
    assert response.status_code == 422, response.text
    assert response.json()["status"] == "error"


def test_unsupported_format_is_refused(api: TestClient) -> None:
    response = upload(api, bmp(), "x.bmp", "image/bmp")
    assert response.status_code == 422
    assert "unsupported image type" in response.json()["message"]


def test_too_many_bytes_is_refused(strict_gateway: TestClient) -> None:
    data = noisy_png((300, 300))  # ~270 kB, above the 200 kB limit
    assert len(data) > SMALL_LIMIT
    response = upload(strict_gateway, data)
    assert response.status_code == 413
    assert response.json()["status"] == "error"


def test_too_many_pixels_is_refused(strict_gateway: TestClient) -> None:
    response = upload(strict_gateway, png((1200, 1000)))  # 1.2 MP, small file
    assert response.status_code == 422
    assert "pixels" in response.json()["message"]


def test_missing_image_and_wrong_encoding(api: TestClient) -> None:
    response = upload(api, None, message="hi")
    assert response.status_code == 422
    response = api.post("/chat/image", json={"message": "hi"})
    assert response.status_code == 400
    assert response.json()["status"] == "error"
    two = [("image", ("a.png", png(), "image/png")), ("image", ("b.png", png(), "image/png"))]
    response = api.post("/chat/image", files=two)
    assert response.status_code == 400
