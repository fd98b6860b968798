"""The in-repo labelled sets: the open-vocabulary development and held-out sets, and the known topics.

``bench/data/open_vocab/`` holds twelve filters on topics the lexicon was never curated for
(``filters.json``), a development set (``dev.jsonl``: thresholds and weights are fitted on it) and a
held-out set (``heldout.jsonl``: written at the same time, scored only for the final report). A second,
blind held-out set on ten other filters (``heldout2_filters.json``, ``heldout2.jsonl``) was written by an
author who never saw the matcher or the other sets; it is scored once, for the final report. Records
follow the format and labelling policy in ``bench/data/open_vocab/README.md``.
"""

from __future__ import annotations

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
