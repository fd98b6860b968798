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


def author_set(name: str) -> tuple[list[Filter], list[LabelledPost]]:
    """A later author's set on new filters, ``<name>_filters.json`` + ``<name>.jsonl`` (its own filter ids from 1,
    unrelated to ``filters.json``'s or any other set's)."""
    return load_filters(OPEN_VOCAB_DIR / f"{name}_filters.json"), load_posts(OPEN_VOCAB_DIR / f"{name}.jsonl")


@dataclass(frozen=True)
class PooledSet:
    """A later author's set as the pool holds it: filter ids moved by ``id_offset``, post ids given ``post_prefix``."""

    name: str
    id_offset: int
    post_prefix: str = ""


# The later authors' sets, pooled in the order they were written and spent. Each keeps its own filter numbers, moved
# past the first twelve; heldout4's post ids (d001...) repeat dev.jsonl's, so the pool prefixes them (the file keeps
# its own).
POOLED_SETS = (PooledSet("heldout2", 100), PooledSet("heldout3", 200), PooledSet("heldout4", 300, "h4-"),
               PooledSet("heldout5", 400), PooledSet("heldout6", 500), PooledSet("heldout7", 600))

FINAL_FILTERS, FINAL_POSTS = "heldout8_filters.json", "heldout8.jsonl"


@dataclass(frozen=True)
class LabelledGroup:
    """Posts labelled against their own filters only: a post is judged against its group's filters."""

    name: str
    filters: list[Filter]
    posts: list[LabelledPost]


def _offset(filters: list[Filter], posts: list[LabelledPost], by: int,
            post_prefix: str = "") -> tuple[list[Filter], list[LabelledPost]]:
    return ([replace(f, id=f.id + by) for f in filters],
            [replace(lp, post=replace(lp.post, id=post_prefix + lp.post.id), gold=frozenset(g + by for g in lp.gold))
             for lp in posts])


def pooled_development() -> list[LabelledGroup]:
    """Every labelled open-vocabulary post the project may tune on: 78 filters, distinct ids, distinct post ids."""
    filters, dev = dev_set()
    _, held = heldout_set()
    groups = [LabelledGroup("dev", filters, dev), LabelledGroup("heldout", filters, held)]
    for pooled in POOLED_SETS:
        groups.append(LabelledGroup(pooled.name, *_offset(*author_set(pooled.name), pooled.id_offset,
                                                          pooled.post_prefix)))
    post_ids = [lp.post.id for g in groups for lp in g.posts]
    if len(set(post_ids)) != len(post_ids):
        raise ValueError("post ids repeat across the pooled sets")
    return groups


def pooled_filters(groups: list[LabelledGroup]) -> list[Filter]:
    return list({f.id: f for g in groups for f in g.filters}.values())


def pooled_files() -> list[Path]:
    """The files ``pooled_development`` reads (their digest names a calibration's data)."""
    later = [f"{p.name}{suffix}" for p in POOLED_SETS for suffix in ("_filters.json", ".jsonl")]
    return [OPEN_VOCAB_DIR / n for n in ("filters.json", "dev.jsonl", "heldout.jsonl", *later)]


def final_set(directory: Path = OPEN_VOCAB_DIR) -> tuple[list[Filter], list[LabelledPost]] | None:
    """The final blind set (``heldout8``), or None while it is not in ``directory``."""
    filters, posts = directory / FINAL_FILTERS, directory / FINAL_POSTS
    if not (filters.is_file() and posts.is_file()):
        return None
    return load_filters(filters), load_posts(posts)
