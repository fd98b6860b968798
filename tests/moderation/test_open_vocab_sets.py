"""The open-vocabulary sets are well formed and pooled as documented (shape only: nothing here runs a matcher)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from bench.open_vocab_data import (
    FINAL_FILTERS,
    FINAL_POSTS,
    OPEN_VOCAB_DIR,
    POOLED_SETS,
    author_set,
    final_set,
    pooled_development,
    pooled_filters,
)

RECORD_KEYS = {"id", "platform", "title", "body", "image_alt", "matches", "note"}
# Words that say what kind of content a filter wants, not what it is about.
KIND_WORDS = {"but", "are", "is", "fine", "of", "the", "and", "close", "up", "photo", "picture", "image",
              "result", "news", "spoiler", "announcement"}


def _read(name: str) -> Any:
    return orjson.loads((OPEN_VOCAB_DIR / name).read_bytes())


def _records(name: str = "heldout2") -> list[dict[str, Any]]:
    lines = (OPEN_VOCAB_DIR / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()
    return [orjson.loads(line) for line in lines if line.strip()]


def _about(filter_text: str) -> str:
    return filter_text.split(", but")[0]


# The later authors' sets: their name, their post ids' letter and the filter sets written before them.
LATER_SETS = [("heldout2", "b", ["filters.json"]), ("heldout3", "c", ["filters.json", "heldout2_filters.json"])]


def _topic_words(filter_text: str) -> set[str]:
    words = {w.removesuffix("s") for w in re.findall(r"[a-z0-9]+", filter_text.lower())}
    return words - KIND_WORDS


@pytest.mark.parametrize(("name", "letter", "earlier"), LATER_SETS)
def test_blind_filters_are_well_formed_and_new(name: str, letter: str, earlier: list[str]) -> None:
    filters = _read(f"{name}_filters.json")
    assert len(filters) >= 10
    assert [f["id"] for f in filters] == list(range(1, len(filters) + 1))
    for f in filters:
        assert set(f) == {"id", "filter_text", "content_type", "intensity"}
        assert f["content_type"] in ("all", "text", "image") and 1 <= f["intensity"] <= 5
    assert {f["content_type"] for f in filters} == {"all", "text", "image"}
    development = [f["filter_text"] for e in earlier for f in _read(e)]
    for f in filters:
        for other in development:
            # what the filters are about, not what their users allow ("but cartoon frogs", "but cartoon snakes")
            assert not _topic_words(_about(f["filter_text"])) & _topic_words(_about(other)), (f["filter_text"], other)


@pytest.mark.parametrize(("name", "letter", "earlier"), LATER_SETS)
def test_blind_posts_are_well_formed(name: str, letter: str, earlier: list[str]) -> None:
    filters = {f["id"]: f for f in _read(f"{name}_filters.json")}
    records = _records(name)
    assert len(records) >= 100
    assert len({r["id"] for r in records}) == len(records)
    for r in records:
        assert set(r) == RECORD_KEYS, r["id"]
        assert re.fullmatch(rf"{letter}\d{{3}}", r["id"]), r["id"]
        assert all(isinstance(r[k], str) for k in RECORD_KEYS - {"matches"}), r["id"]
        assert r["platform"] in ("reddit", "x", "twitter") and (r["platform"] == "reddit" or r["title"] == ""), r["id"]
        assert r["title"] or r["body"] or r["image_alt"], r["id"]
        assert r["matches"] == sorted(set(r["matches"])), r["id"]
        assert all(isinstance(m, int) and m in filters for m in r["matches"]), r["id"]
        # An image filter sees only image_alt, so it cannot match a post without an image.
        assert all(r["image_alt"] for m in r["matches"] if filters[m]["content_type"] == "image"), r["id"]
    for fid in filters:
        assert sum(fid in r["matches"] for r in records) >= 5, fid
    matched = sum(bool(r["matches"]) for r in records)
    assert 0.3 <= matched / len(records) <= 0.6


def test_heldout2_set_loads_what_the_files_say() -> None:
    filters, posts = author_set("heldout2")
    records = _records()
    assert [f.id for f in filters] == [f["id"] for f in _read("heldout2_filters.json")]
    assert [(lp.post.id, sorted(lp.gold), lp.post.has_image) for lp in posts] == [
        (r["id"], r["matches"], bool(r["image_alt"])) for r in records
    ]


@pytest.mark.parametrize(("text", "words"), [
    ("close-up photos of rats", {"rat"}),
    ("birds, but chickens are fine", {"bird", "chicken"}),
    ("F1 race results", {"f1", "race"}),
])
def test_topic_words_drop_kind_words(text: str, words: set[str]) -> None:
    assert _topic_words(text) == words


def test_the_pooled_development_data_keeps_78_filters_apart() -> None:
    groups = pooled_development()
    assert [g.name for g in groups] == ["dev", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6",
                                        "heldout7"]
    filters = pooled_filters(groups)
    assert [f.id for f in filters] == (list(range(1, 13)) + list(range(101, 111)) + list(range(201, 213))
                                       + list(range(301, 312)) + list(range(401, 412)) + list(range(501, 512))
                                       + list(range(601, 612)))
    posts = [lp for g in groups for lp in g.posts]
    assert len(posts) == 1152 and len({lp.post.id for lp in posts}) == 1152
    for g in groups:  # every label names a filter of the post's own set
        own = {f.id for f in g.filters}
        assert all(lp.gold <= own for lp in g.posts), g.name
    # Each later author's set keeps its own labels and filter texts, moved past the others' ids (heldout4's post ids
    # d001... repeat dev's, so they carry a prefix; the others' repeat no other set's).
    assert [p.id_offset for p in POOLED_SETS] == [100, 200, 300, 400, 500, 600]
    for group, pooled in zip(groups[2:], POOLED_SETS, strict=True):
        _, own = author_set(pooled.name)
        by = pooled.id_offset
        assert group.name == pooled.name
        assert [sorted(lp.gold) for lp in group.posts] == [sorted(m + by for m in lp.gold) for lp in own], pooled
        assert [lp.post.id for lp in group.posts] == [pooled.post_prefix + lp.post.id for lp in own], pooled
        texts = [f["filter_text"] for f in _read(f"{pooled.name}_filters.json")]
        assert [f.filter_text for f in group.filters] == texts, pooled
    assert [p.post_prefix for p in POOLED_SETS] == ["", "", "h4-", "", "", ""]


def test_the_final_set_is_read_only_when_both_files_are_there(tmp_path: Path) -> None:
    assert final_set(tmp_path) is None
    (tmp_path / FINAL_FILTERS).write_text('[{"id": 1, "filter_text": "kites", "content_type": "all", "intensity": 2}]')
    assert final_set(tmp_path) is None  # the posts are missing
    # Any platform the gateway serves loads: reddit, x and twitter (the final set's posts use twitter and reddit).
    records = [{"id": f"t{i}", "platform": platform, "title": "", "body": "my kite got stuck", "image_alt": "",
                "matches": [1], "note": ""} for i, platform in enumerate(("twitter", "reddit", "x"))]
    (tmp_path / FINAL_POSTS).write_text("".join(orjson.dumps(r).decode() + "\n" for r in records))
    loaded = final_set(tmp_path)
    assert loaded is not None
    filters, posts = loaded
    assert [f.filter_text for f in filters] == ["kites"]
    assert [(lp.post.id, sorted(lp.gold)) for lp in posts] == [("t0", [1]), ("t1", [1]), ("t2", [1])]


def test_the_final_set_is_the_eighth_blind_set() -> None:
    assert (FINAL_FILTERS, FINAL_POSTS) == ("heldout8_filters.json", "heldout8.jsonl")
