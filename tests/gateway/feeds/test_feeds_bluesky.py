"""Bluesky feeds: facets (UTF-8 byte ranges) kept right after edits, images in every embed shape,
quotes and reply parents judged, native graphic-media self-labels, untouched bytes kept."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.feeds import FeedParseError, Overlay, PostEdit, Rewrite, parse_feed, platform_for_url
from gateway.feeds import markers as m
from gateway.feeds.bluesky import WARN_LABEL
from gateway.feeds.model import Blur

DID = "did:plc:alice"
TEXT = "Café ☕ talk about war 🎉 with @alice.bsky.social, see https://example.com/é #news 👩‍👩‍👧"


def facet(text: str, needle: str, feature: dict[str, Any]) -> dict[str, Any]:
    start = len(text[: text.index(needle)].encode())
    return {"index": {"byteStart": start, "byteEnd": start + len(needle.encode())}, "features": [feature]}


def facets_for(text: str) -> list[dict[str, Any]]:
    known = [
        ("@alice.bsky.social", {"$type": "app.bsky.richtext.facet#mention", "did": DID}),
        ("https://example.com/é", {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/é"}),
        ("#news", {"$type": "app.bsky.richtext.facet#tag", "tag": "news"}),
    ]
    return [facet(text, needle, feature) for needle, feature in known if needle in text]


def post_view(n: str, text: str = TEXT, embed: dict[str, Any] | None = None, **record: Any) -> dict[str, Any]:
    view: dict[str, Any] = {
        "uri": f"at://{DID}/app.bsky.feed.post/{n}",
        "cid": f"cid{n}",
        "author": {"did": DID, "handle": "alice.bsky.social", "displayName": "Alice 🌻"},
        "record": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "facets": facets_for(text),
            "createdAt": "2026-12-01T10:00:00.000Z",
            **record,
        },
        "replyCount": 0,
        "indexedAt": "2026-12-01T10:00:01.000Z",
        "labels": [],
    }
    if embed is not None:
        view["embed"] = embed
    return view


def images_view(*names: str) -> dict[str, Any]:
    return {
        "$type": "app.bsky.embed.images#view",
        "images": [
            {
                "thumb": f"https://cdn.bsky.app/img/feed_thumbnail/{n}",
                "fullsize": f"https://cdn.bsky.app/img/feed_fullsize/{n}",
                "alt": f"alt {n}",
                "aspectRatio": {"width": 4, "height": 3},
            }
            for n in names
        ],
    }


def feed(*items: dict[str, Any]) -> str:
    return json.dumps(
        {"feed": list(items), "cursor": "2026-12-01T10:00:00.000Z"}, ensure_ascii=False, separators=(",", ":")
    )


def uri(n: str) -> str:
    return f"at://{DID}/app.bsky.feed.post/{n}"


def facet_texts(record: dict[str, Any]) -> list[str]:
    raw = record["text"].encode()
    return [raw[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in record["facets"]]


@pytest.mark.parametrize(
    "url",
    [
        "https://bsky.social/xrpc/app.bsky.feed.getTimeline?limit=30",
        "https://api.bsky.app/xrpc/app.bsky.feed.getFeed?feed=at://x",
        "https://appview.example/xrpc/app.bsky.feed.getAuthorFeed?actor=alice",
    ],
)
def test_platform_from_xrpc_method_on_any_host(url: str) -> None:
    assert platform_for_url(url) == "bluesky"
    assert platform_for_url(url.replace("app.bsky.feed.get", "app.bsky.actor.get")) is None


def test_blur_moves_every_facet_by_utf8_bytes() -> None:
    doc = parse_feed("bluesky", feed({"post": post_view("1")}))
    assert doc.posts[0].body == TEXT
    out = json.loads(doc.render({uri("1"): PostEdit(body=Blur(["Café", "war"]))}))
    record = out["feed"][0]["post"]["record"]
    assert f"{m.BLUR_START}Café{m.BLUR_END}" in record["text"] and f"{m.BLUR_START}war{m.BLUR_END}" in record["text"]
    assert facet_texts(record) == ["@alice.bsky.social", "https://example.com/é", "#news"]
    assert record["facets"][0]["features"] == [{"$type": "app.bsky.richtext.facet#mention", "did": DID}]


def test_blur_over_a_facet_drops_that_facet_and_moves_the_rest() -> None:
    doc = parse_feed("bluesky", feed({"post": post_view("1")}))
    out = json.loads(doc.render({uri("1"): PostEdit(body=Blur(["alice"]))}))
    record = out["feed"][0]["post"]["record"]
    assert facet_texts(record) == ["https://example.com/é", "#news"]
    assert f"@{m.BLUR_START}alice{m.BLUR_END}.bsky.social" in record["text"]


def test_blur_after_all_facets_and_escaping() -> None:
    text = "@alice.bsky.social says war & <b>peace</b> 👩‍👩‍👧 war"
    view = post_view("1", text)
    out = json.loads(parse_feed("bluesky", feed({"post": view})).render({uri("1"): PostEdit(body=Blur(["war"]))}))
    record = out["feed"][0]["post"]["record"]
    assert facet_texts(record) == ["@alice.bsky.social"]
    assert record["text"] == (
        f"@alice.bsky.social says {m.BLUR_START}war{m.BLUR_END} &amp; &lt;b&gt;peace&lt;/b&gt;"
        f" 👩‍👩‍👧 {m.BLUR_START}war{m.BLUR_END}"
    )


def test_facet_inside_a_character_is_dropped_on_edit() -> None:
    view = post_view("1", "☕ war @bob")
    view["record"]["facets"] = [
        {"index": {"byteStart": 1, "byteEnd": 3}, "features": []},
        facet("☕ war @bob", "@bob", {"$type": "app.bsky.richtext.facet#mention", "did": "d"}),
    ]
    out = json.loads(parse_feed("bluesky", feed({"post": view})).render({uri("1"): PostEdit(body=Blur(["war"]))}))
    assert facet_texts(out["feed"][0]["post"]["record"]) == ["@bob"]


def test_overlay_adds_graphic_media_self_label_when_images() -> None:
    body = feed({"post": post_view("1", embed=images_view("a"))}, {"post": post_view("2")})
    out = json.loads(
        parse_feed("bluesky", body).render(
            {uri("1"): PostEdit(body=Overlay("Violence")), uri("2"): PostEdit(body=Overlay("Violence"))}
        )
    )
    one, two = out["feed"][0]["post"], out["feed"][1]["post"]
    assert one["labels"] == [
        {"src": DID, "uri": uri("1"), "val": WARN_LABEL, "cid": "cid1", "cts": "2026-12-01T10:00:01.000Z"}
    ]
    assert one["record"]["text"].startswith(f"{m.OVERLAY_START}Violence|") and one["record"]["facets"] == []
    assert two["labels"] == []  # no media: the marker alone


def test_images_in_record_with_media_and_quote_is_its_own_post() -> None:
    quoted = {
        "$type": "app.bsky.embed.record#viewRecord",
        "uri": uri("9"),
        "cid": "cid9",
        "author": {"did": DID, "handle": "alice.bsky.social"},
        "value": {"text": "quoted war", "facets": []},
        "embeds": [images_view("q")],
        "indexedAt": "2026-12-01T09:00:00.000Z",
    }
    embed = {
        "$type": "app.bsky.embed.recordWithMedia#view",
        "media": images_view("a", "b"),
        "record": {"$type": "app.bsky.embed.record#view", "record": quoted},
    }
    body = feed({"post": post_view("1", "look", embed=embed)})
    doc = parse_feed("bluesky", body)
    posts = {p.id: p for p in doc.posts}
    assert posts[uri("1")].image_urls == [f"https://cdn.bsky.app/img/feed_fullsize/{n}" for n in "ab"]
    assert posts[uri("9")].body == "quoted war"
    assert posts[uri("9")].image_urls == ["https://cdn.bsky.app/img/feed_fullsize/q"]
    done = {"type": "edit_to_replace", "status": "COMPLETED", "processedUrl": "https://cdn.example/done.png"}
    out = json.loads(
        doc.render(
            {
                uri("1"): PostEdit(images={"https://cdn.bsky.app/img/feed_fullsize/b": done}),
                uri("9"): PostEdit(
                    body=Rewrite("calm"), images={"https://cdn.bsky.app/img/feed_fullsize/q": {"status": "DEFERRED"}}
                ),
            }
        )
    )
    e = out["feed"][0]["post"]["embed"]
    assert e["media"]["images"][1]["fullsize"] == e["media"]["images"][1]["thumb"] == "https://cdn.example/done.png"
    assert "diy_mod_config" not in e["media"]["images"][0]
    assert out["feed"][0]["post"]["labels"] == []  # completed: nothing to veil
    q = e["record"]["record"]
    assert q["value"]["text"] == m.rewrite("calm")
    assert json.loads(q["embeds"][0]["images"][0]["diy_mod_config"]) == {"status": "DEFERRED"}
    assert q["labels"][0]["val"] == WARN_LABEL  # key added: the viewRecord had no labels


def test_repost_and_reply_parent() -> None:
    item = {
        "post": post_view("1", "war again"),
        "reason": {"$type": "app.bsky.feed.defs#reasonRepost", "by": {"did": "did:plc:bob"}, "indexedAt": "x"},
        "reply": {
            "root": post_view("7", "root war"),
            "parent": {"$type": "app.bsky.feed.defs#notFoundPost", "uri": uri("8"), "notFound": True},
        },
    }
    doc = parse_feed("bluesky", feed(item, {"post": post_view("1", "war again")}))
    assert [p.id for p in doc.posts] == [uri("7"), uri("1")]
    out = doc.render({uri("1"): PostEdit(body=Blur(["war"]))})
    assert out.count(m.BLUR_START) == 2


def test_untouched_identical_and_other_posts_keep_bytes() -> None:
    body = feed({"post": post_view("1")}, {"post": post_view("2", "war")})
    doc = parse_feed("bluesky", body)
    assert doc.render({}) is body
    out = doc.render({uri("2"): PostEdit(body=Blur(["war"]))})
    first = json.dumps({"post": post_view("1")}, ensure_ascii=False, separators=(",", ":"))
    assert out.startswith('{"feed":[' + first + ",")
    assert out.endswith(',"cursor":"2026-12-01T10:00:00.000Z"}')


@pytest.mark.parametrize("body", ["", "[]", "{}", '{"feed":{}}', "null", "<html>", '{"feed":['])
def test_not_a_feed(body: str) -> None:
    with pytest.raises(FeedParseError):
        parse_feed("bluesky", body)


def test_odd_shapes_never_raise() -> None:
    odd = {
        "feed": [
            1,
            None,
            {},
            {"post": None},
            {"post": {"record": {"text": 5, "facets": "x"}}},
            {
                "post": {
                    "uri": "u",
                    "record": {
                        "text": "war",
                        "facets": [
                            None,
                            {"index": {"byteStart": -1}},
                            {"index": {"byteStart": 2, "byteEnd": 99}},
                            {"index": {"byteStart": 3, "byteEnd": 1}},
                        ],
                    },
                    "embed": {"$type": "app.bsky.embed.images#view", "images": [None, {"fullsize": 3}]},
                    "labels": "none",
                    "author": None,
                }
            },
            {
                "post": {
                    "uri": "v",
                    "record": {"text": "war"},
                    "embed": {
                        "$type": "app.bsky.embed.record#view",
                        "record": {"$type": "app.bsky.embed.record#viewRecord", "value": {"text": None}},
                    },
                }
            },
        ]
    }
    doc = parse_feed("bluesky", json.dumps(odd))
    for edit in (PostEdit.blur(["war"]), PostEdit(body=Overlay("w")), PostEdit(body=Rewrite("r"))):
        json.loads(doc.render({p.id: edit for p in doc.posts}))
