"""The in-repo labelled open-vocabulary sets: the pooled development data and the final blind set.

``bench/data/open_vocab/`` holds twelve filters on topics the lexicon was never curated for
(``filters.json``) with two sets of posts labelled against them (``dev.jsonl``, ``heldout.jsonl``), and
ten other filters (``heldout2_filters.json``) with their posts (``heldout2.jsonl``, written by another
author). Both held-out sets were scored once for a report and are development data now: the three are
pooled (``pooled_development``: 341 posts over 22 filters, the second author's filter ids moved to
101-110 so the 22 stay distinct); weights and the threshold are fitted on the pool and validated
leave-one-filter-out. The blind set that is scored once, for the final report, is ``heldout3*``
(``final_set``), written by a separate author and added only at the end. Records follow the format and
labelling policy in ``bench/data/open_vocab/README.md``.
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
    """The blind held-out set on new filters (its own filter ids 1-10, unrelated to ``filters.json``'s)."""
    return load_filters(OPEN_VOCAB_DIR / "heldout2_filters.json"), load_posts(OPEN_VOCAB_DIR / "heldout2.jsonl")


# The second author's filters keep their own numbers, moved past the first twelve: 101-110.
HELDOUT2_ID_OFFSET = 100
FINAL_FILTERS, FINAL_POSTS = "heldout3_filters.json", "heldout3.jsonl"


@dataclass(frozen=True)
class LabelledGroup:
    """Posts labelled against their own filters only: a post is judged against its group's filters."""

    name: str
    filters: list[Filter]
    posts: list[LabelledPost]


def _offset(filters: list[Filter], posts: list[LabelledPost], by: int) -> tuple[list[Filter], list[LabelledPost]]:
    return ([replace(f, id=f.id + by) for f in filters],
            [replace(lp, gold=frozenset(g + by for g in lp.gold)) for lp in posts])


def pooled_development() -> list[LabelledGroup]:
    """Every labelled open-vocabulary post the project may tune on: 22 filters, distinct ids, distinct post ids."""
    filters, dev = dev_set()
    _, held = heldout_set()
    filters2, held2 = _offset(*heldout2_set(), HELDOUT2_ID_OFFSET)
    groups = [LabelledGroup("dev", filters, dev), LabelledGroup("heldout", filters, held),
              LabelledGroup("heldout2", filters2, held2)]
    post_ids = [lp.post.id for g in groups for lp in g.posts]
    if len(set(post_ids)) != len(post_ids):
        raise ValueError("post ids repeat across the pooled sets")
    return groups


def pooled_filters(groups: list[LabelledGroup]) -> list[Filter]:
    return list({f.id: f for g in groups for f in g.filters}.values())


def pooled_files() -> list[Path]:
    """The files ``pooled_development`` reads (their digest names a calibration's data)."""
    return [OPEN_VOCAB_DIR / n for n in ("filters.json", "dev.jsonl", "heldout.jsonl", "heldout2_filters.json",
                                         "heldout2.jsonl")]


def final_set(directory: Path = OPEN_VOCAB_DIR) -> tuple[list[Filter], list[LabelledPost]] | None:
    """The final blind set (``heldout3``), or None while it is not in ``directory``."""
    filters, posts = directory / FINAL_FILTERS, directory / FINAL_POSTS
    if not (filters.is_file() and posts.is_file()):
        return None
    return load_filters(filters), load_posts(posts)
