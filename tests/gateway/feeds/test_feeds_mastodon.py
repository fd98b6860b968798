"""Mastodon timelines: statuses judged (boosts as the boosted status), edits in Mastodon's own vocabulary,
every byte outside the changed values kept (Rails' \\u003c escapes included)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser

from gateway.feeds import FeedParseError, Overlay, PostEdit, Rewrite, parse_feed, platform_for_url
from gateway.feeds import markers as m
from gateway.feeds.model import Blur

URL = "https://mastodon.social/api/v1/timelines/home"


def rails(value: Any) -> str:
    """JSON as Mastodon's Rails serializer writes it: compact, <>& as \\u escapes, non-ASCII kept."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def status(sid: str, content: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": sid,
        "created_at": "2026-12-01T10:00:00.000Z",
        "sensitive": False,
        "spoiler_text": "",
        "content": content,
        "account": {"id": "1", "username": "ana", "display_name": "Ana 🌻"},
        "media_attachments": [],
        "reblog": None,
        **extra,
    }


def image(mid: str) -> dict[str, Any]:
    return {
        "id": mid,
        "type": "image",
        "url": f"https://files.example/{mid}.jpg",
        "preview_url": f"https://files.example/{mid}_small.jpg",
        "description": "a tank",
    }


CONFIG = {"type": "edit_to_replace", "status": "DEFERRED", "filters": ["war"]}


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://mastodon.social/api/v1/timelines/home", "mastodon"),
        ("https://fosstodon.org/api/v1/timelines/public?local=true", "mastodon"),
        ("https://any.host.example/api/v1/timelines/tag/caf%C3%A9?max_id=5", "mastodon"),
        ("https://x.example/api/v1/timelines/list/42", "mastodon"),
        ("https://x.example/api/v1/accounts/1/statuses", None),
        ("https://x.example/api/v1/timelines/home/extra", None),
        ("https://www.reddit.com/api/v1/timelines/home", "reddit"),
    ],
)
def test_platform_from_api_path_on_any_instance(url: str, platform: str | None) -> None:
    assert platform_for_url(url) == platform


def test_posts_read_boosts_as_the_boosted_status() -> None:
    boosted = status(
        "20",
        "<p>The boosted &amp; original</p>",
        spoiler_text="CW: news",
        media_attachments=[image("a"), {"id": "v", "type": "video", "url": "https://files.example/v.mp4"}],
    )
    body = rails([status("1", "<p>Hello<br>world</p><p>again</p>"), status("2", "", reblog=boosted)])
    posts = parse_feed("mastodon", body).posts
    assert [(p.id, p.title, p.body) for p in posts] == [
        ("1", "", "Hello\nworld\n\nagain"),
        ("20", "CW: news", "The boosted & original"),
    ]
    assert posts[1].image_urls == ["https://files.example/a.jpg"] and posts[1].image_alts == ["a tank"]


def test_untouched_is_identical_and_other_statuses_keep_their_bytes() -> None:
    one, two = status("1", "<p>peace &amp; quiet</p>"), status("2", '<p>war <a href="https://t.example">link</a></p>')
    body = rails([one, two])
    doc = parse_feed("mastodon", body)
    assert doc.render({}) is body
    assert doc.render({"1": PostEdit(body=Blur(["nothing"]))}) == body
    out = doc.render({"2": PostEdit(body=Blur(["war"]))})
    assert out.startswith(rails([one])[:-1] + ",")  # the first status byte for byte, escapes included
    assert "\\u003ca href=" in out  # the edited status keeps Rails' style too
    assert json.loads(out)[1]["content"] == (
        f'<p>{m.BLUR_START}war{m.BLUR_END} <a href="https://t.example">link</a></p>'
    )


def test_blur_escapes_the_run_for_the_extension_and_for_html() -> None:
    body = rails([status("1", "<p>war &lt;img src=x onerror=alert(1)&gt; &amp; more</p>")])
    out = parse_feed("mastodon", body).render({"1": PostEdit(body=Blur(["war"]))})
    content = json.loads(out)[0]["content"]
    # The web client's innerHTML (decode 1) yields a text node still escaped once: inert for the extension.
    node = LexborHTMLParser(content).body.text()
    assert node == f"{m.BLUR_START}war{m.BLUR_END} &lt;img src=x onerror=alert(1)&gt; &amp; more"
    assert "<img" not in content


def test_overlay_is_a_native_content_warning_and_veils_media() -> None:
    body = rails(
        [status("1", "<p>war</p>", spoiler_text="politics", media_attachments=[image("a")]), status("2", "<p>war</p>")]
    )
    out = json.loads(
        parse_feed("mastodon", body).render(
            {"1": PostEdit(body=Overlay("Violence <b>|")), "2": PostEdit(body=Overlay("Violence", rewrite="calm"))}
        )
    )
    assert out[0]["spoiler_text"] == "Violence b \u00b7 politics" and out[0]["sensitive"] is True
    assert out[0]["content"] == "<p>war</p>"
    assert out[1]["spoiler_text"] == "Violence" and out[1]["sensitive"] is False
    assert out[1]["content"] == f"<p>{m.REWRITE_START}calm{m.REWRITE_END}</p>"


def test_rewrite_escapes_model_output_twice() -> None:
    body = rails([status("1", "<p>war</p>")])
    out = json.loads(parse_feed("mastodon", body).render({"1": PostEdit(body=Rewrite("<script>x</script>"))}))
    assert out[0]["content"] == f"<p>{m.REWRITE_START}&amp;lt;script&amp;gt;x&amp;lt;/script&amp;gt;{m.REWRITE_END}</p>"


def test_boost_edit_goes_into_reblog() -> None:
    body = rails([status("2", "", reblog=status("20", "<p>war</p>"))])
    out = json.loads(parse_feed("mastodon", body).render({"20": PostEdit(body=Rewrite("ok"))}))
    assert out[0]["content"] == "" and m.REWRITE_START in out[0]["reblog"]["content"]


def test_image_configs_deferred_veils_completed_swaps() -> None:
    body = rails([status("1", "<p>x</p>", media_attachments=[image("a"), image("b")])])
    done = {**CONFIG, "status": "COMPLETED", "processedUrl": "https://cdn.example/done.png"}
    out = json.loads(
        parse_feed("mastodon", body).render(
            {"1": PostEdit(images={"https://files.example/a.jpg": CONFIG, "https://files.example/b.jpg": done})}
        )
    )
    a, b = out[0]["media_attachments"]
    assert json.loads(a["diy_mod_config"]) == CONFIG and a["url"] == "https://files.example/a.jpg"
    assert b["url"] == b["preview_url"] == "https://cdn.example/done.png"
    assert out[0]["sensitive"] is True


def test_authored_markers_are_defanged() -> None:
    body = rails([status("1", "<p>__BLUR_START__hi__BLUR_END__</p>")])
    out = parse_feed("mastodon", body).render({})
    assert not m.contains_token(json.loads(out)[0]["content"])
    assert len(json.loads(out)[0]["content"]) == len("<p>__BLUR_START__hi__BLUR_END__</p>")


@pytest.mark.parametrize("body", ["", "{}", '{"statuses":[]}', "null", "<html>", "[", '"a"'])
def test_not_a_status_array(body: str) -> None:
    with pytest.raises(FeedParseError):
        parse_feed("mastodon", body)


def test_odd_shapes_never_raise() -> None:
    odd = [
        1,
        None,
        "s",
        {},
        {"id": 5, "content": 7, "media_attachments": {"a": 1}, "reblog": []},
        {"id": "9", "content": "<p>war", "spoiler_text": None, "media_attachments": [None, {"type": "image"}]},
        {"id": "8", "content": "<script>war</script><p>war</p>", "sensitive": "yes"},
    ]
    doc = parse_feed("mastodon", json.dumps(odd))
    for edit in (PostEdit.blur(["war"]), PostEdit(body=Overlay("w")), PostEdit(body=Rewrite("r"))):
        json.loads(doc.render({p.id: edit for p in doc.posts}))
    out = json.loads(doc.render({"8": PostEdit.blur(["war"])}))
    assert out[-1]["content"] == f"<script>war</script><p>{m.BLUR_START}war{m.BLUR_END}</p>"


# -- quote posts (Mastodon 4.4: status.quote = {state, quoted_status}; inside a quoted status the quote is
# shallow, {state, quoted_status_id}) ---------------------------------------------------------------------

def quote_of(quoted: dict[str, Any] | None, state: str = "accepted") -> dict[str, Any]:
    return {"state": state, "quoted_status": quoted}


QUOTED = status(
    "30",
    "<p>tanks &amp; war</p>",
    spoiler_text="news",
    media_attachments=[image("q")],
    quote={"state": "accepted", "quoted_status_id": "31"},  # shallow: nothing of 31 is shown
)


def test_a_quoted_status_is_judged_as_a_post_of_its_own() -> None:
    body = rails([
        status("1", "<p>look at this</p>", quote=quote_of(QUOTED)),
        status("2", "", reblog=status("20", "<p>boosted quote</p>", quote=quote_of(status("40", "<p>inner</p>")))),
        status("3", "<p>pending</p>", quote=quote_of(None, "pending")),
        status("4", "<p>shallow</p>", quote={"state": "accepted", "quoted_status_id": "9"}),
    ])
    posts = parse_feed("mastodon", body).posts
    assert [(p.id, p.title, p.body) for p in posts] == [
        ("1", "", "look at this"),
        ("30", "news", "tanks & war"),
        ("20", "", "boosted quote"),
        ("40", "", "inner"),
        ("3", "", "pending"),
        ("4", "", "shallow"),
    ]
    assert posts[1].image_urls == ["https://files.example/q.jpg"] and posts[1].image_alts == ["a tank"]


def test_quoted_status_is_edited_in_place_and_the_rest_keeps_its_bytes() -> None:
    quoting = status("1", "<p>look at this war</p>", quote=quote_of(QUOTED))
    other = status("2", "<p>war elsewhere</p>")
    body = rails([quoting, other])
    doc = parse_feed("mastodon", body)
    edit = PostEdit(body=Overlay("Violence"), images={"https://files.example/q.jpg": CONFIG})
    out = doc.render({"30": edit})
    assert out.endswith("," + rails([other])[1:])  # the next status byte for byte
    assert out.startswith(rails([quoting])[:rails([quoting]).index('"quote"')])  # the quoting status's own keys
    first = json.loads(out)[0]
    quoted = first["quote"]["quoted_status"]
    assert quoted["spoiler_text"] == "Violence \u00b7 news" and quoted["sensitive"] is True
    assert json.loads(quoted["media_attachments"][0]["diy_mod_config"]) == CONFIG
    assert quoted["quote"] == {"state": "accepted", "quoted_status_id": "31"}
    assert first["content"] == "<p>look at this war</p>" and first["spoiler_text"] == ""
    # Put the original quoted status back: no other value changed.
    reverted = json.loads(out)
    reverted[0]["quote"]["quoted_status"] = QUOTED
    assert rails(reverted) == body


def test_quoting_and_quoted_edits_together_and_inside_a_boost() -> None:
    inner = status("40", "<p>war inside</p>")
    body = rails([
        status("1", "<p>war outside</p>", quote=quote_of(status("30", "<p>war quoted</p>"))),
        status("2", "", reblog=status("20", "<p>calm</p>", quote=quote_of(inner))),
    ])
    out = json.loads(parse_feed("mastodon", body).render(
        {"1": PostEdit.blur(["war"]), "30": PostEdit(body=Rewrite("peace")), "40": PostEdit.blur(["war"])}
    ))
    assert out[0]["content"] == f"<p>{m.BLUR_START}war{m.BLUR_END} outside</p>"
    assert out[0]["quote"]["quoted_status"]["content"] == f"<p>{m.REWRITE_START}peace{m.REWRITE_END}</p>"
    assert out[1]["reblog"]["content"] == "<p>calm</p>"
    assert out[1]["reblog"]["quote"]["quoted_status"]["content"] == f"<p>{m.BLUR_START}war{m.BLUR_END} inside</p>"


def test_a_status_quoted_and_in_the_timeline_is_one_post_edited_in_both_places() -> None:
    quoted = status("30", "<p>war</p>")
    body = rails([quoted, status("1", "<p>see above</p>", quote=quote_of(quoted))])
    doc = parse_feed("mastodon", body)
    assert [p.id for p in doc.posts] == ["30", "1"]
    out = json.loads(doc.render({"30": PostEdit.blur(["war"])}))
    blurred = f"<p>{m.BLUR_START}war{m.BLUR_END}</p>"
    assert out[0]["content"] == out[1]["quote"]["quoted_status"]["content"] == blurred
    assert out[1]["content"] == "<p>see above</p>"
