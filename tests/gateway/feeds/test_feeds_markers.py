from __future__ import annotations

import time

import pytest

from gateway.feeds import markers as m

from .feeds_testutil import XSS, assert_inert, extension_dom


def test_blur_longest_first_every_occurrence_no_nesting() -> None:
    out = m.blur_spans("war crimes and war, war crimes", ["war", "war crimes"])
    assert out == (
        "__BLUR_START__war crimes__BLUR_END__ and __BLUR_START__war__BLUR_END__, __BLUR_START__war crimes__BLUR_END__"
    )
    assert [g for g in m.BLUR_RE.findall(out)] == ["war crimes", "war", "war crimes"]


def test_blur_only_given_spans_and_regex_metacharacters() -> None:
    assert m.blur_spans("a (b) c.*", ["(b)", ".*", "", "   ", "zzz"]) == (
        "a __BLUR_START__(b)__BLUR_END__ c__BLUR_START__.*__BLUR_END__"
    )
    assert m.blur_spans("nothing here", []) == "nothing here"


def test_blur_whitespace_in_span_matches_any_whitespace() -> None:
    out = m.blur_spans("the war\n   news", ["war news"])
    assert out == "the __BLUR_START__war\n   news__BLUR_END__"


def test_blur_ignores_markers_in_spans_and_non_strings() -> None:
    out = m.blur_spans("say war", ["__BLUR_START__war__BLUR_END__", None, 3])  # type: ignore[list-item]
    assert out == "say __BLUR_START__war__BLUR_END__"


def test_overlay_syntax_matches_extension_regex() -> None:
    out = m.overlay("This may upset you", "line one\nline two | with pipe")
    match = m.OVERLAY_RE.fullmatch(out)
    assert match is not None
    assert match[1] == "This may upset you"
    assert match[2] == "line one\nline two | with pipe"


def test_rewrite_syntax() -> None:
    assert m.rewrite("calm text") == "__REWRITE_START__calm text__REWRITE_END__"
    assert m.REWRITE_RE.fullmatch(m.rewrite("a\nb"))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Heads up|spoilers", "Heads up spoilers"),
        ("He said \"<b>hi</b>\" & 'left'", "He said b hi /b left"),
        ("line1\nline2\r\u2028line3", "line1 line2 line3"),
        ("", "Content filtered"),
        (None, "Content filtered"),
        ("  |<>  ", "Content filtered"),
        ("__OVERLAY_START__x|y__OVERLAY_END__", "y"),
        ("\u202eevil", "evil"),
    ],
)
def test_sanitize_warning(raw: object, expected: str) -> None:
    assert m.sanitize_warning(raw) == expected


def test_sanitize_warning_bounded() -> None:
    long = "word " * 100
    out = m.sanitize_warning(long)
    assert len(out) <= m.WARNING_MAX_CHARS
    assert out.endswith("\u2026")


def test_warning_in_overlay_is_one_line_and_inert() -> None:
    out = m.overlay('"><img src=x onerror=alert(1)>|\nx', "text")
    match = m.OVERLAY_RE.fullmatch(out)
    assert match is not None and match[2] == "text"
    assert_inert(out, "text")


@pytest.mark.parametrize(
    "build",
    [
        lambda t: m.blur_spans(t, ["onerror"]),
        lambda t: m.blur_spans(t, [t]),
        lambda t: m.overlay("warning", t),
        lambda t: m.rewrite(t),
        lambda t: m.overlay_rewrite("warning", t),
    ],
)
def test_builder_output_is_inert_after_innerhtml(build) -> None:  # type: ignore[no-untyped-def]
    # The builders return what the DOM text node must contain: one escaping round.
    out = build(XSS + " & more")
    assert "<" not in out and ">" not in out
    assert_inert(out, XSS + " & more")


def test_defang_keeps_length_and_breaks_tokens() -> None:
    text = "a __BLUR_START__<img>__BLUR_END__ b __OVERLAY_START__x|y__OVERLAY_END__ __REWRITE_SEPARATOR__"
    out = m.defang(text)
    assert len(out) == len(text)
    assert not m.contains_token(out)
    assert m.BLUR_RE.search(out) is None and m.OVERLAY_RE.search(out) is None
    assert m.defang("plain") == "plain"


def test_foreign_tokens_inside_content_cannot_close_markers() -> None:
    out = m.blur_spans("x __BLUR_END__<script> y", ["x"])
    assert m.BLUR_RE.findall(out) == ["x"]
    dom = extension_dom(out)
    assert dom.css_first("script") is None


def test_strip_markers() -> None:
    text = m.overlay("w", "keep me") + " " + m.blur_spans("a b", ["b"]) + " " + m.rewrite("r")
    assert m.strip_markers(text) == "keep me a b r"
    assert m.strip_markers("__BLUR_START__ dangling") == " dangling"


def test_span_matching_is_bounded() -> None:
    text = "a " * 200_000
    start = time.perf_counter()
    out = m.blur_spans(text, ["a"] * 500 + [f"a{i}" for i in range(500)])
    assert time.perf_counter() - start < 5
    assert out.count(m.BLUR_START) == m.MAX_OCCURRENCES
