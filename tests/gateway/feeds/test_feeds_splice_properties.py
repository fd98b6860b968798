"""Property tests of the in-place codecs: any mutation of a Mastodon or Bluesky page parses or is refused
with FeedParseError, every edit renders valid JSON that reparses to the same posts, values outside the
edited posts are unchanged, and Bluesky facets still cover the text they covered."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.feeds import FeedParseError, Overlay, PostEdit, Rewrite, parse_feed
from gateway.feeds import markers as m
from gateway.feeds.jsonsplice import value_spans
from gateway.viewer.fedisamples import bluesky_timeline, mastodon_timeline

BASES = {
    "mastodon": json.loads(mastodon_timeline(5, seed=8).body),
    "bluesky": json.loads(bluesky_timeline(5, seed=8).body),
}
LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.text(max_size=12),
    st.sampled_from(["war", "☕ war 🎉", "__BLUR_START__", "<p>war</p>", "app.bsky.embed.images#view"]),
)
JSON_ANY = st.recursive(
    LEAF,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        out += paths(child, (*prefix, key))
    return out


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, *rest = path
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], tuple(rest), new)}
    copy = list(value)
    copy[head] = replaced(copy[head], tuple(rest), new)
    return copy


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, str]:
    platform = draw(st.sampled_from(sorted(BASES)))
    doc = BASES[platform]
    all_paths = paths(doc)
    for _ in range(draw(st.integers(0, 3))):
        try:  # a path may be gone after an earlier mutation
            doc = replaced(doc, draw(st.sampled_from(all_paths)), draw(JSON_ANY))
        except (KeyError, IndexError, TypeError):
            continue
    indent = draw(st.sampled_from([None, 1]))
    return platform, json.dumps(doc, ensure_ascii=draw(st.booleans()), indent=indent)


EDITS = st.sampled_from(
    [
        PostEdit.blur(["war", "a"]),
        PostEdit(body=Overlay("Warning")),
        PostEdit(body=Rewrite("<b>calm</b> ☕")),
        PostEdit.blur(["🎉", "é"]),
    ]
)


@settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    case=mutated(),
    edit=EDITS,
    images=st.sampled_from(
        [{}, {"status": "DEFERRED"}, {"status": "COMPLETED", "processedUrl": "https://r.example/x"}]
    ),
)
def test_mutated_pages_render_valid_json(case: tuple[str, str], edit: PostEdit, images: dict[str, Any]) -> None:
    platform, body = case
    try:
        doc = parse_feed(platform, body)
    except FeedParseError:
        return
    posts = doc.posts
    edits = {p.id: PostEdit(body=edit.body, images={u: images for u in p.image_urls} if images else {}) for p in posts}
    out = doc.render(edits)
    tree = json.loads(out)
    # Ids typed with marker tokens come back defanged, like every other string.
    assert [p.id for p in parse_feed(platform, out).posts] == [m.defang(p.id) for p in posts]
    if not m.contains_token(body):
        # Outside the edited posts nothing moved: the top-level keys other than the post list are equal.
        before = json.loads(body)
        if isinstance(before, dict):
            assert {k: v for k, v in before.items() if k != "feed"} == {k: v for k, v in tree.items() if k != "feed"}
    if platform == "bluesky":
        for item in tree.get("feed", []):
            record = (
                item.get("post", {}).get("record")
                if isinstance(item, dict) and isinstance(item.get("post"), dict)
                else None
            )
            if (
                isinstance(record, dict)
                and isinstance(record.get("text"), str)
                and isinstance(record.get("facets"), list)
            ):
                raw = record["text"].encode()
                for facet in record["facets"]:
                    index = facet.get("index") if isinstance(facet, dict) else None
                    if (
                        isinstance(index, dict)
                        and isinstance(index.get("byteStart"), int)
                        and isinstance(index.get("byteEnd"), int)
                    ):
                        if 0 <= index["byteStart"] <= index["byteEnd"] <= len(raw):
                            raw[index["byteStart"] : index["byteEnd"]].decode()  # never splits a character


@settings(max_examples=200, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(value=JSON_ANY, indent=st.sampled_from([None, 2]))
def test_value_spans_find_every_value(value: Any, indent: int | None) -> None:
    src = json.dumps(value, indent=indent, ensure_ascii=False)
    spans = value_spans(src)
    for path in paths(value):
        start, end = spans[path]
        node = value
        for key in path:
            node = node[key]
        assert json.loads(src[start:end]) == node
