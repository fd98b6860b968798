"""POST /get_feed with Mastodon and Bluesky pages (in process, real Redis, local provider)."""

from __future__ import annotations

import json

import pytest
from starlette.testclient import TestClient

from gateway.feeds import markers as m
from gateway.feeds import parse_feed
from gateway.viewer.fedisamples import bluesky_timeline, mastodon_timeline
from gateway.viewer.samples import REQUEST_URLS

from .test_get_feed import add_filter, get_feed, user

PAGES = {"mastodon": mastodon_timeline, "bluesky": bluesky_timeline}


@pytest.mark.parametrize("platform", PAGES)
def test_page_is_moderated_in_its_own_format(api: TestClient, platform: str) -> None:
    uid = user()
    add_filter(api, uid, "war", 1, "text")  # blur
    add_filter(api, uid, "spiders", 3, "text")  # overlay
    page = PAGES[platform](25, seed=2)
    r = get_feed(api, uid, REQUEST_URLS[platform], page.body)
    assert r.status_code == 200, r.text
    report = r.json()["moderation"]
    assert report["platform"] == platform and report["posts"] == len(parse_feed(platform, page.body).posts)
    out = r.json()["feed"]["response"]
    json.loads(out)
    changed = {c["post_id"]: c["text_intervention"] for c in report["changed"]}
    assert "blur" in changed.values() and "overlay" in changed.values()
    assert m.BLUR_START in out
    if platform == "mastodon":
        statuses = json.loads(out)
        shown = [s["reblog"] or s for s in statuses]
        overlaid = [s for s in shown if changed.get(s["id"]) == "overlay"]
        assert overlaid and all(s["spoiler_text"].startswith("Content warning: spiders") for s in overlaid)
        assert "\\u003cp\\u003e" in out  # Rails' escaping kept
    again = get_feed(api, uid, REQUEST_URLS[platform], page.body).json()
    assert again["moderation"]["provider_calls"] == 0 and again["feed"]["response"] == out


@pytest.mark.parametrize("platform", PAGES)
def test_untouched_page_comes_back_byte_identical(api: TestClient, platform: str) -> None:
    uid = user()
    add_filter(api, uid, "volcanoes erupting", 1, "text")
    page = PAGES[platform](25, seed=4)
    r = get_feed(api, uid, REQUEST_URLS[platform], page.body)
    assert r.status_code == 200 and r.json()["feed"]["response"] == page.body


def test_mastodon_quoted_status_is_judged_and_edited(api: TestClient) -> None:
    uid = user()
    add_filter(api, uid, "war", 1, "text")  # blur
    quoted = {"id": "30", "content": "<p>The war in the news again</p>", "spoiler_text": "", "sensitive": False,
              "media_attachments": [], "reblog": None, "quote": {"state": "accepted", "quoted_status_id": "7"}}
    quoting = {"id": "31", "content": "<p>Lovely garden photos today</p>", "spoiler_text": "", "sensitive": False,
               "media_attachments": [], "reblog": None, "quote": {"state": "accepted", "quoted_status": quoted}}
    body = json.dumps([quoting], separators=(",", ":")).replace("<", "\\u003c").replace(">", "\\u003e")
    r = get_feed(api, uid, REQUEST_URLS["mastodon"], body)
    assert r.status_code == 200, r.text
    assert [c["post_id"] for c in r.json()["moderation"]["changed"]] == ["30"]
    [out] = json.loads(r.json()["feed"]["response"])
    assert out["content"] == quoting["content"]
    assert out["quote"]["quoted_status"]["content"] == f"<p>The {m.BLUR_START}war{m.BLUR_END} in the news again</p>"


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (REQUEST_URLS["mastodon"], '{"not": "an array"}'),
        (REQUEST_URLS["mastodon"], "<html>"),
        (REQUEST_URLS["bluesky"], "[]"),
        (REQUEST_URLS["bluesky"], '{"feed": 3}'),
        ("https://mastodon.social/api/v1/accounts/1/statuses", "[]"),
    ],
)
def test_unknown_shapes_are_400(api: TestClient, url: str, body: str) -> None:
    r = get_feed(api, user(), url, body)
    assert r.status_code == 400, r.text
    assert r.json()["status"] == "error"
