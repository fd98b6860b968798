"""POST /v1/moderate on the gateway app (in process, real Redis, local provider); the image job test runs
against the real process stack (gateway, worker, image host)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from gateway.moderate import whole_clusters
from shared.limits import MAX_MODERATE_POSTS
from tests.conftest import Stack
from tests.harness import DEFAULT_PREFIX, make_test_jpeg, wait_until
from tests.wsclient import Socket

from .test_get_feed import add_filter


def user() -> str:
    return f"mod-{uuid.uuid4().hex[:10]}"


def utf16_slice(text: str, start: int, end: int) -> str:
    return text.encode("utf-16-le")[2 * start : 2 * end].decode("utf-16-le")


def moderate(client: httpx.Client | TestClient, uid: str, posts: list[dict[str, Any]]) -> dict[str, Any]:
    r = client.post("/v1/moderate", json={"user_id": uid, "posts": posts})
    assert r.status_code == 200, r.text
    return r.json()


TRICKY = "🇺🇦👩🏽‍🚒 War news: the war in cafe\u0301s, \U0001d534\U0001d51e\U0001d52f and war\u0301 again; war."


def test_blur_spans_are_utf16_and_keep_clusters_whole(api: TestClient) -> None:
    uid = user()
    add_filter(api, uid, "war", 1, "text")
    out = moderate(
        api,
        uid,
        [
            {"id": "a", "title": "No war 😀 here", "text": TRICKY, "language": "en"},
            {"id": "b", "text": "Knitting patterns"},
        ],
    )
    a, b = out["posts"]
    assert a["id"] == "a" and a["language"] == "en" and b["matches"] == [] and b["text"] is None
    [match] = a["matches"]
    assert match["action"] == "blur" and match["filter_text"] == "war" and 0 < match["confidence"] <= 1
    assert match["reason"]
    spans = match["spans"]
    assert spans == a["text"]["spans"]
    fields = {"title": "No war 😀 here", "body": TRICKY}
    for span in spans:
        assert utf16_slice(fields[span["field"]], span["start"], span["end"]) == span["text"]
    body = [s for s in spans if s["field"] == "body"]
    assert [s["text"].lower() for s in body][:2] == ["war", "war"]
    assert "war\u0301" in [s["text"] for s in body]  # the combining accent stays with its letter
    assert body[0]["start"] == len("🇺🇦👩🏽‍🚒 ".encode("utf-16-le")) // 2  # emoji count as UTF-16 units
    assert next(s for s in spans if s["field"] == "title")["start"] == 3
    assert out["moderation"]["provider_calls"] == 1


def test_every_matching_filter_with_its_own_action_and_cache(api: TestClient) -> None:
    uid = user()
    add_filter(api, uid, "war", 1, "text")
    add_filter(api, uid, "violence", 3, "text")
    posts = [{"id": "p", "text": "War and violence in the streets, violent war scenes"}]
    out = moderate(api, uid, posts)
    actions = {m["filter_text"]: m["action"] for m in out["posts"][0]["matches"]}
    assert actions == {"war": "blur", "violence": "overlay"}
    overlay = next(m for m in out["posts"][0]["matches"] if m["action"] == "overlay")
    assert "violence" in overlay["warning"]
    assert out["posts"][0]["text"]["action"] == "overlay"  # strongest filter wins, as in /get_feed
    again = moderate(api, uid, posts)
    assert again["moderation"]["provider_calls"] == 0 and again["moderation"]["cached_posts"] == 1
    assert again["posts"] == out["posts"]


def test_no_filters_no_provider_call(api: TestClient) -> None:
    out = moderate(api, user(), [{"id": "x", "text": "war"}])
    assert out["posts"] == [{"id": "x", "matches": [], "text": None, "images": []}]
    assert out["moderation"]["provider"] is None and out["moderation"]["provider_calls"] == 0


@pytest.mark.parametrize(
    ("payload", "status"),
    [
        ({"posts": [{"id": "a", "text": "x"}]}, 400),  # open mode: user_id required
        ({"user_id": "u"}, 422),
        ({"user_id": "u", "posts": []}, 422),
        ({"user_id": "u", "posts": {"id": "a"}}, 422),
        ({"user_id": "u", "posts": [{"id": "a", "text": "x"}] * 2}, 422),
        ({"user_id": "u", "posts": [{"id": f"{i}", "text": "x"} for i in range(MAX_MODERATE_POSTS + 1)]}, 422),
        ({"user_id": "u", "posts": [{"id": "", "text": "x"}]}, 422),
        ({"user_id": "u", "posts": [{"id": "a"}]}, 422),
        ({"user_id": "u", "posts": [{"id": "a", "text": 5}]}, 422),
        ({"user_id": "u", "posts": [{"id": "a", "text": "x", "images": [{"url": "javascript:alert(1)"}]}]}, 422),
        (
            {"user_id": "u", "posts": [{"id": "a", "text": "x", "images": [{"url": "https://h.example/a", "alt": 3}]}]},
            422,
        ),
        ({"user_id": "u", "posts": [{"id": "a", "text": "x", "images": "nope"}]}, 422),
        ({"user_id": "u", "posts": [None]}, 422),
    ],
)
def test_bad_requests_get_clear_errors(api: TestClient, payload: dict[str, Any], status: int) -> None:
    r = api.post("/v1/moderate", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["status"] == "error" and r.json()["message"]


def test_lone_surrogate_is_refused(api: TestClient) -> None:
    r = api.post(
        "/v1/moderate",
        content=b'{"user_id":"u","posts":[{"id":"a","text":"\\ud800"}]}',
        headers={"content-type": "application/json"},
    )
    assert r.status_code in (400, 422), r.text


@pytest.mark.parametrize(
    ("text", "a", "b", "want"),
    [
        ("war\u0301s", 0, 3, (0, 4)),
        ("👩🏽‍🚒x", 0, 1, (0, 4)),
        ("a\u0301", 1, 2, (0, 2)),
        ("plain", 1, 3, (1, 3)),
    ],
)
def test_whole_clusters(text: str, a: int, b: int, want: tuple[int, int]) -> None:
    assert whole_clusters(text, a, b) == want


def test_image_job_status_and_completion_on_the_socket(stack: Stack) -> None:
    stack.images.default = make_test_jpeg(seed=11)
    url = stack.images.url(DEFAULT_PREFIX + f"moderate/{uuid.uuid4().hex[:8]}.jpg")
    uid = user()
    socket = Socket(f"{stack.ws_base}/{uid}")
    try:
        time.sleep(0.2)  # attached and subscribed before the job can end
        with httpx.Client(base_url=stack.gateway.url, timeout=60) as gateway:
            add_filter(gateway, uid, "tanks", 2, "all")
            posts = [{"id": "t", "text": "tanks rolling in", "images": [{"url": url, "alt": "tanks"}]}]
            [image] = moderate(gateway, uid, posts)["posts"][0]["images"]
            assert image["status"] in ("DEFERRED", "COMPLETED") and image["filters"] == ["tanks"]
            assert image["job_id"] and image["wait_id"]
            # Announced on the user's socket like a feed image's job.
            event = socket.wait_for("image_processed", timeout=30)[0]["data"]
            assert json.dumps(event).count(image["url"].split("/")[-1]) >= 1

            def done() -> bool:
                poll = gateway.get(
                    "/get_img_result", params={"img_url": image["url"], "filters": json.dumps(["tanks"])}
                )
                return poll.json()["status"] == "COMPLETED"

            wait_until(done, 30, "image job completion")
            [image] = moderate(gateway, uid, posts)["posts"][0]["images"]
            assert image["status"] == "COMPLETED" and image["result_url"].startswith("http")
    finally:
        socket.close()
