from __future__ import annotations

import random

from gateway.feeds import htmlscan
from gateway.viewer.samplegen import reddit_page


def test_tags_attributes_and_text_runs() -> None:
    src = (
        "<p a=1 b=\"x y\" c='q' d e=>hi<!-- <x> --><script>if(a<b)</script><b>t</b><img src=a/>"
        "<svg><style><i>x</i></style></svg><textarea><b></textarea>z"
    )
    sc = htmlscan.scan(src)
    tags = [(t.name, [(a.name, src[a.value_start : a.value_end]) for a in t.attrs]) for t in sc.tags]
    assert tags == [
        ("p", [("a", "1"), ("b", "x y"), ("c", "q"), ("d", ""), ("e", "")]),
        ("script", []),
        ("b", []),
        ("img", [("src", "a/")]),
        ("svg", []),
        ("style", []),
        ("i", []),
        ("textarea", []),
    ]
    texts = [(src[r.start : r.end], r.raw) for r in sc.texts]
    assert texts == [("hi", False), ("if(a<b)", True), ("t", False), ("x", False), ("<b>", False), ("z", False)]


def test_unterminated_tag_is_dropped_like_the_standard() -> None:
    sc = htmlscan.scan('ok<x y="never closed>tail')
    assert [t.name for t in sc.tags] == []
    assert [r.end for r in sc.texts] == [2]


def test_fast_and_step_by_step_tag_parsers_agree() -> None:
    body = reddit_page(10).body
    rng = random.Random(1)
    chars = ["<", ">", '"', "'", "=", "/", " ", "\n", "a", "<a ", '="', "/>", "<img src=x", "&"]
    for _ in range(400):
        text = list(body[: rng.randrange(200, 3000)])
        for _ in range(rng.randrange(1, 8)):
            text.insert(rng.randrange(len(text)), rng.choice(chars))
        src = "".join(text)
        for lt in (i for i, c in enumerate(src) if c == "<" and src[i + 1 : i + 2].isalpha()):
            fast, slow = htmlscan._start_tag(src, lt, True), htmlscan._start_tag(src, lt, False)
            if fast is None or slow is None:
                assert fast is slow is None
                continue
            assert (fast.name, fast.end, fast.self_closing) == (slow.name, slow.end, slow.self_closing)
            assert [(a.name, a.start, a.end, a.value_start, a.value_end) for a in fast.attrs] == [
                (a.name, a.start, a.end, a.value_start, a.value_end) for a in slow.attrs
            ]


def test_depth_estimate_follows_implied_end_tags() -> None:
    assert htmlscan.scan("<ul>" + "<li>x" * 1000).max_depth == 2
    assert htmlscan.scan("<p><b>x" * 1000).max_depth < 20
    assert htmlscan.scan("<div>" * 1000).max_depth == 1000
    assert htmlscan.scan("<option><div>" * 500).max_depth == 1000  # options nest when not current
