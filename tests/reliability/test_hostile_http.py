"""Hostile HTTP input through a real gateway: oversized and endless bodies, deep nesting, invalid UTF-8,
huge and malformed feed HTML, X JSON of unexpected shapes (property-based: real timelines with random
subtrees swapped for random JSON). Never a 5xx, never a hang, and a canary request stays fast meanwhile."""

from __future__ import annotations

import contextlib
import json
import random
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from devtools.redis_server import EmbeddedRedis
from gateway.viewer.fedisamples import bluesky_timeline, mastodon_timeline
from gateway.viewer.samplegen import reddit_page, x_timeline
from tests.harness import Proc
from tests.reliability import procs
from tests.reliability.figures import SOAK, record, scale

REDDIT_URL = "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=x"
X_URL = "https://x.com/i/api/graphql/abc/HomeTimeline?variables=%7B%7D"
TIMEOUT = 15.0
MAX_BODY = 8 * 1024 * 1024


@pytest.fixture(scope="module")
def hostile_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, str]]:
    tmp = tmp_path_factory.mktemp("hostile-http")
    server = EmbeddedRedis(tmp / "redis")
    server.start()
    gw = procs.gateway(server.url, tmp, name="gateway-hostile")
    user = "hostile-user"
    for text in ("spiders", "war"):  # text filters: the feeds' images never become image jobs
        r = httpx.post(gw.url + "/filters", json={"user_id": user, "filter_text": text, "content_type": "text"})
        assert r.status_code == 200
    yield gw, user
    gw.stop()
    server.stop()


class Canary:
    """GET /ping every 50 ms in a thread while hostile requests run; the slowest answer is the figure."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Canary:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=TIMEOUT + 5)

    def _run(self) -> None:
        deadline = time.monotonic() + 300
        with httpx.Client(timeout=TIMEOUT) as client:
            for _ in range(20_000):
                if self._stop.is_set() or time.monotonic() > deadline:
                    return
                t0 = time.monotonic()
                try:
                    client.get(self.url + "/ping")
                except httpx.HTTPError:
                    pass
                self.latencies.append(time.monotonic() - t0)
                self._stop.wait(0.05)

    @property
    def worst(self) -> float:
        return max(self.latencies, default=0.0)


def post_raw(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, float]:
    t0 = time.monotonic()
    try:
        r = httpx.post(url, content=body, headers={"content-type": "application/json", **(headers or {})},
                       timeout=TIMEOUT)
        status = r.status_code
    except httpx.TimeoutException:
        status = -1
    except httpx.HTTPError:
        status = 0  # the server hung up on us (acceptable for an oversized upload)
    return status, time.monotonic() - t0


def feed(user: str, url: str, response: str) -> bytes:
    return json.dumps({"user_id": user, "url": url, "data": {"feed_info": {"response": response}}}).encode()


def raw_request(port: int, request: str) -> tuple[int, float]:
    """Send bytes as they are (no client fixes them up); the status of the answer, 0 if the server hung up."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(request.encode())
        try:
            line = s.recv(200).decode(errors="replace").split("\r\n", 1)[0]
        except TimeoutError:
            return -1, time.monotonic() - t0
    status = int(line.split(" ")[1]) if line.startswith("HTTP/1.1 ") else 0
    return status, time.monotonic() - t0


def endless_body(port: int, path: str, seconds: float) -> tuple[str, float]:
    """A chunked upload that never ends: the server must answer 413 once the limit is passed."""
    t0 = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as s:
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                  "Transfer-Encoding: chunked\r\n\r\n".encode())
        chunk = b"[" * 65536
        frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        deadline = t0 + seconds
        try:
            while time.monotonic() < deadline:
                s.sendall(frame)
                s.settimeout(0.0)
                with contextlib.suppress(BlockingIOError):
                    if s.recv(1, socket.MSG_PEEK):
                        break
                s.settimeout(TIMEOUT)
        except OSError:
            pass
        s.settimeout(TIMEOUT)
        try:
            head = s.recv(200).decode(errors="replace")
        except OSError:
            head = ""
    return head.split("\r\n", 1)[0], time.monotonic() - t0


def test_hostile_bodies(hostile_gateway: tuple[Proc, str]) -> None:
    gw, user = hostile_gateway
    results: dict[str, tuple[int, float]] = {}
    big_html = "<div>" * 200_000 + "<shreddit-post id='t3_x' post-title='spiders'>" * 50_000
    cases: dict[str, tuple[str, bytes]] = {
        "oversized_declared": ("/get_feed", b"x" * (MAX_BODY + 1)),
        "deep_nesting_array": ("/get_feed", b"[" * 100_000 + b"]" * 100_000),
        "deep_nesting_object": ("/filters", b'{"a":' * 50_000 + b"1" + b"}" * 50_000),
        "deep_nesting_in_data_string": ("/get_feed", json.dumps({"user_id": user, "url": X_URL,
                                                                 "data": "[" * 100_000}).encode()),
        "deep_metadata": ("/filters", json.dumps({"user_id": user, "filter_text": "deep",
                                                  "filter_metadata": json.loads('{"a":' * 200 + "1" + "}" * 200)}
                                                 ).encode()),
        "invalid_utf8_body": ("/filters", b'{"user_id": "\xff\xfe\xfd", "filter_text": "x"}'),
        "invalid_utf8_in_feed": ("/get_feed", b'{"user_id": "u", "url": "' + REDDIT_URL.encode()
                                 + b'", "data": {"feed_info": {"response": "<div>\xc3\x28\xa0\xa1</div>"}}}'),
        "lone_surrogates": ("/get_feed", feed(user, REDDIT_URL, "<shreddit-post post-title='\ud800 spiders'>")
                            .replace(b"\\ud800", b"\\udc00\\ud800")),
        "nul_bytes": ("/filters", b'{"user_id": "a\\u0000b", "filter_text": "\\u0000"}'),
        "huge_malformed_html": ("/get_feed", feed(user, REDDIT_URL, big_html[: MAX_BODY - 1000])),
        "unclosed_attributes_html": ("/get_feed", feed(user, REDDIT_URL, "<shreddit-post post-title='" * 100_000)),
        "binary_as_feed": ("/get_feed", feed(user, REDDIT_URL, random.Random(1).randbytes(500_000).decode("latin-1"))),
        "x_json_not_json": ("/get_feed", feed(user, X_URL, '{"data": {"home": ' * 10_000)),
        "huge_number": ("/filters", b'{"user_id": "u", "filter_text": "x", "intensity": 1' + b"0" * 100_000 + b"}"),
        "many_keys": ("/filters", b"{" + b",".join(b'"k%d": %d' % (i, i) for i in range(200_000)) + b"}"),
    }
    with Canary(gw.url) as canary:
        for name, (path, body) in cases.items():
            results[name] = post_raw(gw.url + path, body)
        for name, head in {
            "invalid_content_length": "Content-Length: not-a-number\r\n",
            "short_content_length": "Content-Length: 100\r\n",  # announces more than it sends, then waits
            "two_content_lengths": "Content-Length: 5\r\nContent-Length: 17\r\n",
        }.items():
            results[name] = raw_request(gw.port or 0, f"POST /filters HTTP/1.1\r\nHost: x\r\n{head}\r\n"
                                        '{"user_id": "u"}')
        head, seconds = endless_body(gw.port or 0, "/get_feed", seconds=10)
        results["endless_chunked_body"] = (int(head.split(" ")[1]) if head.startswith("HTTP/1.1 ") else 0, seconds)
    worst = max(results, key=lambda n: results[n][1])
    record("hostile_http_bodies", cases=len(results), server_errors=sum(1 for s, _ in results.values() if s >= 500),
           hangs=sum(1 for s, _ in results.values() if s == -1), slowest=worst, slowest_s=results[worst][1],
           canary_worst_s=canary.worst, statuses=",".join(f"{n}:{s}" for n, (s, _) in results.items()))
    assert all(0 < s < 500 for n, (s, _) in results.items() if n != "short_content_length"), results
    # A body shorter than announced: the server waits for the rest (like any HTTP server) but not forever.
    assert results["short_content_length"][0] == 408, results
    assert results["oversized_declared"][0] == 413 and results["endless_chunked_body"][0] == 413, results
    assert results[worst][1] < TIMEOUT
    assert canary.worst < 5.0, canary.worst


# -- property-based: X timelines and Reddit pages of unexpected shapes ----------------------------

JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False),
                      st.text(max_size=40))
JSON_ANY = st.recursive(JSON_LEAF, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                           st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                        max_leaves=20)


def paths_of(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for k, v in value.items():
            out += paths_of(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += paths_of(v, (*prefix, i))
    return out


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replaced(value[head], rest, new)}
    copy = list(value)
    copy[head] = replaced(copy[head], rest, new)
    return copy


X_BASE = json.loads(x_timeline(6, seed=5).body)
X_PATHS = paths_of(X_BASE)
REDDIT_BASE = reddit_page(6, seed=5).body


MASTODON_BASE = json.loads(mastodon_timeline(6, seed=5).body)
BLUESKY_BASE = json.loads(bluesky_timeline(6, seed=5).body)
MASTODON_URL = "https://mastodon.example/api/v1/timelines/home"
BLUESKY_URL = "https://bsky.example/xrpc/app.bsky.feed.getTimeline"


@st.composite
def mutated_json(draw: st.DrawFn, base: Any, paths: list[tuple[Any, ...]]) -> str:
    doc = base
    for _ in range(draw(st.integers(1, 4))):
        path = draw(st.sampled_from(paths))
        try:
            doc = replaced(doc, path, draw(JSON_ANY))
        except (KeyError, IndexError, TypeError):
            continue
    return json.dumps(doc, ensure_ascii=draw(st.booleans()))


def mutated_x() -> st.SearchStrategy[str]:
    return mutated_json(X_BASE, X_PATHS)


@st.composite
def mutated_reddit(draw: st.DrawFn) -> str:
    body = REDDIT_BASE
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(body)))
        cut = draw(st.integers(0, 200))
        insert = draw(st.one_of(st.text(max_size=30), st.sampled_from(
            ["<", ">", "'", '"', "</shreddit-post>", "<shreddit-post", " post-title=", "&#", "&amp", "<!--",
             "<script>", "\x00", "\ud7ff", "<img src=", "<faceplate-img"])))
        body = body[:at] + insert + body[at + cut:]
    return body


def test_feeds_of_unexpected_shapes_never_5xx(hostile_gateway: tuple[Proc, str]) -> None:
    gw, user = hostile_gateway
    statuses: dict[int, int] = {}
    slowest = [0.0]
    client = httpx.Client(timeout=TIMEOUT)

    def check(url: str, body: str) -> None:
        t0 = time.monotonic()
        r = client.post(gw.url + "/get_feed",
                        json={"user_id": user, "url": url, "data": {"feed_info": {"response": body}}})
        slowest[0] = max(slowest[0], time.monotonic() - t0)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code in (200, 400, 422), (r.status_code, r.text[:300])
        if r.status_code == 200:
            assert isinstance(r.json()["feed"]["response"], str)

    common = {"deadline": None, "database": None, "derandomize": not SOAK, "phases": [Phase.generate],
              "suppress_health_check": list(HealthCheck)}

    @settings(max_examples=scale(60, 1000), **common)
    @given(body=mutated_x())
    def x_shapes(body: str) -> None:
        check(X_URL, body)

    @settings(max_examples=scale(60, 1000), **common)
    @given(body=mutated_reddit())
    def reddit_shapes(body: str) -> None:
        check(REDDIT_URL, body)

    @settings(max_examples=scale(40, 600), **common)
    @given(body=mutated_json(MASTODON_BASE, paths_of(MASTODON_BASE)))
    def mastodon_shapes(body: str) -> None:
        check(MASTODON_URL, body)

    @settings(max_examples=scale(40, 600), **common)
    @given(body=mutated_json(BLUESKY_BASE, paths_of(BLUESKY_BASE)))
    def bluesky_shapes(body: str) -> None:
        check(BLUESKY_URL, body)

    try:
        x_shapes()
        reddit_shapes()
        mastodon_shapes()
        bluesky_shapes()
    finally:
        client.close()
        record("hostile_feed_shapes_property", requests=sum(statuses.values()),
               statuses=",".join(f"{k}:{v}" for k, v in sorted(statuses.items())),
               server_errors=sum(v for k, v in statuses.items() if k >= 500), slowest_s=slowest[0])
