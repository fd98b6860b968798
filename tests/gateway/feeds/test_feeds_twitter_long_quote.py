"""X long posts (``note_tweet``) and quoted posts: judged, edited, every index range kept consistent."""

from __future__ import annotations

import json
from typing import Any

from gateway.feeds import Blur, Overlay, PostEdit, Rewrite, parse_feed
from gateway.feeds import markers as m
from gateway.feeds.twitter import x_escape, x_unescape

from .test_feeds_twitter import timeline, tweet

LONG = "Long read 🧵 about the war in the north, by @reporter. " + "Details follow. " * 20 + "#news https://t.co/x"


def entity(haystack: str, needle: str, **extra: Any) -> dict[str, Any]:
    a = haystack.index(needle)
    return {"indices": [a, a + len(needle)], **extra}


def long_tweet(tid: str, text: str = LONG) -> dict[str, Any]:
    truncated = text[:60] + "… https://t.co/more"
    t = tweet(tid, truncated, {"urls": [entity(truncated, "https://t.co/more", url="https://t.co/more")]})
    t["note_tweet"] = {
        "is_expandable": True,
        "note_tweet_results": {
            "result": {
                "id": "Tm90ZTE=",
                "text": x_escape(text),
                "entity_set": {
                    "user_mentions": [entity(text, "@reporter", screen_name="reporter")],
                    "hashtags": [entity(text, "#news", text="news")],
                    "urls": [entity(text, "https://t.co/x", url="https://t.co/x")],
                },
                "richtext": {"richtext_tags": [{"from_index": 0, "to_index": 9, "richtext_types": ["Bold"]}]},
            }
        },
    }
    return t


def note_of(body: str, tid: str) -> dict[str, Any]:
    for entry in json.loads(body)["data"]["home"]["home_timeline_urt"]["instructions"][0]["entries"]:
        result = entry["content"]["itemContent"]["tweet_results"]["result"]
        if result["rest_id"] == tid:
            return result["note_tweet"]["note_tweet_results"]["result"]
    raise AssertionError(tid)


def ranges_still_point_at_their_text(note: dict[str, Any], originals: dict[str, str]) -> None:
    text = x_unescape(note["text"])
    for kind, items in note["entity_set"].items():
        for item in items:
            a, b = item["indices"]
            assert text[a:b] == originals[kind], (kind, text[a:b])


def test_long_post_is_judged_on_its_full_text() -> None:
    doc = parse_feed("x", timeline(long_tweet("1")))
    [post] = doc.posts
    assert post.body == LONG.strip()
    assert "Details follow. Details follow." in post.body  # not the truncated copy


def test_blur_in_long_post_moves_entities_and_richtext() -> None:
    doc = parse_feed("x", timeline(long_tweet("1")))
    out = doc.render({"1": PostEdit(body=Blur(["war"]))})
    note = note_of(out, "1")
    text = x_unescape(note["text"])
    assert m.BLUR_START + "war" + m.BLUR_END in text
    ranges_still_point_at_their_text(
        note, {"user_mentions": "@reporter", "hashtags": "#news", "urls": "https://t.co/x"}
    )
    tag = note["richtext"]["richtext_tags"][0]
    assert text[tag["from_index"] : tag["to_index"]] == "Long read"  # before the edit: unmoved
    # The truncated copy carries the blur too (its own range kept consistent).
    legacy = json.loads(out)["data"]["home"]["home_timeline_urt"]["instructions"][0]["entries"][0]
    legacy = legacy["content"]["itemContent"]["tweet_results"]["result"]["legacy"]
    full = x_unescape(legacy["full_text"])
    [url] = legacy["entities"]["urls"]
    assert full[url["indices"][0] : url["indices"][1]] == "https://t.co/more"
    assert m.BLUR_START + "war" + m.BLUR_END in full


def test_blur_over_a_mention_drops_only_that_entity() -> None:
    doc = parse_feed("x", timeline(long_tweet("1")))
    out = doc.render({"1": PostEdit(body=Blur(["reporter"]))})
    note = note_of(out, "1")
    assert note["entity_set"]["user_mentions"] == []
    ranges_still_point_at_their_text(note, {"hashtags": "#news", "urls": "https://t.co/x"})


def test_overlay_of_long_post_replaces_whole_note() -> None:
    doc = parse_feed("x", timeline(long_tweet("1")))
    out = doc.render({"1": PostEdit(body=Overlay("Violence"))})
    note = note_of(out, "1")
    text = x_unescape(note["text"])
    assert text.startswith(m.OVERLAY_START) and "Violence" in text
    assert all(not items for items in note["entity_set"].values())
    assert note["richtext"]["richtext_tags"] == []
    assert parse_feed("x", out).posts[0].body == text.strip()


def test_quoted_post_is_its_own_post_and_edited_in_place() -> None:
    quoted = tweet("9", "The quoted take on war & peace")
    outer = tweet("1", "Look at this")
    outer["quoted_status_result"] = {"result": quoted}
    body = timeline(outer)
    doc = parse_feed("x", body)
    assert [(p.id, p.body) for p in doc.posts] == [("1", "Look at this"), ("9", "The quoted take on war & peace")]
    out = doc.render({"9": PostEdit(body=Rewrite("A calmer take"))})
    tree = json.loads(out)
    result = tree["data"]["home"]["home_timeline_urt"]["instructions"][0]["entries"][0]
    result = result["content"]["itemContent"]["tweet_results"]["result"]
    assert result["legacy"]["full_text"] == "Look at this"
    assert x_unescape(result["quoted_status_result"]["result"]["legacy"]["full_text"]) == m.rewrite("A calmer take")
    assert doc.render({"1": PostEdit(body=Blur(["nothing here"]))}) == body


def test_quoted_long_post_inside_visibility_wrapper() -> None:
    quoted = {"__typename": "TweetWithVisibilityResults", "tweet": long_tweet("9")}
    outer = tweet("1", "Read this")
    outer["quoted_status_result"] = {"result": quoted}
    doc = parse_feed("x", timeline(outer))
    assert doc.posts[1].id == "9" and doc.posts[1].body == LONG.strip()
    out = doc.render({"9": PostEdit(body=Blur(["north"]))})
    tree = json.loads(out)
    q = tree["data"]["home"]["home_timeline_urt"]["instructions"][0]["entries"][0]
    q = q["content"]["itemContent"]["tweet_results"]["result"]["quoted_status_result"]["result"]["tweet"]
    note = q["note_tweet"]["note_tweet_results"]["result"]
    assert m.BLUR_START + "north" + m.BLUR_END in x_unescape(note["text"])
    ranges_still_point_at_their_text(
        note, {"user_mentions": "@reporter", "hashtags": "#news", "urls": "https://t.co/x"}
    )


def test_same_tweet_quoted_and_in_timeline_is_one_post_edited_everywhere() -> None:
    outer = tweet("1", "Quoting")
    outer["quoted_status_result"] = {"result": tweet("9", "war talk")}
    doc = parse_feed("x", timeline(outer, tweet("9", "war talk")))
    assert [p.id for p in doc.posts] == ["1", "9"]
    out = doc.render({"9": PostEdit(body=Blur(["war"]))})
    assert out.count(m.BLUR_START) == 2


def test_odd_note_and_quote_shapes_never_raise() -> None:
    for odd in (
        {"note_tweet": {"note_tweet_results": {"result": {"text": 5}}}},
        {
            "note_tweet": {
                "note_tweet_results": {
                    "result": {
                        "text": "war",
                        "entity_set": {"urls": [{"indices": [9, 1]}]},
                        "richtext": {"richtext_tags": [{"from_index": "a"}, 3]},
                    }
                }
            }
        },
        {"quoted_status_result": {"result": {"__typename": "TweetTombstone"}}},
        {"quoted_status_result": []},
    ):
        t = {**tweet("1", "war"), **odd}
        doc = parse_feed("x", timeline(t))
        doc.render({p.id: PostEdit(body=Blur(["war"])) for p in doc.posts})
        doc.render({p.id: PostEdit(body=Overlay("w")) for p in doc.posts})
