from __future__ import annotations

import json
import random
import re
import time

import pytest
from selectolax.lexbor import LexborHTMLParser

from gateway.feeds import Blur, FeedParseError, Overlay, PostEdit, Rewrite, parse_feed
from gateway.feeds import markers as m
from gateway.viewer.samplegen import reddit_legacy_sample_html, reddit_page, reddit_sample_html

from .feeds_testutil import XSS, assert_inert, dom_text_nodes

HOME_URL = "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=dDNfMW05cTJhYg%3D%3D&distance=28"
SUB_URL = "https://www.reddit.com/svc/shreddit/community-more-posts/hot/?after=dDNfMW1hMHgxMQ%3D%3D&name=spiders"
CONFIG = {
    "type": "edit_to_replace",
    "status": "DEFERRED",
    "filters": ["dogs in distress"],
    "best_filter_name": "dogs in distress",
    "top3_interventions": ["blur", 'it\'s <ok> & "fine"'],
}


def home() -> str:
    return reddit_sample_html()


def post_html(title_html: str, body_html: str = "", media: str = "", attrs: str = 'id="t3_x"') -> str:
    body = f'<a slot="text-body" href="/r/a"><div class="md"><p>{body_html}</p></div></a>' if body_html else ""
    return (
        f'<article><shreddit-post {attrs} post-type="text">\n  <a slot="title" href="/r/a">{title_html}</a>\n'
        f"  {body}{media}\n</shreddit-post></article>\n"
    )


def changed_lines(src: str, out: str) -> list[int]:
    a, b = src.split("\n"), out.split("\n")
    assert len(a) == len(b)
    return [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]


def title_nodes(html: str) -> list[str]:
    tree = LexborHTMLParser(html)
    return [(n.text() or "") for n in tree.css('a[slot="title"]')]


# -- extraction ---------------------------------------------------------------------------------


def test_sample_posts() -> None:
    doc = parse_feed("reddit", home())
    assert [p.id for p in doc.posts] == ["t3_1m9q2ab", "t3_1m9r7cd"]  # the ad post is skipped
    first, second = doc.posts
    assert first.title == "Took this at the shelter today"
    assert first.body == ""
    # Entity-decoded, as img.src reads in the browser; the background-filter copy is not taken.
    assert first.image_urls == [
        "https://preview.redd.it/k3x9vq2ab1ff1.jpeg?width=640&crop=smart&auto=webp&s=0a1b2c3d4e5f"
    ]
    assert first.image_alts == ["r/pics - Took this at the shelter today"]
    assert second.body.startswith('Management sent a 7am calendar invite titled "org update".')
    assert second.image_urls == []


def test_legacy_sample_posts() -> None:
    doc = parse_feed("reddit", reddit_legacy_sample_html())
    assert [p.id for p in doc.posts] == ["t3_1ma0x11", "t3_1ma0y22"]
    assert doc.posts[0].image_urls == ["https://preview.redd.it/p0rch5pd.jpeg?width=640&auto=webp&s=11aa22bb"]


def test_generated_page_matches_expectations() -> None:
    gen = reddit_page(25, seed=3)
    doc = parse_feed("reddit", gen.body)
    assert doc.posts == gen.expected
    assert len(doc.posts) == 25 and gen.ad_ids
    kinds = {p.id: gen.kinds[p.id] for p in doc.posts}
    assert all(p.image_urls == [] for p in doc.posts if kinds[p.id] == "video")
    gallery = next(p for p in doc.posts if kinds[p.id] == "gallery")
    assert gallery.image_urls[0].endswith("-0.jpg?width=640&format=pjpg&s=g0")  # first image only


def test_nested_and_commented_and_scripted_posts_are_not_confused() -> None:
    page = (
        "<!DOCTYPE html><html><head><title>reddit</title>"
        '<script>var s = "<shreddit-post id=\\"fake1\\"><a slot=\\"title\\">no</a></shreddit-post>";</script>'
        "<style>shreddit-post > a[slot=title] { color: red }</style></head><body>"
        "<!-- <shreddit-post id=fake2></shreddit-post> -->"
        "<textarea><shreddit-post id=fake3></shreddit-post></textarea>"
        "<noscript><shreddit-post id=fake4></shreddit-post></noscript>"
        + post_html("Real title", "Real body")
        + "</body></html>"
    )
    doc = parse_feed("reddit", page)
    assert [(p.id, p.title, p.body) for p in doc.posts] == [("t3_x", "Real title", "Real body")]
    out = doc.render({"t3_x": PostEdit.blur(["Real"])})
    assert out.count("__BLUR_START__Real__BLUR_END__") == 2
    assert changed_lines(page.replace("><", ">\n<"), out.replace("><", ">\n<"))


def test_attribute_quoting_order_and_case_variants() -> None:
    src = (
        "<shreddit-post\n  post-type=text ID='t3_q' score=5>\n"
        "<A HREF='/x' SLOT=title CLASS=\"t\">Quoted &amp; cased</A>\n"
        "<div slot='post-media-container'><div class=\"media-lightbox-img\">"
        "<IMG alt='it&#39;s' SRC=https://i.redd.it/a.png?x=1&amp;y=2 class=i18n-post-media-img />"
        "</div></div></shreddit-post>"
    )
    doc = parse_feed("reddit", src)
    (post,) = doc.posts
    assert (post.id, post.title) == ("t3_q", "Quoted & cased")
    assert post.image_urls == ["https://i.redd.it/a.png?x=1&y=2"]
    assert post.image_alts == ["it's"]
    out = doc.render({"t3_q": PostEdit(images={post.image_urls[0]: CONFIG})})
    img = LexborHTMLParser(out).css_first("img")
    assert img is not None
    assert json.loads(img.attributes["diy-mod-image"] or "") == CONFIG
    assert img.attributes["src"] == "https://i.redd.it/a.png?x=1&y=2"
    assert img.attributes["srcset"] == ""
    assert (img.attributes["class"] or "").split() == ["i18n-post-media-img", "diy-mod-processed"]
    # Original spelling of the untouched parts is kept.
    assert "SRC=https://i.redd.it/a.png?x=1&amp;y=2 " in out and "alt='it&#39;s'" in out


# -- identity -----------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_identity_without_edits(seed: int) -> None:
    body = reddit_page(25, seed=seed).body
    doc = parse_feed("reddit", body)
    assert doc.render() is body
    assert doc.render({}) == body
    assert doc.render({"t3_unknown": PostEdit.overlay("x")}) == body
    assert doc.render({doc.posts[0].id: PostEdit()}) == body


def test_identity_outside_edited_regions() -> None:
    gen = reddit_page(25, seed=5)
    doc = parse_feed("reddit", gen.body)
    target = next(p for p in doc.posts if p.image_urls and gen.kinds[p.id] == "image")
    text_post = next(p for p in doc.posts if gen.kinds[p.id] == "text")
    out = doc.render(
        {
            target.id: PostEdit(title=Blur(target.title.split()[:1]), images={target.image_urls[0]: CONFIG}),
            text_post.id: PostEdit(title=Rewrite("calm"), body=Overlay("careful")),
        }
    )
    lines = gen.body.split("\n")
    allowed: set[int] = set()
    for post_id in (target.id, text_post.id):
        start = next(i for i, line in enumerate(lines) if f'id="{post_id}"' in line and "<shreddit-post" in line)
        end = next(i for i in range(start, len(lines)) if "</shreddit-post>" in lines[i])
        allowed |= {
            i
            for i in range(start, end)
            if 'slot="title"' in lines[i - 1] or '<img class="i18n' in lines[i] or '<div class="md' in lines[i]
        }
    diff = changed_lines(gen.body, out)
    assert diff and set(diff) <= allowed
    # Within a changed line, only the text / the img tag differ.
    for i in diff:
        before, after = lines[i], out.split("\n")[i]
        if "<img" in before:
            assert (
                before.replace(
                    ' class="i18n-post-media-img preview-img object-contain"',
                    ' class="i18n-post-media-img preview-img object-contain diy-mod-processed"',
                ).split(" srcset=")[0]
                == after.split(" srcset=")[0]
            )


# -- markers and escaping -----------------------------------------------------------------------


def test_markers_parse_with_extension_regexes() -> None:
    doc = parse_feed("reddit", home())
    out = doc.render(
        {
            "t3_1m9q2ab": PostEdit(title=Blur(["shelter"])),
            "t3_1m9r7cd": PostEdit(
                title=Rewrite("Another week of changes"), body=Overlay("You may prefer to skip this")
            ),
        }
    )
    titles = title_nodes(out)
    assert m.BLUR_RE.search(titles[0])[1] == "shelter"  # type: ignore[index]
    assert m.REWRITE_RE.search(titles[1])[1] == "Another week of changes"  # type: ignore[index]
    body = LexborHTMLParser(out).css_first('a[slot="text-body"] p')
    assert body is not None
    match = m.OVERLAY_RE.fullmatch(body.text() or "")
    assert match is not None and match[1] == "You may prefer to skip this"
    assert match[2].startswith('Management sent a 7am calendar invite titled "org update".')


@pytest.mark.parametrize(
    "edit",
    [
        Blur([XSS]),
        Blur(["look"]),
        Overlay("warn"),
        Rewrite(XSS),
        Overlay("w", rewrite=XSS),
    ],
)
def test_xss_title_stays_text(edit: Blur | Overlay | Rewrite) -> None:
    src = post_html("&lt;img src=x onerror=alert(1)&gt; look at this")
    doc = parse_feed("reddit", src)
    assert doc.posts[0].title == XSS + " look at this"
    out = doc.render({"t3_x": PostEdit(title=edit)})
    nodes = [t for t in dom_text_nodes(out) if m.contains_token(t)]
    assert len(nodes) == 1
    shown = XSS if not isinstance(edit, Blur) or edit.spans == (XSS,) else XSS + " "
    assert_inert(nodes[0], shown)
    assert "<img" not in out  # the browser's first decode leaves "&lt;img", never a tag


def test_xss_in_other_text_of_the_same_text_node() -> None:
    # The blur is on "safe", but the whole text node goes through innerHTML.
    src = post_html("safe &lt;script&gt;alert(1)&lt;/script&gt; words")
    out = parse_feed("reddit", src).render({"t3_x": PostEdit.blur(["safe"])})
    (node,) = [t for t in dom_text_nodes(out) if m.contains_token(t)]
    assert_inert(node, "<script>alert(1)</script>")


def test_text_nodes_merged_across_stray_tags_are_escaped_together() -> None:
    src = post_html("first</span>&lt;img src=x onerror=alert(1)&gt;")
    out = parse_feed("reddit", src).render({"t3_x": PostEdit.blur(["first"])})
    (node,) = [t for t in dom_text_nodes(out) if m.contains_token(t)]
    assert_inert(node, XSS)


def test_authored_markers_are_defanged() -> None:
    src = (
        post_html(
            "__BLUR_START__&lt;img src=x onerror=alert(1)&gt;__BLUR_END__", "__OVERLAY_START__&#95;x|y__OVERLAY_END__"
        )
        + "<p>__REWRITE_START__elsewhere</p>"
    )
    doc = parse_feed("reddit", src)
    out = doc.render()
    assert not any(m.contains_token(t) for t in dom_text_nodes(out))
    assert [len(t) for t in title_nodes(out)] == [len(t) for t in title_nodes(src)]


def test_body_structure_is_kept_for_blur() -> None:
    body = "<p><strong>Note:</strong> the war <em>news</em> again</p><p>second war paragraph</p>"
    src = (
        '<shreddit-post id="t3_b"><a slot="title">t</a><a slot="text-body"><div class="md">'
        + body
        + "</div></a></shreddit-post>"
    )
    doc = parse_feed("reddit", src)
    assert doc.posts[0].body == "Note: the war news again\nsecond war paragraph"
    out = doc.render({"t3_b": PostEdit(body=Blur(["war"]))})
    assert out == src.replace("war", "__BLUR_START__war__BLUR_END__")


@pytest.mark.parametrize("edit", [Overlay("careful"), Rewrite("a calmer text")])
def test_body_overlay_and_rewrite_fill_one_block_text_node(edit: Overlay | Rewrite) -> None:
    body = "<p><strong>Note:</strong> the war <em>news</em> again</p><p>second paragraph</p>"
    src = (
        '<shreddit-post id="t3_b"><a slot="title">t</a><a slot="text-body"><div class="md">'
        + body
        + "</div></a></shreddit-post>"
    )
    out = parse_feed("reddit", src).render({"t3_b": PostEdit(body=edit)})
    tree = LexborHTMLParser(out)
    paras = tree.css('a[slot="text-body"] p')
    assert len(paras) == 2 and tree.css_first("strong") is not None  # structure kept
    marked = [t for t in dom_text_nodes(out) if m.contains_token(t)]
    assert len(marked) == 1
    if isinstance(edit, Overlay):
        match = m.OVERLAY_RE.fullmatch(marked[0].strip())
        assert match is not None and match[2] == "Note: the war news again\nsecond paragraph"
    else:
        assert marked[0].strip() == "__REWRITE_START__a calmer text__REWRITE_END__"
    # The text node chosen is in the paragraph, not inside <strong>.
    assert (tree.css_first("strong").text() or "") == ""  # type: ignore[union-attr]


def test_overlay_keeps_title_layout_whitespace() -> None:
    doc = parse_feed("reddit", home())
    out = doc.render({"t3_1m9q2ab": PostEdit(title=Overlay("w"))})
    assert "\n      __OVERLAY_START__w|Took this at the shelter today__OVERLAY_END__\n  </a>" in out


# -- images -------------------------------------------------------------------------------------


def test_image_config_deferred_and_completed() -> None:
    doc = parse_feed("reddit", home())
    url = doc.posts[0].image_urls[0]
    out = doc.render({"t3_1m9q2ab": PostEdit(images={url: CONFIG})})
    img = LexborHTMLParser(out).css_first("img.diy-mod-processed")
    assert img is not None
    assert json.loads(img.attributes["diy-mod-image"] or "") == CONFIG
    assert img.attributes["src"] == url and img.attributes["srcset"] == ""
    # The background copy is untouched.
    assert out.count("diy-mod-processed") == 1
    done = {"type": "cartoonish", "status": "COMPLETED", "processedUrl": "https://cdn.example/p.png?a=1&b=2"}
    out = doc.render({"t3_1m9q2ab": PostEdit(images={url: done})})
    img = LexborHTMLParser(out).css_first("img.diy-mod-processed")
    assert img is not None and img.attributes["src"] == "https://cdn.example/p.png?a=1&b=2"
    bad = {"status": "COMPLETED", "processedUrl": "javascript:alert(1)"}
    out = doc.render({"t3_1m9q2ab": PostEdit(images={url: bad})})
    assert "javascript:" not in out.split("diy-mod-image")[0][-400:]
    img = LexborHTMLParser(out).css_first("img.diy-mod-processed")
    assert img is not None and img.attributes["src"] == url


def test_image_edit_for_other_url_is_ignored() -> None:
    doc = parse_feed("reddit", home())
    assert doc.render({"t3_1m9q2ab": PostEdit(images={"https://other/x.jpg": CONFIG})}) == home()


def test_self_closing_and_existing_processed_class() -> None:
    src = (
        '<shreddit-post id="t3_s"><a slot="title">t</a><div slot="post-media-container">'
        '<img src="https://i.redd.it/s.jpg" class="x diy-mod-processed" srcset="a 1w"/></div></shreddit-post>'
    )
    doc = parse_feed("reddit", src)
    out = doc.render({"t3_s": PostEdit(images={"https://i.redd.it/s.jpg": CONFIG})})
    assert out.startswith(src.split("<img")[0])
    assert 'class="x diy-mod-processed" srcset=""' in out and out.endswith("/></div></shreddit-post>")


# -- cursor -------------------------------------------------------------------------------------


def test_cursor_home_feed_partial_id() -> None:
    doc = parse_feed("reddit", home())
    out = doc.render(shift_cursor_for=HOME_URL)
    assert 'id="partial-more-posts-dDNfMW05cjdjZA"' in out
    assert CURSOR not in out if (CURSOR := "more-posts-cursor") else True  # only 2 posts: none stamped
    assert doc.render() == home()


def test_cursor_home_feed_posts_six_and_seven() -> None:
    gen = reddit_page(25)
    doc = parse_feed("reddit", gen.body)
    out = doc.render(shift_cursor_for=HOME_URL)
    tree = LexborHTMLParser(out)
    stamped = [i for i, p in enumerate(tree.css("shreddit-post")) if "more-posts-cursor" in p.attributes]
    assert stamped == [6, 7]
    assert tree.css("shreddit-post")[6].attributes["more-posts-cursor"] == "dDNfZ2VuMDI0"
    partial = tree.css_first("faceplate-partial")
    assert partial is not None and partial.attributes["id"] == "partial-more-posts-dDNfZ2VuMDI0"


def test_cursor_copied_back_on_other_feeds() -> None:
    src = reddit_legacy_sample_html()
    out = parse_feed("reddit", src).render(shift_cursor_for=SUB_URL)
    tree = LexborHTMLParser(out)
    assert [p.attributes.get("more-posts-cursor") for p in tree.css("shreddit-post")] == ["dDNfMW1hMHkyMg=="] * 2
    posts = "".join(
        post_html(f"t{i}", attrs=f'id="t3_{i}"' + (' more-posts-cursor="C"' if i == 20 else "")) for i in range(22)
    )
    tree = LexborHTMLParser(parse_feed("reddit", posts).render(shift_cursor_for=SUB_URL))
    have = [i for i, p in enumerate(tree.css("shreddit-post")) if p.attributes.get("more-posts-cursor") == "C"]
    assert have == list(range(7, 21))


# -- malformed and hostile input ----------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "",
        "plain text",
        "<",
        "<<<>>>",
        "<!--",
        "<shreddit-post",
        '<shreddit-post id="a',
        "</",
        "<![CDATA[",
        "<script>",
        "<svg><![CDATA[<shreddit-post id=z>]]></svg>",
        "\x00\x01<p>\ufffe</p>",
        "<a slot=title>x",
        '{"data": {}}',
        "<shreddit-post id=a><a slot=title>" * 50,
    ],
)
def test_odd_html_never_raises_anything_else(body: str) -> None:
    try:
        doc = parse_feed("reddit", body)
    except FeedParseError:
        return
    assert doc.render() == body
    doc.render({p.id: PostEdit.overlay("x") for p in doc.posts})


def test_lone_surrogate_and_non_text() -> None:
    with pytest.raises(FeedParseError):
        parse_feed("reddit", "<p>\ud800</p>")
    with pytest.raises(FeedParseError):
        parse_feed("reddit", b"<p>x</p>")  # type: ignore[arg-type]


def test_truncations_of_a_real_page() -> None:
    body = reddit_page(8).body
    rng = random.Random(7)
    for cut in sorted(rng.sample(range(len(body)), 150)):
        part = body[:cut]
        try:
            doc = parse_feed("reddit", part)
        except FeedParseError:
            continue
        assert doc.render() == part
        out = doc.render({p.id: PostEdit(title=Blur(["the"]), body=Rewrite("x")) for p in doc.posts})
        assert out.startswith(part[: min((p for p in [part.find('slot="title"')] if p >= 0), default=0)])


def test_mutations_of_a_real_page() -> None:
    body = reddit_page(6).body
    rng = random.Random(11)
    chars = ["<", ">", '"', "'", "&", "/", "=", " ", "!--", "<script>", "</a>", "<svg>", "\ue000"]
    for _ in range(150):
        mutated = list(body)
        for _ in range(5):
            mutated.insert(rng.randrange(len(mutated)), rng.choice(chars))
        text = "".join(mutated)
        try:
            doc = parse_feed("reddit", text)
        except FeedParseError:
            continue
        assert doc.render() == text
        out = doc.render(
            {
                p.id: PostEdit(title=Overlay("w"), body=Blur(["a"]), images={u: CONFIG for u in p.image_urls})
                for p in doc.posts
            }
        )
        for node in dom_text_nodes(out):
            if m.contains_token(node):
                assert_inert(node, "")


@pytest.mark.timeout(60)
def test_huge_and_deep_inputs_are_fast() -> None:
    cases = [
        "<div>" * 100_000 + "x",
        "<b>" * 50_000 + post_html("deep"),
        post_html("t") * 3000,
        "<p a='" + "x" * 1_000_000,
        "<!--" + "-" * 1_000_000,
        "<script>" + "<!--<script>" * 100_000,
        "&amp;" * 500_000,
        "<a " + "b=c " * 200_000 + ">",
    ]
    for body in cases:
        start = time.perf_counter()
        try:
            doc = parse_feed("reddit", body)
            doc.render({p.id: PostEdit.blur(["t"]) for p in doc.posts[:50]})
        except FeedParseError:
            pass
        assert time.perf_counter() - start < 10, body[:40]


def test_tokenizer_offsets_match_lexbor_on_generated_pages() -> None:
    # A page whose every post gets every edit must still parse to the same posts in the same order.
    gen = reddit_page(25, seed=9)
    doc = parse_feed("reddit", gen.body)
    edits = {
        p.id: PostEdit(title=Rewrite(f"new {p.id}"), body=Blur(["the", "a"]), images={u: CONFIG for u in p.image_urls})
        for p in doc.posts
    }
    out = doc.render(edits, shift_cursor_for=HOME_URL)
    again = parse_feed("reddit", out)
    assert [p.id for p in again.posts] == [p.id for p in doc.posts]
    assert [p.image_urls for p in again.posts] == [p.image_urls for p in doc.posts]
    for post in again.posts:
        assert m.REWRITE_RE.fullmatch(post.title)
    assert re.findall(r"shreddit-ad-post", out) == re.findall(r"shreddit-ad-post", gen.body)
