"""Scoring a moderation provider against a labelled set (read by :func:`load_eval_set`).

Each filter is a binary classifier: a post is a positive for filter *n* iff *n* is in its labels.
Undefined ratios (no predictions, no positives) count as 0.0, as scikit-learn's ``zero_division=0``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from shared.models import Filter
from shared.moderation.provider import ModerationProvider
from shared.moderation.types import Post

PAGE_SIZE = 25  # what a feed page holds, and so what one provider call judges


@dataclass(frozen=True)
class LabelledPost:
    post: Post
    gold: frozenset[int]
    note: str = ""


def load_eval_set(data_dir: Path) -> tuple[list[Filter], list[LabelledPost]]:
    """Read ``filters.json`` and ``moderation.jsonl`` from ``data_dir``."""
    filters = [Filter.from_dict(d) for d in orjson.loads((data_dir / "filters.json").read_bytes())]
    posts: list[LabelledPost] = []
    for line in (data_dir / "moderation.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        rec = orjson.loads(line)
        post = Post(
            id=rec["id"],
            title=rec.get("title", ""),
            body=rec.get("body", ""),
            image_alt=rec.get("image_alt", ""),
            has_image=bool(rec.get("image_alt")),
        )
        posts.append(LabelledPost(post, frozenset(rec.get("matches", [])), rec.get("note", "")))
    return filters, posts


def _ratio(num: int, den: int) -> float:
    return num / den if den else 0.0


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def score(
    gold: Mapping[str, Iterable[int]], predicted: Mapping[str, Iterable[int]], filter_ids: Iterable[int]
) -> dict[str, Any]:
    """Per-filter precision/recall/F1 plus micro and macro F1 over the posts in ``gold``."""
    ids = list(filter_ids)
    per_filter: dict[int, dict[str, float]] = {}
    total_tp = total_fp = total_fn = 0
    for fid in ids:
        tp = fp = fn = 0
        for post_id, labels in gold.items():
            is_gold = fid in set(labels)
            is_pred = fid in set(predicted.get(post_id, ()))
            tp += is_gold and is_pred
            fp += is_pred and not is_gold
            fn += is_gold and not is_pred
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        per_filter[fid] = {
            "tp": tp, "fp": fp, "fn": fn, "support": tp + fn,
            "precision": precision, "recall": recall, "f1": _f1(precision, recall),
        }
        total_tp, total_fp, total_fn = total_tp + tp, total_fp + fp, total_fn + fn
    micro_p, micro_r = _ratio(total_tp, total_tp + total_fp), _ratio(total_tp, total_tp + total_fn)
    return {
        "per_filter": per_filter,
        "micro": {"precision": micro_p, "recall": micro_r, "f1": _f1(micro_p, micro_r)},
        "macro_f1": sum(m["f1"] for m in per_filter.values()) / len(per_filter) if per_filter else 0.0,
    }


async def aevaluate(
    provider: ModerationProvider, posts: list[LabelledPost], filters: list[Filter], page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """Run ``provider`` over ``posts`` in pages and score it; for callers already inside a loop."""
    predicted: dict[str, list[int]] = {}
    page_ms: list[float] = []
    for start in range(0, len(posts), page_size):
        page = [lp.post for lp in posts[start : start + page_size]]
        began = time.perf_counter()
        verdicts = await provider.judge(page, filters)
        page_ms.append((time.perf_counter() - began) * 1000)
        for post in page:
            verdict = verdicts.get(post.id)
            predicted[post.id] = verdict.matched_filter_ids if verdict else []
    gold = {lp.post.id: sorted(lp.gold) for lp in posts}
    result = score(gold, predicted, [f.id for f in filters])
    result["provider"] = provider.name
    result["pages"] = len(page_ms)
    result["ms_per_page"] = sum(page_ms) / len(page_ms) if page_ms else 0.0
    # The first call may pay one-off costs (compiling the filters, opening a connection).
    warm = page_ms[1:] or page_ms
    result["ms_per_page_warm"] = sum(warm) / len(warm) if warm else 0.0
    result["predictions"] = predicted
    result["errors"] = [
        {
            "id": lp.post.id,
            "gold": sorted(lp.gold),
            "predicted": predicted[lp.post.id],
            "missed": sorted(lp.gold - set(predicted[lp.post.id])),
            "extra": sorted(set(predicted[lp.post.id]) - lp.gold),
        }
        for lp in posts
        if set(predicted[lp.post.id]) != lp.gold
    ]
    return result


def evaluate(
    provider: ModerationProvider, posts: list[LabelledPost], filters: list[Filter], page_size: int = PAGE_SIZE
) -> dict[str, Any]:
    """Synchronous :func:`aevaluate` for scripts (it starts its own event loop)."""
    return asyncio.run(aevaluate(provider, posts, filters, page_size))
