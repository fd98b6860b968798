"""The viewer's HTTP side without a browser: page headers, sample feeds and images, config, status
parsing. These run everywhere (no Chromium needed)."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image

from gateway.feeds import parse_feed
from gateway.viewer.pages import content_security_policy, sample_fetch_status
from gateway.viewer.samples import localise_images
from gateway.viewer.status import RateMemory, parse_notifier_metrics
from shared.config import load_settings
from tests.harness import Proc

PUBLIC_MEDIA = re.compile(r"https://(preview\.redd\.it|i\.redd\.it|pbs\.twimg\.com)/")


def test_page_is_served_with_a_strict_policy(gateway: Proc) -> None:
    r = httpx.get(gateway.url + "/viewer", timeout=5)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    policy = r.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy.split("style-src-attr")[0]
    assert "connect-src 'self' ws://127.0.0.1:8010" in policy  # PUBLIC_NOTIFIER_URL's default
    assert r.headers["x-content-type-options"] == "nosniff"
    assert '<script type="module" src="/viewer/static/viewer.js">' in r.text
    client = httpx.get(gateway.url + "/viewer/static/diymod-client.js", timeout=5)
    assert client.status_code == 200 and "javascript" in client.headers["content-type"]
    assert "waitForImage(imageUrl, filters" in client.text  # the API is documented in its header
    assert httpx.get(gateway.url + "/viewer/static/../app.py", timeout=5).status_code == 404


@pytest.mark.parametrize("platform", ["reddit", "x"])
def test_samples_point_their_images_at_the_gateway(gateway: Proc, platform: str) -> None:
    r = httpx.get(gateway.url + f"/viewer/samples/{platform}", params={"seed": 3}, timeout=10)
    assert r.status_code == 200, r.text
    sample = r.json()
    assert sample["platform"] == platform and sample["seed"] == 3 and sample["posts"] == 25
    assert not PUBLIC_MEDIA.search(sample["body"])
    doc = parse_feed("reddit" if platform == "reddit" else "x", sample["body"])
    assert len(doc.posts) == 25
    images = [u for p in doc.posts for u in p.image_urls]
    assert images and all(u.startswith(gateway.url + "/viewer/sample-image/s3-") for u in images)
    picture = httpx.get(images[0], timeout=10)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/jpeg"
    assert Image.open(io.BytesIO(picture.content)).size == (480, 320)


def test_bad_sample_requests_get_clear_errors(gateway: Proc) -> None:
    assert httpx.get(gateway.url + "/viewer/samples/facebook", timeout=5).status_code == 404
    r = httpx.get(gateway.url + "/viewer/samples/reddit", params={"seed": "abc"}, timeout=5)
    assert r.status_code == 422 and r.json()["status"] == "error"
    for name in ("x.png", "..%2Fapp.jpg", "a b.jpg", "x" * 81 + ".jpg"):
        assert httpx.get(gateway.url + f"/viewer/sample-image/{name}", timeout=5).status_code == 404, name


def test_config_says_whether_the_worker_may_fetch_the_samples(gateway: Proc) -> None:
    config = httpx.get(gateway.url + "/viewer/config", timeout=5).json()
    assert config["sample_images_fetchable"] is True  # the test processes allow 127.0.0.1
    assert config["public_notifier_url"] == "ws://127.0.0.1:8010"
    refused = sample_fetch_status(load_settings({}))
    assert refused["sample_images_fetchable"] is False
    assert "FETCH_ALLOW_PRIVATE_HOSTS=127.0.0.1" in refused["fetch_hint"]
    cidr = sample_fetch_status(load_settings({"FETCH_ALLOW_PRIVATE_HOSTS": "10.0.0.0/8, 127.0.0.0/8"}))
    assert cidr["sample_images_fetchable"] is True
    public = sample_fetch_status(load_settings({"PUBLIC_GATEWAY_URL": "https://diymod.example.org"}))
    assert public["sample_images_fetchable"] is True


def test_policy_follows_the_public_urls() -> None:
    policy = content_security_policy(load_settings({
        "PUBLIC_NOTIFIER_URL": "wss://push.example.org/", "PUBLIC_GATEWAY_URL": "https://api.example.org"}))
    assert "connect-src 'self' wss://push.example.org" in policy
    assert "img-src 'self' data: blob: https://api.example.org" in policy


def test_localise_images_rewrites_only_public_media_hosts() -> None:
    body = ('<img src="https://preview.redd.it/abc.jpeg?width=640&amp;s=1" srcset="https://i.redd.it/x.png 2x">'
            '{"u":"https://pbs.twimg.com/media/Gen1.jpg"} https://example.com/keep.jpg')
    out = localise_images(body, "http://127.0.0.1:8001/", 7)
    assert 'src="http://127.0.0.1:8001/viewer/sample-image/s7-abc.jpg"' in out
    assert "http://127.0.0.1:8001/viewer/sample-image/s7-x.jpg 2x" in out
    assert '"http://127.0.0.1:8001/viewer/sample-image/s7-media-Gen1.jpg"' in out
    assert "https://example.com/keep.jpg" in out


def test_notifier_metrics_and_rates() -> None:
    text = (
        "# HELP notifier_sockets Open client sockets\n# TYPE notifier_sockets gauge\nnotifier_sockets 3.0\n"
        "# HELP notifier_events_in_total Events\n# TYPE notifier_events_in_total counter\n"
        "notifier_events_in_total 10.0\nnotifier_events_in_created 1.7e9\n"
        "# HELP notifier_frames_out_total Frames\n# TYPE notifier_frames_out_total counter\n"
        "notifier_frames_out_total 20.0\n"
    )
    values = parse_notifier_metrics(text)
    assert values == {"sockets": 3.0, "events_in_total": 10.0, "frames_out_total": 20.0}
    memory = RateMemory()
    assert memory.rates(100.0, values) == {"events_in_per_second": None, "frames_out_per_second": None}
    later = {**values, "events_in_total": 30.0, "frames_out_total": 20.0}
    assert memory.rates(102.0, later) == {"events_in_per_second": 10.0, "frames_out_per_second": 0.0}
    restarted = {**values, "events_in_total": 1.0}  # a restarted notifier counts from zero
    assert memory.rates(104.0, restarted)["events_in_per_second"] == 0.0
