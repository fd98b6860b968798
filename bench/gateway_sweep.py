"""Gateway knee: the highest rate of cached 25-post /get_feed pages with p99 <= 50 ms, with one
gateway process and with two on one port.

"Cached": the page was judged once before, so every request is served from the verdict cache
(checked: the provider, a local OpenAI-protocol server, gets no call during the sweep). The load is
open-loop: request i is sent at start + i/rate whatever the earlier ones did, and its latency is
counted from that planned time, so a server that falls behind shows it instead of slowing the
client down. The load generator is one process (this one) on the same cores as the gateway and
Redis. Bounded: a fixed number of requests per trial, a cap on requests in flight, a timeout each.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

from bench.feed_bench import FILTERS, REDDIT_URL
from bench.knee import Point, Trial, describe_knee, percentile, sweep
from bench.notifier_scale import fast_runner, no_gc_pauses
from devtools.redis_server import EmbeddedRedis
from gateway.viewer.samplegen import reddit_page
from tests.fakes.openai_server import FakeOpenAI
from tests.harness import start_gateway

LADDER = [50, 100, 150, 200, 250, 300, 400, 500, 650, 800]
BOUND_MS = 50.0
MAX_IN_FLIGHT = 256
CONNECTIONS = 64
REQUEST_TIMEOUT_SECONDS = 10.0
WARM_UP_REQUESTS = 4 * CONNECTIONS


class LoadGenerator:
    """One event loop and one pool of keep-alive connections for all trials of a configuration, so
    that no trial pays for connecting."""

    def __init__(self, url: str, body: bytes) -> None:
        self.body = body
        self.runner = fast_runner()
        limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
        self.client = self.runner.run(self._client(url, limits))

    @staticmethod
    async def _client(url: str, limits: httpx.Limits) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_SECONDS)

    async def _post(self) -> int:
        r = await self.client.post("/get_feed", content=self.body, headers={"content-type": "application/json"})
        return r.status_code

    def warm_up(self, requests: int) -> None:
        """Open every connection and let every process serve (its first requests are slower)."""

        async def warm() -> None:
            for _ in range(requests // CONNECTIONS):
                await asyncio.gather(*(self._post() for _ in range(CONNECTIONS)))

        self.runner.run(warm())

    def trial(self, rate: float, seconds: float) -> Trial:
        return self.runner.run(self._offered_load(rate, seconds))

    async def _offered_load(self, rate: float, seconds: float) -> Trial:
        count = max(1, int(rate * seconds))
        latencies: list[float] = []
        failures = 0
        in_flight = asyncio.Semaphore(MAX_IN_FLIGHT)

        async def one(planned: float) -> None:
            nonlocal failures
            try:
                if await self._post() == 200:
                    latencies.append((time.perf_counter() - planned) * 1000)
                else:
                    failures += 1
            except httpx.HTTPError:
                failures += 1
            finally:
                in_flight.release()

        tasks = []
        started = time.perf_counter()
        for i in range(count):
            planned = started + i / rate
            await asyncio.sleep(max(0.0, planned - time.perf_counter()))
            try:  # a full window means the server is far behind: the trial fails, it does not stall
                await asyncio.wait_for(in_flight.acquire(), timeout=REQUEST_TIMEOUT_SECONDS)
            except TimeoutError:
                failures += count - i
                break
            tasks.append(asyncio.create_task(one(planned)))
        sending = time.perf_counter() - started
        await asyncio.gather(*tasks)
        achieved = len(tasks) / max(sending, count / rate)
        return Trial(rate, achieved, percentile(latencies, 0.5), percentile(latencies, 0.99),
                     complete=failures == 0 and len(latencies) == count)

    def close(self) -> None:
        self.runner.run(self.client.aclose())
        self.runner.close()


def measure_config(redis_url: str, fake: FakeOpenAI, log_dir: Path, processes: int, seconds: float, repeats: int,
                   ladder: list[float], label: str) -> list[Point]:
    gw = start_gateway(redis_url, log_dir, name=f"gateway-sweep-{processes}", GATEWAY_PROCESSES=str(processes),
                       LOG_LEVEL="WARNING", MODERATION_PROVIDER="openai", OPENAI_API_KEY="bench",
                       OPENAI_BASE_URL=fake.url + "/v1", FILTER_EXPANSION_PROVIDER="off")
    try:
        user = f"sweep-{uuid.uuid4().hex[:6]}"
        with httpx.Client(base_url=gw.url, timeout=60) as client:
            for text, intensity, ctype in FILTERS:
                client.post("/filters", json={"user_id": user, "filter_text": text, "intensity": intensity,
                                              "content_type": ctype}).raise_for_status()
            body = orjson.dumps({"user_id": user, "url": REDDIT_URL,
                                 "data": {"feed_info": {"response": reddit_page(25, seed=11).body}}})
            client.post("/get_feed", content=body, headers={"content-type": "application/json"}).raise_for_status()
        calls_before = len(fake.requests)
        print(f"\n{label}", flush=True)
        load = LoadGenerator(gw.url, body)
        try:
            load.warm_up(WARM_UP_REQUESTS)
            points = sweep(lambda rate: load.trial(rate, seconds), ladder, [BOUND_MS], repeats, label="pages/s",
                           unit="pages/s")
        finally:
            load.close()
        if len(fake.requests) != calls_before:
            raise RuntimeError("the provider was called during the sweep: the pages were not all cached")
        return points
    finally:
        gw.stop()


def run(seconds: float, repeats: int, ladder: list[float], process_counts: list[int]) -> None:
    no_gc_pauses()  # this process is the load generator
    print(f"\ngateway knee: cached 25-post Reddit /get_feed pages, open-loop, {seconds:.0f} s per trial, "
          f"{repeats} trials per rate")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        server.start()
        fake = FakeOpenAI()
        fake.chat.responder = lambda request: {"results": []}
        fake.start()
        try:
            for processes in process_counts:
                label = f"{processes} gateway process{'es' if processes > 1 else ''}"
                results.append((label, measure_config(server.url, fake, Path(tmp) / "logs", processes, seconds,
                                                      repeats, ladder, label)))
        finally:
            fake.stop()
            server.stop()
    print(f"\ngateway knee summary (highest rate with p99 <= {BOUND_MS:.0f} ms in every trial)")
    for label, points in results:
        print(f"{label}: {describe_knee(points, BOUND_MS, 'pages/s')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=3.0, help="sending time per trial")
    parser.add_argument("--repeats", type=int, default=2, help="trials per rate")
    parser.add_argument("--ladder", type=float, nargs="+", default=LADDER, help="rates tried, lowest first")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    run(args.seconds, args.repeats, args.ladder, args.processes)


if __name__ == "__main__":
    main()
