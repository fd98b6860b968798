"""A moderation provider that hangs, answers 429 or 5xx, or answers garbage: /get_feed still answers 200
within its time budget (plus a margin), judged by the local fallback, never 5xx."""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from devtools.redis_server import EmbeddedRedis
from gateway.viewer.samplegen import reddit_page, x_timeline
from tests.fakes import Reply, garbage
from tests.fakes.gemini_server import FakeGemini, gemini_error
from tests.fakes.openai_server import ChatAnswer, FakeOpenAI, openai_error
from tests.reliability import procs
from tests.reliability.figures import record, scale
from tests.reliability.load import uid

BUDGET = 2.0
MARGIN = 1.5
REDDIT_URL = "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=x"
X_URL = "https://x.com/i/api/graphql/abc/HomeTimeline?variables=%7B%7D"

SCENARIOS: dict[str, Callable[[Any], Any]] = {
    "hang": lambda req: Reply(json={}, delay=30.0),
    "429": lambda req: openai_error(429, "slow down", retry_after=1),
    "500": lambda req: openai_error(500, "boom"),
    "html_garbage": lambda req: garbage(200),
    "truncated_json": lambda req: Reply(body=b'{"id": "chatcmpl-1", "choices": [{"mess'),
    "content_not_json": lambda req: ChatAnswer("sure! here are the results: spiders maybe"),
    "content_wrong_shape": lambda req: {"results": "nope", "verdicts": [1, 2, 3]},
    "refusal": lambda req: ChatAnswer(None, refusal="I can't help with that"),
    "length_cut": lambda req: ChatAnswer('{"results": [{"post_id": "t3_', finish_reason="length"),
}


GEMINI_SCENARIOS: dict[str, Callable[[Any], Any]] = {
    "hang": SCENARIOS["hang"],
    "429": lambda req: gemini_error(429, "quota", retry_delay=1),
    "500": lambda req: gemini_error(500, "boom"),
    "html_garbage": SCENARIOS["html_garbage"],
    "truncated_json": SCENARIOS["truncated_json"],
    "content_not_json": lambda req: "sure! spiders, probably",
}


def feed_request(gateway_url: str, user: str, seed: int) -> httpx.Response:
    if seed % 2:
        body = {"user_id": user, "url": X_URL, "data": {"feed_info": {"response": x_timeline(10, seed=seed).body}}}
    else:
        page = reddit_page(10, seed=seed).body
        body = {"user_id": user, "url": REDDIT_URL, "data": {"feed_info": {"response": page}}}
    return httpx.post(gateway_url + "/get_feed", json=body, timeout=BUDGET * 5)


def run_scenarios(gateway_url: str, set_responder: Callable[[Callable[[Any], Any]], None],
                  scenarios: dict[str, Callable[[Any], Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for n, (name, responder) in enumerate(scenarios.items()):
        set_responder(responder)
        users = [uid(f"prov-{name}") for _ in range(scale(3, 12))]
        for u in users:
            r = httpx.post(gateway_url + "/filters", json={"user_id": u, "filter_text": "spiders", "intensity": 3,
                                                           "content_type": "text"})
            assert r.status_code == 200
        started = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(len(users)) as pool:
            seeds = [1000 * n + i for i in range(len(users))]
            timed = list(pool.map(lambda u, s: _timed(gateway_url, u, s), users, seeds))
        out[name] = {
            "requests": len(timed),
            "non_200": sum(1 for r, _ in timed if r.status_code != 200),
            "server_errors": sum(1 for r, _ in timed if r.status_code >= 500),
            "latency_s_max": max(s for _, s in timed),
            "fallbacks": sum(1 for r, _ in timed if r.status_code == 200 and r.json()["moderation"].get("fallback")),
            "wall_s": time.monotonic() - started,
        }
    return out


def _timed(gateway_url: str, user: str, seed: int) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = feed_request(gateway_url, user, seed)
    return response, time.monotonic() - started


# Faults of the page judge only; a failing filter expansion (its own fault tests: tests/gateway) stays out.
PAGE_CALLS_ONLY = {"FILTER_EXPANSION_PROVIDER": "off"}


def test_openai_provider_faults_never_break_the_feed(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    with FakeOpenAI() as fake:
        gw = procs.gateway(own_redis.url, tmp_path, MODERATION_PROVIDER="openai", OPENAI_API_KEY="sk-test",
                           OPENAI_BASE_URL=f"{fake.url}/v1", FEED_TIME_BUDGET_SECONDS=str(BUDGET), **PAGE_CALLS_ONLY)
        try:
            results = run_scenarios(gw.url, lambda f: setattr(fake.chat, "responder", f), SCENARIOS)
        finally:
            gw.stop()
    _check("openai", results)


def test_gemini_provider_faults_never_break_the_feed(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    with FakeGemini() as fake:
        gw = procs.gateway(own_redis.url, tmp_path, MODERATION_PROVIDER="gemini", GEMINI_API_KEY="test-key",
                           GEMINI_BASE_URL=fake.url, FEED_TIME_BUDGET_SECONDS=str(BUDGET), **PAGE_CALLS_ONLY)
        try:
            results = run_scenarios(gw.url, lambda f: setattr(fake.generate, "responder", f), GEMINI_SCENARIOS)
        finally:
            gw.stop()
    _check("gemini", results)


def _check(provider: str, results: dict[str, dict[str, Any]]) -> None:
    worst = max(results, key=lambda n: results[n]["latency_s_max"])
    record(f"provider_faults_{provider}", budget_s=BUDGET, scenarios=len(results),
           requests=sum(f["requests"] for f in results.values()),
           non_200=sum(f["non_200"] for f in results.values()),
           server_errors=sum(f["server_errors"] for f in results.values()),
           fallbacks=sum(f["fallbacks"] for f in results.values()),
           latency_s_max=results[worst]["latency_s_max"], slowest=worst)
    for name, figures in results.items():
        assert figures["server_errors"] == 0 and figures["non_200"] == 0, (name, figures)
        assert figures["latency_s_max"] < BUDGET + MARGIN, (name, figures)
        assert figures["fallbacks"] == figures["requests"], (name, figures)
