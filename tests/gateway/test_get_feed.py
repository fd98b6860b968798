"""POST /get_feed on the gateway app (in process, real Redis): 25-post Reddit and X pages built from the
samples. The image job test runs against the real process stack (gateway, worker, image host)."""

from __future__ import annotations

import html
import json
import re
import time
import uuid
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from gateway.feeds import parse_feed
from gateway.viewer.samplegen import reddit_page, x_timeline
from tests.conftest import Stack
from tests.harness import DEFAULT_PREFIX, make_test_jpeg, wait_until

REDDIT_URL = "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=dDNfZ2VuMDI0&t=DAY"
X_URL = "https://x.com/i/api/graphql/abc123/HomeLatestTimeline?variables=%7B%7D"
OVERLAY_RE = re.compile(r"__OVERLAY_START__(.*?)\|([\s\S]*?)__OVERLAY_END__")
BLUR_RE = re.compile(r"__BLUR_START__([\s\S]*?)__BLUR_END__")


def user() -> str:
    return f"feed-{uuid.uuid4().hex[:10]}"


def add_filter(client: httpx.Client, uid: str, text: str, intensity: int, content_type: str = "all") -> int:
    r = client.post("/filters", json={"user_id": uid, "filter_text": text,
                                                         "intensity": intensity, "content_type": content_type})
    assert r.status_code == 200, r.text
    return r.json()["filter_id"]


def get_feed(client: httpx.Client, uid: str, url: str, body: str, *, as_string: bool = False) -> httpx.Response:
    data: Any = {"feed_info": {"response": body}}
    if as_string:
        data = json.dumps(data)
    return client.post("/get_feed", json={"user_id": uid, "url": url, "data": data,
                                         "tab_id": 7, "useBatching": False})


def local_images(stack: Stack, body: str) -> str:
    """Point the feed's image hosts at the local image server (tests never leave loopback)."""
    stack.images.default = make_test_jpeg(seed=9)
    base = stack.images.url("")
    for host in ("https://preview.redd.it", "https://i.redd.it", "https://pbs.twimg.com"):
        body = body.replace(host, base + DEFAULT_PREFIX + host.split("//")[1].split(".")[0])
    return body


def test_no_filters_returns_the_body_unchanged(api: TestClient) -> None:
    page = reddit_page(25, seed=1)
    r = get_feed(api, user(), REDDIT_URL.replace("home-feed", "best"), page.body)
    assert r.status_code == 200
    assert r.json()["status"] == "success"
    assert r.json()["feed"]["response"] == page.body


def test_reddit_page_blur_and_overlay(api: TestClient) -> None:
    uid = user()
    add_filter(api, uid, "spiders", 1, "text")
    add_filter(api, uid, "war", 3, "text")
    page = reddit_page(25, seed=1)
    r = get_feed(api, uid, REDDIT_URL, page.body)
    assert r.status_code == 200, r.text
    out = r.json()["feed"]["response"]
    report = r.json()["moderation"]
    assert report["provider"] == "local" and report["provider_calls"] == 1
    blurred = [html.unescape(m) for m in BLUR_RE.findall(out)]
    assert blurred and all("spider" in b.lower() for b in blurred), blurred
    overlays = OVERLAY_RE.findall(html.unescape(out))
    assert overlays and all("war" in w.lower() for w, _ in overlays)
    # The result is still a feed the same parser reads, with the same posts in the same order.
    again = parse_feed("reddit", out)
    assert [p.id for p in again.posts] == [p.id for p in parse_feed("reddit", page.body).posts]
    changed = {c["post_id"] for c in report["changed"]}
    assert changed and all(c["matches"] and c["matches"][0]["reason"] for c in report["changed"])
    # A post that matched nothing is byte-for-byte the same.
    untouched = [p for p in page.expected if p.id not in changed]
    assert untouched


def test_second_request_is_served_from_the_verdict_cache(api: TestClient) -> None:
    uid, other = user(), user()
    for u in (uid, other):
        add_filter(api, u, "sourdough bread", 3)
    page = x_timeline(25, seed=3)
    first = get_feed(api, uid, X_URL, page.body).json()
    second = get_feed(api, other, X_URL, page.body).json()
    assert first["moderation"]["provider_calls"] == 1
    assert second["moderation"]["provider_calls"] == 0
    assert second["moderation"]["cached_posts"] == first["moderation"]["posts"]
    assert first["feed"]["response"] == second["feed"]["response"]


def test_x_page_markers_and_valid_json(api: TestClient) -> None:
    uid = user()
    add_filter(api, uid, "war", 5, "text")  # local provider cannot rewrite: overlays and says so
    page = x_timeline(25, seed=4)
    r = get_feed(api, uid, X_URL, page.body, as_string=True)
    assert r.status_code == 200, r.text
    out = r.json()["feed"]["response"]
    doc = json.loads(out)
    texts = json.dumps(doc)
    assert "__OVERLAY_START__" in texts
    notes = [n for c in r.json()["moderation"]["changed"] for n in c["notes"]]
    assert any("cannot rewrite" in n for n in notes)


def test_matching_image_post_gets_deferred_marker_and_a_job(stack: Stack) -> None:
    with httpx.Client(base_url=stack.gateway.url, timeout=60) as gateway:
        image_job_completes(stack, gateway)


def image_job_completes(stack: Stack, gateway: httpx.Client) -> None:
    uid = user()
    add_filter(gateway, uid, "spiders", 2, "all")
    page = reddit_page(25, seed=5)
    body = local_images(stack, page.body)
    r = get_feed(gateway, uid, REDDIT_URL, body)
    assert r.status_code == 200, r.text
    out = r.json()["feed"]["response"]
    configs = [json.loads(html.unescape(c)) for c in re.findall(r"diy-mod-image=\"([^\"]*)\"", out)]
    configs += [json.loads(html.unescape(c)) for c in re.findall(r"diy-mod-image='([^']*)'", out)]
    assert configs, "no image marker written"
    config = configs[0]
    assert config["status"] in ("DEFERRED", "COMPLETED") and config["filters"] == ["spiders"]
    # The job runs; polling with the URL as the browser sees it completes.
    doc = parse_feed("reddit", out)
    image_url = next(u for p in doc.posts for u in p.image_urls if "127.0.0.1" in u)

    def done() -> bool:
        poll = gateway.get("/get_img_result",
                         params={"img_url": image_url, "filters": json.dumps(["spiders"])}).json()
        return poll["status"] == "COMPLETED"

    wait_until(done, 30, "image job completion")
    # Now the same page for another user with the same filter: COMPLETED at once, nothing queued.
    other = user()
    add_filter(gateway, other, "spiders", 2, "all")
    out2 = get_feed(gateway, other, REDDIT_URL, body).json()["feed"]["response"]
    assert "COMPLETED" in html.unescape(out2) and "processedUrl" in html.unescape(out2)


@pytest.mark.parametrize(
    "payload,status",
    [
        ({"user_id": "u", "url": "https://example.com/feed", "data": {"feed_info": {"response": "x"}}}, 400),
        ({"user_id": "u", "url": "https://evil.com/?reddit.com", "data": {"feed_info": {"response": "x"}}}, 400),
        ({"user_id": "u", "url": REDDIT_URL, "data": {}}, 400),
        ({"user_id": "u", "url": REDDIT_URL, "data": "{not json"}, 400),
        ({"user_id": "u", "url": REDDIT_URL, "data": ""}, 400),
        ({"user_id": "u", "url": REDDIT_URL, "data": 5}, 422),
        ({"user_id": "u", "url": REDDIT_URL, "data": {"feed_info": {"response": 5}}}, 422),
        ({"user_id": "u", "url": X_URL, "data": {"feed_info": {"response": "<html>not json"}}}, 400),
        ({"user_id": "u", "data": {"feed_info": {"response": "x"}}}, 422),
    ],
)
def test_bad_requests_get_clear_errors(api: TestClient, payload: dict[str, Any], status: int) -> None:
    r = api.post("/get_feed", json=payload)
    assert r.status_code == status, r.text
    assert r.json()["status"] == "error" and r.json()["message"]


HOSTILE_TITLE = '<shreddit-post id="t3_x"><a slot="title">spiders &lt;img src=x onerror=alert(1)&gt;</a>'


def test_nesting_bomb_is_refused_at_once(api: TestClient) -> None:
    """Nesting far beyond any real page is not a Reddit feed: a clear 400 (docs: unparsable body), fast."""
    uid = user()
    add_filter(api, uid, "spiders", 1, "text")
    hostile = HOSTILE_TITLE + '<a slot="text-body"><div class="md"><p>' + "<b>" * 5000 + "spiders</p></div></a>"
    started = time.monotonic()
    r = get_feed(api, uid, REDDIT_URL, hostile)
    assert time.monotonic() - started < 10
    assert r.status_code == 400, r.text
    assert r.json()["status"] == "error" and "nesting" in r.json()["message"]


def test_escaped_markup_in_a_post_stays_escaped(api: TestClient) -> None:
    uid = user()
    add_filter(api, uid, "spiders", 1, "text")
    post = HOSTILE_TITLE + '<a slot="text-body"><div class="md"><p>' + "<b>" * 50 + "spiders</p></div></a>"
    r = get_feed(api, uid, REDDIT_URL, post)
    assert r.status_code == 200, r.text
    out = r.json()["feed"]["response"]
    assert "__BLUR_START__spiders__BLUR_END__" in out
    assert "<img src=x" not in out
