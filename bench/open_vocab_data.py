"""The in-repo labelled open-vocabulary sets: the pooled development data and the final blind set.

``bench/data/open_vocab/`` holds twelve filters on topics the lexicon was never curated for
(``filters.json``) with two sets of posts labelled against them (``dev.jsonl``, ``heldout.jsonl``), ten
other filters (``heldout2_filters.json``) with their posts (``heldout2.jsonl``, a second author), and twelve
more (``heldout3_filters.json``, ``heldout3.jsonl``, a third author), eleven more (``heldout4_filters.json``,
``heldout4.jsonl``, a fourth author), eleven more (``heldout5_filters.json``, ``heldout5.jsonl``, a fifth
author), eleven more (``heldout6_filters.json``, ``heldout6.jsonl``, a sixth author) and eleven more
(``heldout7_filters.json``, ``heldout7.jsonl``, a seventh author). Every held-out set was scored once for a report
and is development data now: the eight are pooled (``pooled_development``: 1,152 posts over 78 filters, the later
authors' filter ids moved to 101-110, 201-212, 301-311, 401-411, 501-511 and 601-611 so the 78 stay distinct);
weights and the threshold are fitted on the pool and validated leave-one-filter-out. The blind set that is scored
once, for the final report, is ``heldout8*`` (``final_set``), written by a separate author and added only at the
end. Records follow the format
and labelling policy in ``bench/data/open_vocab/README.md``; a post's ``platform`` is not read (any value the
gateway serves, "reddit", "x" or "twitter", loads alike). heldout4's post ids repeat dev's, so the pool prefixes
them ("h4-d001"); heldout5's (e001...), heldout6's (f001...) and heldout7's (g001...) repeat none and stay as
they are.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import orjson

from bench.evaluation import LabelledPost
from shared.models import Filter
from shared.moderation.types import Post

OPEN_VOCAB_DIR = Path(__file__).resolve().parent / "data" / "open_vocab"


def load_filters(path: Path = OPEN_VOCAB_DIR / "filters.json") -> list[Filter]:
    return [Filter.from_dict(d) for d in orjson.loads(path.read_bytes())]


def load_posts(path: Path) -> list[LabelledPost]:
    posts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = orjson.loads(line)
            post = Post(id=rec["id"], title=rec.get("title", ""), body=rec.get("body", ""),
                        image_alt=rec.get("image_alt", ""), has_image=bool(rec.get("image_alt")))
            posts.append(LabelledPost(post, frozenset(rec.get("matches", [])), rec.get("note", "")))
    return posts


def dev_set() -> tuple[list[Filter], list[LabelledPost]]:
    return load_filters(), load_posts(OPEN_VOCAB_DIR / "dev.jsonl")


def heldout_set() -> tuple[list[Filter], list[LabelledPost]]:
    return load_filters(), load_posts(OPEN_VOCAB_DIR / "heldout.jsonl")


def heldout2_set() -> tuple[list[Filter], list[LabelledPost]]:
    """The second author's set on new filters (its own filter ids 1-10, unrelated to ``filters.json``'s)."""
    return load_filters(OPEN_VOCAB_DIR / "heldout2_filters.json"), load_posts(OPEN_VOCAB_DIR / "heldout2.jsonl")


def heldout3_set() -> tuple[list[Filter], list[LabelledPost]]:
    """The third author's set on new filters (its own filter ids 1-12, unrelated to the others')."""
    return load_filters(OPEN_VOCAB_DIR / "heldout3_filters.json"), load_posts(OPEN_VOCAB_DIR / "heldout3.jsonl")


def heldout4_set() -> tuple[list[Filter], list[LabelledPost]]:
    """The fourth author's set on new filters (its own filter ids 1-11, unrelated to the others')."""
    return load_filters(OPEN_VOCAB_DIR / "heldout4_filters.json"), load_posts(OPEN_VOCAB_DIR / "heldout4.jsonl")


def heldout5_set() -> tuple[list[Filter], list[LabelledPost]]:
    """The fifth author's set on new filters (its own filter ids 1-11, unrelated to the others')."""
    return load_filters(OPEN_VOCAB_DIR / "heldout5_filters.json"), load_posts(OPEN_VOCAB_DIR / "heldout5.jsonl")


def heldout6_set() -> tuple[list[Filter], list[LabelledPost]]:
    """The sixth author's set on new filters (its own filter ids 1-11, unrelated to the others')."""
    return load_filters(OPEN_VOCAB_DIR / "heldout6_filters.json"), load_posts(OPEN_VOCAB_DIR / "heldout6.jsonl")


def heldout7_set() -> tuple[list[Filter], list[LabelledPost]]:
    """The seventh author's set on new filters (its own filter ids 1-11, unrelated to the others')."""
    return load_filters(OPEN_VOCAB_DIR / "heldout7_filters.json"), load_posts(OPEN_VOCAB_DIR / "heldout7.jsonl")


# The later authors' filters keep their own numbers, moved past the first twelve: 101-110, 201-212, 301-311, 401-411,
# 501-511, 601-611.
HELDOUT2_ID_OFFSET = 100
HELDOUT3_ID_OFFSET = 200
HELDOUT4_ID_OFFSET = 300
HELDOUT5_ID_OFFSET = 400
HELDOUT6_ID_OFFSET = 500
HELDOUT7_ID_OFFSET = 600
FINAL_FILTERS, FINAL_POSTS = "heldout8_filters.json", "heldout8.jsonl"


@dataclass(frozen=True)
class LabelledGroup:
    """Posts labelled against their own filters only: a post is judged against its group's filters."""

    name: str
    filters: list[Filter]
    posts: list[LabelledPost]


# heldout4's post ids (d001...) repeat dev.jsonl's: in the pool they carry this prefix (the file keeps its own).
HELDOUT4_POST_PREFIX = "h4-"


def _offset(filters: list[Filter], posts: list[LabelledPost], by: int,
            post_prefix: str = "") -> tuple[list[Filter], list[LabelledPost]]:
    return ([replace(f, id=f.id + by) for f in filters],
            [replace(lp, post=replace(lp.post, id=post_prefix + lp.post.id), gold=frozenset(g + by for g in lp.gold))
             for lp in posts])


def pooled_development() -> list[LabelledGroup]:
    """Every labelled open-vocabulary post the project may tune on: 78 filters, distinct ids, distinct post ids."""
    filters, dev = dev_set()
    _, held = heldout_set()
    filters2, held2 = _offset(*heldout2_set(), HELDOUT2_ID_OFFSET)
    filters3, held3 = _offset(*heldout3_set(), HELDOUT3_ID_OFFSET)
    filters4, held4 = _offset(*heldout4_set(), HELDOUT4_ID_OFFSET, HELDOUT4_POST_PREFIX)
    filters5, held5 = _offset(*heldout5_set(), HELDOUT5_ID_OFFSET)
    filters6, held6 = _offset(*heldout6_set(), HELDOUT6_ID_OFFSET)
    filters7, held7 = _offset(*heldout7_set(), HELDOUT7_ID_OFFSET)
    groups = [LabelledGroup("dev", filters, dev), LabelledGroup("heldout", filters, held),
              LabelledGroup("heldout2", filters2, held2), LabelledGroup("heldout3", filters3, held3),
              LabelledGroup("heldout4", filters4, held4), LabelledGroup("heldout5", filters5, held5),
              LabelledGroup("heldout6", filters6, held6), LabelledGroup("heldout7", filters7, held7)]
    post_ids = [lp.post.id for g in groups for lp in g.posts]
    if len(set(post_ids)) != len(post_ids):
        raise ValueError("post ids repeat across the pooled sets")
    return groups


def pooled_filters(groups: list[LabelledGroup]) -> list[Filter]:
    return list({f.id: f for g in groups for f in g.filters}.values())


def pooled_files() -> list[Path]:
    """The files ``pooled_development`` reads (their digest names a calibration's data)."""
    return [OPEN_VOCAB_DIR / n for n in ("filters.json", "dev.jsonl", "heldout.jsonl", "heldout2_filters.json",
                                         "heldout2.jsonl", "heldout3_filters.json", "heldout3.jsonl",
                                         "heldout4_filters.json", "heldout4.jsonl", "heldout5_filters.json",
                                         "heldout5.jsonl", "heldout6_filters.json", "heldout6.jsonl",
                                         "heldout7_filters.json", "heldout7.jsonl")]


def final_set(directory: Path = OPEN_VOCAB_DIR) -> tuple[list[Filter], list[LabelledPost]] | None:
    """The final blind set (``heldout8``), or None while it is not in ``directory``."""
    filters, posts = directory / FINAL_FILTERS, directory / FINAL_POSTS
    if not (filters.is_file() and posts.is_file()):
        return None
    return load_filters(filters), load_posts(posts)
