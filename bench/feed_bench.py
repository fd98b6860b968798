"""/get_feed: provider calls and wall time per 25-post page, side by side in one run.

* this project: one batched provider call per page (a real gateway process, the OpenAI client,
  and a local OpenAI-protocol server that answers every call after a fixed delay);
* the original's per-post strategy: three sequential calls per post (evaluate, select, apply),
  posts in parallel, against the same server;
* the same page again (verdict cache): zero calls.

Then the gateway's own time for a cached 25-post Reddit page and X page (p50/p99).
Loopback only; every loop is bounded in count.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from openai import AsyncOpenAI

from devtools.redis_server import EmbeddedRedis
from gateway.viewer.fedisamples import bluesky_timeline, mastodon_timeline
from gateway.viewer.samplegen import reddit_page, x_timeline
from tests.fakes.openai_server import FakeOpenAI
from tests.harness import start_gateway

REDDIT_URL = "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=x"
X_URL = "https://x.com/i/api/graphql/q/HomeTimeline"
MASTODON_URL = "https://mastodon.social/api/v1/timelines/home"
BLUESKY_URL = "https://bsky.social/xrpc/app.bsky.feed.getTimeline"
FILTERS = [("spiders", 2, "all"), ("war and civilian casualties", 3, "text"), ("pregnancy announcements", 4, "all")]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def per_post_strategy(base_url: str, posts: int) -> tuple[float, int]:
    client = AsyncOpenAI(api_key="bench", base_url=base_url, max_retries=0)
    calls = 0

    async def one_post(i: int) -> None:
        nonlocal calls
        for step in ("evaluate", "select", "apply"):
            await client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"{step} post {i}"}])
            calls += 1

    started = time.perf_counter()
    await asyncio.gather(*(one_post(i) for i in range(posts)))
    await client.close()
    return time.perf_counter() - started, calls


def get_feed(client: httpx.Client, user: str, url: str, body: str) -> tuple[float, dict]:
    started = time.perf_counter()
    r = client.post("/get_feed", json={"user_id": user, "url": url, "data": {"feed_info": {"response": body}}})
    elapsed = time.perf_counter() - started
    r.raise_for_status()
    return elapsed, r.json()


def moderate(client: httpx.Client, user: str, posts: list[dict[str, str]]) -> float:
    started = time.perf_counter()
    client.post("/v1/moderate", json={"user_id": user, "posts": posts}).raise_for_status()
    return time.perf_counter() - started


def run(delay: float, samples: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        redis_server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        redis_server.start()
        fake = FakeOpenAI()

        def answer(request: object) -> dict:
            time.sleep(delay)
            return {"results": []}

        fake.chat.responder = answer
        fake.start()
        gw = start_gateway(redis_server.url, Path(tmp) / "logs", MODERATION_PROVIDER="openai",
                           OPENAI_API_KEY="bench", OPENAI_BASE_URL=fake.url + "/v1",
                           FILTER_EXPANSION_PROVIDER="off")  # counts page calls only
        try:
            with httpx.Client(base_url=gw.url, timeout=60) as client:
                user = f"bench-{uuid.uuid4().hex[:6]}"
                for text, intensity, ctype in FILTERS:
                    client.post("/filters", json={"user_id": user, "filter_text": text, "intensity": intensity,
                                                  "content_type": ctype}).raise_for_status()
                page = reddit_page(25, seed=11)
                before = len(fake.requests)
                ours_s, report = get_feed(client, user, REDDIT_URL, page.body)
                ours_calls = len(fake.requests) - before
                before = len(fake.requests)
                cached_s, _ = get_feed(client, user, REDDIT_URL, page.body)
                cached_calls = len(fake.requests) - before
                before = len(fake.requests)
                orig_s, orig_calls_counted = asyncio.run(per_post_strategy(fake.url + "/v1", 25))
                orig_calls = len(fake.requests) - before
                assert orig_calls == orig_calls_counted
                print(f"\n/get_feed, 25-post Reddit page, 3 filters, provider answering in {delay * 1000:.0f} ms")
                print(f"{'strategy':<42} {'calls':>6} {'wall s':>8} {'vs ours':>8}")
                print(f"{'per post, 3 sequential calls (original)':<42} {orig_calls:>6} {orig_s:>8.2f} "
                      f"{orig_s / ours_s:>7.1f}x")
                print(f"{'one batched call per page (this project)':<42} {ours_calls:>6} {ours_s:>8.2f} {1:>7.1f}x")
                print(f"{'same page again (verdict cache)':<42} {cached_calls:>6} {cached_s:>8.3f} "
                      f"{cached_s / ours_s:>7.3f}x")

                print(f"\ngateway time for a cached 25-post page ({samples} requests each)")
                print(f"{'page':<10} {'p50 ms':>8} {'p99 ms':>8}")
                for name, url, body in (("reddit", REDDIT_URL, page.body),
                                        ("x", X_URL, x_timeline(25, seed=12).body),
                                        ("mastodon", MASTODON_URL, mastodon_timeline(25, seed=12).body),
                                        ("bluesky", BLUESKY_URL, bluesky_timeline(25, seed=12).body)):
                    get_feed(client, user, url, body)  # warm the verdict cache
                    times = [get_feed(client, user, url, body)[0] * 1000 for _ in range(samples)]
                    print(f"{name:<10} {statistics.median(times):>8.2f} {pct(times, 0.99):>8.2f}")
                sample = mastodon_timeline(25, seed=12).expected
                posts = [{"id": p.id, "title": p.title, "text": p.body} for p in sample]
                moderate(client, user, posts)  # warm the verdict cache
                times = [moderate(client, user, posts) * 1000 for _ in range(samples)]
                print(f"{'/v1/moderate':<10} {statistics.median(times):>8.2f} {pct(times, 0.99):>8.2f}")
                del report
        finally:
            gw.stop()
            fake.stop()
            redis_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.8, help="provider answer time in seconds")
    parser.add_argument("--samples", type=int, default=200)
    args = parser.parse_args()
    run(args.delay, args.samples)


if __name__ == "__main__":
    main()
