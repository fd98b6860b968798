"""render.js in the browser: marker parsing and DOM rendering, including the cases the offline
moderation never produces (rewrites, overlay over rewrite, broken markers)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import Viewer

RENDER = """async (text) => {
  const { appendText } = await import('/viewer/static/render.js');
  const box = document.createElement('div');
  appendText(box, text, { markers: true });
  document.body.append(box);
  const describe = (node) => node.nodeType === Node.TEXT_NODE ? node.data
    : { tag: node.tagName.toLowerCase(), cls: node.className, warning: node.dataset.warning,
        kids: [...node.childNodes].map(describe) };
  return [...box.childNodes].map(describe);
}"""


@pytest.fixture
def render(viewer: Viewer, page: Any) -> Any:
    page.goto(viewer.url + "/viewer/static/render.js")  # any page of the gateway's origin

    def run(text: str) -> Any:
        return page.evaluate(RENDER, text)

    return run


def test_rewrite_and_overlay_over_rewrite(render: Any) -> None:
    out = render("__REWRITE_START__A calmer title__REWRITE_END__")
    assert out == [{"tag": "div", "cls": "diymod-rewritten", "warning": None, "kids": [
        "A calmer title",
        {"tag": "div", "cls": "modification-indicator", "warning": None, "kids": ["Modified by DIY-MOD"]}]}]
    out = render("before __OVERLAY_START__Content warning: war|__REWRITE_START__new__REWRITE_END____OVERLAY_END__")
    assert out[0] == "before "
    overlay = out[1]
    assert overlay["cls"] == "content-overlay diymod-overlay hidden" and overlay["warning"] == "Content warning: war"
    content, label = overlay["kids"]
    assert content["kids"][0]["cls"] == "diymod-rewritten"
    assert label["kids"][0]["kids"] == ["Content warning: war"]


def test_entities_are_decoded_once_into_text_never_into_markup(render: Any, page: Any) -> None:
    out = render("__BLUR_START__spiders__BLUR_END__ &lt;img src=x onerror=alert(1)&gt; &amp;amp; &#x1F577;")
    assert out[0]["cls"] == "diymod-blur" and out[0]["kids"] == ["spiders"]
    assert out[1] == " <img src=x onerror=alert(1)> &amp; \U0001f577"
    assert page.locator("img").count() == 0
    # Text without a marker is left exactly as it is (the extension does not touch it).
    assert render("plain &lt;b&gt;") == ["plain &lt;b&gt;"]


def test_broken_markers_stay_visible_as_text(render: Any) -> None:
    assert render("__BLUR_START__no end") == ["__BLUR_START__no end"]
    # An overlay warning must be on one line and end at "|": otherwise no overlay.
    two_lines = "__OVERLAY_START__two\nlines|text__OVERLAY_END__"
    assert render(two_lines) == [two_lines]
    out = render("__OVERLAY_START__|text__OVERLAY_END__")
    assert out[0]["warning"] == "Content filtered"  # empty warning: the extension's default
    # The first END closes, as with the extension's non-greedy regexes.
    out = render("__BLUR_START__a__BLUR_START__b__BLUR_END__c__BLUR_END__")
    assert out[0]["kids"] == ["a__BLUR_START__b"] and out[1] == "c__BLUR_END__"
