from __future__ import annotations

import copy
import html
import json
import time
from typing import Any

import orjson
import pytest

from gateway.feeds import Blur, FeedParseError, Overlay, PostEdit, Rewrite, parse_feed
from gateway.feeds import markers as m
from gateway.feeds.twitter import x_escape, x_unescape
from gateway.viewer.samplegen import x_sample_json, x_timeline

from .feeds_testutil import XSS, assert_inert

CONFIG = {"type": "edit_to_replace", "status": "DEFERRED", "filters": ["war and military violence"]}


def sample() -> str:
    return x_sample_json()


def entries(body: str) -> list[dict[str, Any]]:
    tree = json.loads(body)
    return next(
        i["entries"]
        for i in tree["data"]["home"]["home_timeline_urt"]["instructions"]
        if i.get("type") == "TimelineAddEntries"
    )


def legacy_of(body: str, tweet_id: str) -> dict[str, Any]:
    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if isinstance(node.get("legacy"), dict) and node["legacy"].get("id_str") == tweet_id:
                inner = node["legacy"].get("retweeted_status_result", {}).get("result")
                return inner["legacy"] if inner else node["legacy"]  # a retweet shows the original
            node = list(node.values())
        if isinstance(node, list):
            for child in node:
                found = walk(child)
                if found is not None:
                    return found
        return None

    found = walk(json.loads(body))
    assert found is not None
    return found


def timeline(*tweets: dict[str, Any], extra: list[dict[str, Any]] | None = None) -> str:
    items = [
        {
            "entryId": f"tweet-{t['rest_id']}",
            "sortIndex": "1",
            "content": {
                "entryType": "TimelineTimelineItem",
                "itemContent": {"itemType": "TimelineTweet", "tweet_results": {"result": t}},
            },
        }
        for t in tweets
    ]
    return orjson.dumps(
        {
            "data": {
                "home": {
                    "home_timeline_urt": {
                        "instructions": [{"type": "TimelineAddEntries", "entries": items + (extra or [])}]
                    }
                }
            }
        }
    ).decode()


def tweet(
    tid: str, text: str, entities: dict[str, Any] | None = None, display: list[int] | None = None
) -> dict[str, Any]:
    legacy: dict[str, Any] = {"id_str": tid, "full_text": x_escape(text), "entities": entities or {}}
    if display is not None:
        legacy["display_text_range"] = display
    return {"__typename": "Tweet", "rest_id": tid, "legacy": legacy}


def visible_segments(legacy: dict[str, Any]) -> list[str]:
    """X's rendering: decoded text in the display range, cut at the entities into text nodes."""
    text = x_unescape(legacy["full_text"])
    start, end = legacy.get("display_text_range", [0, len(text)])
    cuts = sorted(
        tuple(e["indices"])
        for lst in legacy.get("entities", {}).values()
        if isinstance(lst, list)
        for e in lst
        if start <= e["indices"][0] < end
    )
    segments, pos = [], start
    for a, b in cuts:
        segments.append(text[pos:a])
        pos = b
    segments.append(text[pos:end])
    return [s for s in segments if s]


# -- extraction ---------------------------------------------------------------------------------


def test_sample_posts() -> None:
    doc = parse_feed("x", sample())
    first, second = doc.posts
    assert first.id == "1817234567890123456" and first.title == ""
    assert first.body.startswith("Breaking: new sanctions announced")
    assert first.image_urls == ["https://pbs.twimg.com/media/GTaBcDeXgAA1xYz.jpg"]
    assert second.body == "Finally finished my sourdough starter after 10 days. It smells amazing!"
    assert second.image_urls == [] and second.image_alts == []


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_timeline(seed: int) -> None:
    gen = x_timeline(25, seed=seed)
    doc = parse_feed("x", gen.body)
    assert doc.posts == gen.expected
    kinds = set(gen.kinds.values())
    assert {"visibility", "module", "retweet", "plain"} <= kinds
    assert gen.ad_ids and not {p.id for p in doc.posts} & set(gen.ad_ids)
    assert doc.render() is gen.body


def test_promoted_by_entry_id_and_by_metadata() -> None:
    ad = tweet("9", "buy now")
    body = timeline(
        tweet("1", "organic"),
        extra=[
            {"entryId": "promoted-tweet-9-abc", "content": {"itemContent": {"tweet_results": {"result": ad}}}},
            {
                "entryId": "tweet-9",
                "content": {"itemContent": {"promotedMetadata": {"x": 1}, "tweet_results": {"result": ad}}},
            },
        ],
    )
    assert [p.id for p in parse_feed("x", body).posts] == ["1"]


def test_html_entities_decoded_for_judging() -> None:
    body = timeline(tweet("1", "Q&A: a < b > c"))
    assert '"Q&amp;A: a &lt; b &gt; c"' in body
    assert parse_feed("x", body).posts[0].body == "Q&A: a < b > c"


# -- identity and serialisation -----------------------------------------------------------------


def test_identity_without_edits() -> None:
    doc = parse_feed("x", sample())
    assert doc.render() is sample() or doc.render() == sample()
    assert doc.render({"nope": PostEdit.overlay("x")}) == sample()
    assert doc.render({doc.posts[0].id: PostEdit(title=Rewrite("x"))}) == sample()  # X has no title


def test_serialisation_is_compact_and_keeps_order_and_non_ascii() -> None:
    body = timeline(tweet("1", "Café ☕ war \u2028 done"))
    doc = parse_feed("x", body)
    out = doc.render({"1": PostEdit(body=Blur(["war"]))})
    assert ": " not in out and ", " not in out.replace("Café ☕", "")
    assert "Café ☕" in out and "\u2028" in out
    assert list(json.loads(out)["data"]["home"]) == ["home_timeline_urt"]
    # Only full_text and indices change: the rest equals the input re-serialised.
    expected = json.loads(body)
    leg = expected["data"]["home"]["home_timeline_urt"]["instructions"][0]["entries"][0]["content"]
    leg = leg["itemContent"]["tweet_results"]["result"]["legacy"]
    leg["full_text"] = "Café ☕ __BLUR_START__war__BLUR_END__ \u2028 done"
    assert out == orjson.dumps(expected).decode()


# -- text edits, entities -----------------------------------------------------------------------


def test_blur_shifts_entities_and_display_range() -> None:
    gen = x_timeline(25)
    doc = parse_feed("x", gen.body)
    edits = {p.id: PostEdit(body=Blur(["the", "on", "a"])) for p in doc.posts}
    out = doc.render(edits)
    for post in doc.posts:
        before, after = legacy_of(gen.body, post.id), legacy_of(out, post.id)
        old_text, new_text = x_unescape(before["full_text"]), x_unescape(after["full_text"])
        start, end = after["display_text_range"]
        visible = new_text[start:end]
        # Stretches holding a marker are escaped once more for the extension's innerHTML.
        assert html.unescape(m.strip_markers(visible)).strip() == post.body
        assert new_text[end:] == old_text[before["display_text_range"][1] :]  # hidden media link kept
        for key, items in after["entities"].items():
            for ent in items:
                a, b = ent["indices"]
                old = next(
                    e
                    for e in before["entities"][key]
                    if e.get("id_str", e.get("text", e.get("url")))
                    == ent.get("id_str", ent.get("text", ent.get("url")))
                )
                assert new_text[a:b] == old_text[old["indices"][0] : old["indices"][1]]
        for media in after.get("extended_entities", {}).get("media", []):
            a, b = media["indices"]
            assert new_text[a:b] == media["url"]


def test_blur_inside_entity_drops_that_entity_only() -> None:
    text = "@ann the #war is here https://t.co/x"
    ents = {
        "user_mentions": [{"screen_name": "ann", "indices": [0, 4]}],
        "hashtags": [{"text": "war", "indices": [9, 13]}],
        "urls": [{"url": "https://t.co/x", "indices": [22, 36]}],
    }
    doc = parse_feed("x", timeline(tweet("1", text, ents, [0, 36])))
    out = doc.render({"1": PostEdit(body=Blur(["war"]))})
    leg = legacy_of(out, "1")
    assert leg["full_text"] == "@ann the #__BLUR_START__war__BLUR_END__ is here https://t.co/x"
    assert leg["entities"]["hashtags"] == []
    assert leg["entities"]["user_mentions"][0]["indices"] == [0, 4]
    assert leg["entities"]["urls"][0]["indices"] == [22 + 26, 36 + 26]
    assert leg["display_text_range"] == [0, 36 + 26]
    for seg in visible_segments(leg):
        if m.contains_token(seg):
            assert m.BLUR_RE.search(seg)  # the pair sits in one text node


@pytest.mark.parametrize("edit", [Overlay("Heads up"), Rewrite("calmer words"), Overlay("w", rewrite="calm")])
def test_whole_text_edits_keep_reply_prefix_and_media(edit: Overlay | Rewrite) -> None:
    text = "@ann @bob the war #news https://t.co/u https://t.co/pic"
    media = {
        "type": "photo",
        "url": "https://t.co/pic",
        "indices": [39, 55],
        "media_url_https": "https://pbs.twimg.com/media/a.jpg",
    }
    ents = {
        "user_mentions": [{"screen_name": "ann", "indices": [0, 4]}, {"screen_name": "bob", "indices": [5, 9]}],
        "hashtags": [{"text": "news", "indices": [18, 23]}],
        "urls": [{"url": "https://t.co/u", "indices": [24, 38]}],
        "media": [media],
    }
    t = tweet("1", text, ents, [10, 38])
    t["legacy"]["extended_entities"] = {"media": [copy.deepcopy(media)]}
    doc = parse_feed("x", timeline(t))
    assert doc.posts[0].body == "the war #news https://t.co/u"
    leg = legacy_of(doc.render({"1": PostEdit(body=edit)}), "1")
    new = x_unescape(leg["full_text"])
    start, end = leg["display_text_range"]
    assert new[:start] == "@ann @bob " and start == 10
    marker = new[start:end]
    if isinstance(edit, Rewrite):
        assert marker == "__REWRITE_START__calmer words__REWRITE_END__"
    else:
        match = m.OVERLAY_RE.fullmatch(marker)
        assert match is not None and match[1] in ("Heads up", "w")
    assert [e["screen_name"] for e in leg["entities"]["user_mentions"]] == ["ann", "bob"]
    assert leg["entities"]["hashtags"] == [] and leg["entities"]["urls"] == []
    for holder in (leg["entities"]["media"], leg["extended_entities"]["media"]):
        a, b = holder[0]["indices"]
        assert new[a:b] == "https://t.co/pic" and a == end + 1
    assert visible_segments(leg) == [marker]


@pytest.mark.parametrize("edit", [Blur([XSS]), Blur(["look"]), Overlay("w"), Rewrite(XSS), Overlay("w", rewrite=XSS)])
def test_xss_tweet_stays_text(edit: Blur | Overlay | Rewrite) -> None:
    doc = parse_feed("x", timeline(tweet("1", XSS + " look at this")))
    assert doc.posts[0].body == XSS + " look at this"
    out = doc.render({"1": PostEdit(body=edit)})
    leg = legacy_of(out, "1")
    assert "<" not in leg["full_text"]  # X's own escaping, on top of ours
    (segment,) = [s for s in visible_segments(leg) if m.contains_token(s)]
    assert_inert(segment, XSS)


def test_authored_markers_are_defanged_everywhere() -> None:
    t = tweet("1", "__BLUR_START__<img src=x onerror=alert(1)>__BLUR_END__ hi")
    t["core"] = {"user_results": {"result": {"legacy": {"name": "__OVERLAY_START__x|y__OVERLAY_END__"}}}}
    body = timeline(t)
    out = parse_feed("x", body).render()
    assert out != body
    assert not m.contains_token(out)
    leg = legacy_of(out, "1")
    assert len(x_unescape(leg["full_text"])) == len(x_unescape(legacy_of(body, "1")["full_text"]))


# -- images -------------------------------------------------------------------------------------


def test_image_config_on_both_media_lists() -> None:
    doc = parse_feed("x", sample())
    url = doc.posts[0].image_urls[0]
    out = doc.render({doc.posts[0].id: PostEdit(images={url: CONFIG})})
    leg = legacy_of(out, doc.posts[0].id)
    for holder in (leg["entities"]["media"], leg["extended_entities"]["media"]):
        assert json.loads(holder[0]["diy_mod_config"]) == CONFIG
        assert holder[0]["media_url_https"] == url
    done = {"type": "cartoonish", "status": "COMPLETED", "processedUrl": "https://cdn.example/p.png"}
    leg = legacy_of(doc.render({doc.posts[0].id: PostEdit(images={url: done})}), doc.posts[0].id)
    assert leg["extended_entities"]["media"][0]["media_url_https"] == "https://cdn.example/p.png"
    bad = {"status": "COMPLETED", "processedUrl": "javascript:alert(1)"}
    leg = legacy_of(doc.render({doc.posts[0].id: PostEdit(images={url: bad})}), doc.posts[0].id)
    assert leg["extended_entities"]["media"][0]["media_url_https"] == url


def test_visibility_wrapper_and_module_and_retweet_are_edited_in_place() -> None:
    gen = x_timeline(25)
    doc = parse_feed("x", gen.body)
    chosen = {
        kind: next(p for p in doc.posts if gen.kinds[p.id] == kind) for kind in ("visibility", "module", "retweet")
    }
    out = doc.render(
        {
            p.id: PostEdit(body=Rewrite(f"new {kind}"), images={u: CONFIG for u in p.image_urls})
            for kind, p in chosen.items()
        }
    )
    again = {p.id: p for p in parse_feed("x", out).posts}
    for kind, post in chosen.items():
        assert again[post.id].body == f"__REWRITE_START__new {kind}__REWRITE_END__"
    assert [p.id for p in parse_feed("x", out).posts] == [p.id for p in doc.posts]
    assert out.count("diy_mod_config") == 2 * sum(len(p.image_urls) for p in chosen.values())


# -- malformed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    ["", "<html>", "{", "[1,2]", '"str"', "null", "{'a': 1}", '{"a":"\\ud800"}', "[" * 5000 + "]" * 5000, "\ud800"],
)
def test_not_json_object(body: str) -> None:
    with pytest.raises(FeedParseError):
        parse_feed("x", body)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"data": None},
        {"data": {"home": {"home_timeline_urt": {"instructions": "x"}}}},
        {
            "data": {
                "home": {
                    "home_timeline_urt": {
                        "instructions": [
                            1,
                            None,
                            {"type": "TimelineAddEntries"},
                            {"type": "TimelineAddEntries", "entries": [1, {}]},
                        ]
                    }
                }
            }
        },
    ],
)
def test_unknown_shapes_yield_no_posts(data: dict[str, Any]) -> None:
    body = json.dumps(data)
    doc = parse_feed("x", body)
    assert doc.posts == [] and doc.render() == body


def test_odd_values_inside_tweets_never_raise() -> None:
    odd = [
        tweet("1", "text", {"hashtags": [{"indices": "bad"}, {"indices": [5, 1]}, {"indices": [0, 999]}, 3]}, [0, 999]),
        tweet("2", "text", None, [3, 1]),
        {"__typename": "Tweet", "rest_id": "3", "legacy": {"full_text": 5, "extended_entities": {"media": "x"}}},
        {"__typename": "TweetWithVisibilityResults", "tweet": None},
        {"__typename": "TweetTombstone"},
        {"__typename": "Tweet", "legacy": {"retweeted_status_result": {"result": "x"}, "full_text": "rt"}},
    ]
    odd[0]["rest_id"] = odd[0]["legacy"].pop("id_str")
    body = timeline(
        *[t for t in odd if "rest_id" in t],
        extra=[{"entryId": "x", "content": {"itemContent": {"tweet_results": {"result": t}}}} for t in odd[3:]],
    )
    doc = parse_feed("x", body)
    for edit in (Blur(["te"]), Overlay("w"), Rewrite("r")):
        out = doc.render({p.id: PostEdit(body=edit, images={"u": CONFIG}) for p in doc.posts})
        json.loads(out)
    assert {p.id for p in doc.posts} >= {"1", "2", "3"}


@pytest.mark.timeout(60)
def test_large_timeline_is_fast() -> None:
    gen = x_timeline(400)
    start = time.perf_counter()
    doc = parse_feed("x", gen.body)
    doc.render({p.id: PostEdit.blur(["the"]) for p in doc.posts})
    assert time.perf_counter() - start < 5
