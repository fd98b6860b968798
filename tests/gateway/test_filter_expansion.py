"""Filter expansion with a cloud key: one call per distinct filter text, in the background of a save, cached in
real Redis for every user, used by the offline matcher through /get_feed and sent to the cloud page judges.
The providers are the local fakes of the OpenAI and Gemini APIs (tests/fakes); nothing leaves 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import redis
import redis.asyncio as aioredis
from starlette.applications import Starlette
from starlette.testclient import TestClient

from gateway.app import create_app, wrap_asgi
from gateway.expansions import FilterExpansions
from gateway.feed_judge import filter_signature
from gateway.moderation.expansion_clients import OpenAIExpander
from gateway.moderation.filter_expansion import PROMPT_VERSION, SCHEMA_NAME, filter_message, make_expander
from gateway.moderation.page_prompt import page_document, render_page
from gateway.viewer.fedisamples import mastodon_timeline
from gateway.viewer.samples import REQUEST_URLS
from shared.config import ConfigError, load_settings
from shared.keys import filter_expansion_claim_key, filter_expansion_key
from shared.models import Filter
from shared.moderation.expansion import normalise_filter_text, parse_expansion
from shared.moderation.types import Post
from tests.fakes import Request, garbage
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI, openai_error
from tests.gateway.test_get_feed import add_filter, get_feed
from tests.inprocess import BASE_URL, settings_for

pytestmark = pytest.mark.timeout(60)

KEY = "test-key-expansion"
FILTER = "Project Aurora"
# Matches "Project Aurora" only through the expansion: no word of the filter appears in it.
AURORA_POST = "Ugh, the satellite launch slipped again. Now they are saying March at the earliest."
UNRELATED_POST = "Made a big pot of lentil soup for the week, freezing half of it."
EXPANSION = {
    "descriptions": ["news about the delayed satellite constellation launch programme"],
    "exclusions": ["the northern lights", "the Aurora browser"],
    "examples": ["the satellite launch schedule slipped again, now they say spring"],
    "passing_mention_counts": True,
}


@dataclass
class Gateway:
    client: TestClient
    app: Starlette

    def drain(self) -> None:
        """Wait for the expansions under way (they run in the app's event loop, after the save answered)."""
        self.client.portal.call(self.app.state.expansions.drain)  # type: ignore[union-attr]


@contextlib.contextmanager
def gateway(redis_url: str, **env: str) -> Iterator[Gateway]:
    app = create_app(settings_for(redis_url, **env))
    with TestClient(wrap_asgi(app), base_url=BASE_URL) as client:
        yield Gateway(client, app)


def openai_env(server: FakeOpenAI, **extra: str) -> dict[str, str]:
    return {"OPENAI_API_KEY": KEY, "OPENAI_BASE_URL": f"{server.url}/v1", "FILTER_EXPANSION_PROVIDER": "openai",
            **extra}


def is_expansion(request: Request) -> bool:
    return request.json.get("response_format", {}).get("json_schema", {}).get("name") == SCHEMA_NAME


def expansion_requests(server: FakeOpenAI) -> list[Request]:
    return [r for r in server.chat_requests if is_expansion(r)]


@pytest.fixture
def fresh(redis_url: str) -> Iterator[redis.Redis]:
    """Redis with no expansion (nor claim) of FILTER left from another test: every test asks anew."""
    client = redis.Redis.from_url(redis_url)
    text = normalise_filter_text(FILTER)
    client.delete(filter_expansion_key(PROMPT_VERSION, text), filter_expansion_claim_key(PROMPT_VERSION, text))
    yield client
    client.close()


def mastodon_page(*texts: str) -> tuple[str, list[str]]:
    """A Mastodon home timeline whose statuses say ``texts`` (no CWs, no media, no boosts); and their ids."""
    statuses = json.loads(mastodon_timeline(len(texts), seed=3).body)
    for status, text in zip(statuses, texts, strict=True):
        status.update(content=f"<p>{text}</p>", spoiler_text="", sensitive=False, media_attachments=[], reblog=None)
    return json.dumps(statuses), [s["id"] for s in statuses]


def matched_posts(client: TestClient, uid: str, *texts: str) -> dict[str, list[dict[str, Any]]]:
    """Post text -> matches, for a /get_feed of a page holding ``texts``."""
    body, ids = mastodon_page(*texts)
    r = get_feed(client, uid, REQUEST_URLS["mastodon"], body)
    assert r.status_code == 200, r.text
    changed = {c["post_id"]: c["matches"] for c in r.json()["moderation"]["changed"]}
    return {text: changed[pid] for text, pid in zip(texts, ids, strict=True) if pid in changed}


def user() -> str:
    return f"fx-{uuid.uuid4().hex[:10]}"


def expansions_counted(client: TestClient, outcome: str) -> float:
    """``gateway_filter_expansions_total{outcome=...}`` on /metrics (the registry is shared by in-process apps)."""
    prefix = f'gateway_filter_expansions_total{{outcome="{outcome}"}} '
    found = [line[len(prefix):] for line in client.get("/metrics").text.splitlines() if line.startswith(prefix)]
    return float(found[0]) if found else 0.0


def test_the_cloud_page_document_carries_the_expansion_only_where_there_is_one() -> None:
    aurora = Filter(id=0, filter_text="Project Aurora", intensity=3, content_type="text")
    plain = Filter(id=1, filter_text="sharks", intensity=2, content_type="all")
    expansion = parse_expansion(EXPANSION)
    doc = page_document(render_page([Post("p1", body="hello")], [aurora, plain], {"project aurora": expansion}))
    by_id = {f["id"]: f for f in doc["filters"]}
    assert by_id[0]["means"] == list(expansion.descriptions)
    assert by_id[0]["example_posts"] == list(expansion.examples)
    assert by_id[0]["never_counts"] == list(expansion.exclusions)
    assert by_id[0]["one_sentence_is_enough"] is True  # the model said a passing mention counts
    assert by_id[1] == page_document(render_page([], [plain]))["filters"][0]  # unexpanded: as before
    assert not {"means", "example_posts", "never_counts"} & set(by_id[1])


def test_an_expansion_changes_the_verdict_cache_signature_of_its_filter_only() -> None:
    filters = [Filter(id=0, filter_text="Project Aurora"), Filter(id=1, filter_text="sharks")]
    expansion = parse_expansion(EXPANSION)
    assert filter_signature(filters, {}) == filter_signature(filters)
    assert filter_signature(filters, {"unrelated": expansion}) == filter_signature(filters)
    with_it = filter_signature(filters, {"project aurora": expansion})
    assert with_it != filter_signature(filters)
    other = parse_expansion({**EXPANSION, "examples": ["another phrasing of it"]})
    assert filter_signature(filters, {"project aurora": other}) != with_it


def test_no_key_or_off_means_no_expander() -> None:
    assert make_expander(load_settings({})) is None
    assert make_expander(load_settings({"OPENAI_API_KEY": "k", "FILTER_EXPANSION_PROVIDER": "off"})) is None
    with pytest.raises(ConfigError):
        make_expander(load_settings({"FILTER_EXPANSION_PROVIDER": "gemini"}))
    with pytest.raises(ConfigError):
        load_settings({"FILTER_EXPANSION_PROVIDER": "sometimes"})


def test_two_users_saving_the_same_filter_make_one_call(redis_url: str, fresh: redis.Redis) -> None:
    with FakeOpenAI(expected_api_key=KEY) as server, gateway(redis_url, **openai_env(server)) as gw:
        server.chat.push(EXPANSION)
        stored = expansions_counted(gw.client, "stored")
        add_filter(gw.client, user(), FILTER, 3)
        add_filter(gw.client, user(), "  project aurora. ", 2)  # the same text, normalised
        gw.drain()
        add_filter(gw.client, user(), "PROJECT AURORA", 1)  # cached by now: nothing to ask
        gw.drain()
        [request] = expansion_requests(server)
        assert expansions_counted(gw.client, "stored") == stored + 1
        assert FakeOpenAI.message_text(request, "user") == filter_message("project aurora")
        assert request.json["response_format"]["json_schema"]["strict"] is True
        key = filter_expansion_key(PROMPT_VERSION, "project aurora")
        assert parse_expansion(fresh.get(key)) == parse_expansion(EXPANSION)
        assert 0 < fresh.ttl(key) <= 30 * 24 * 3600
        assert not fresh.exists(filter_expansion_claim_key(PROMPT_VERSION, "project aurora"))


async def test_concurrent_saves_in_two_processes_make_one_call(redis_url: str, fresh: redis.Redis) -> None:
    """Two gateway processes (two FilterExpansions, two Redis connections) asked at once: the SET NX claim wins."""
    answer = threading.Event()

    def held(request: Request) -> Any:
        answer.wait(10)
        return EXPANSION

    with FakeOpenAI(expected_api_key=KEY) as server:
        server.chat.responder = held
        clients = [aioredis.Redis.from_url(redis_url) for _ in range(2)]
        processes = [FilterExpansions(c, OpenAIExpander(KEY, "gpt-4o-mini", f"{server.url}/v1"), None,
                                      ttl_seconds=600, retry_seconds=60) for c in clients]
        try:
            first, second = processes
            first.schedule(FILTER)
            for _ in range(500):  # until the first process has claimed the text and asked the model
                if server.chat_requests:
                    break
                await asyncio.sleep(0.01)
            second.schedule(FILTER.lower())
            await second.drain()  # it finds the claim and asks nothing
            answer.set()
            await first.drain()
            assert len(server.chat_requests) == 1 and (first.calls, second.calls) == (1, 0)
            for process in processes:  # both read the one answer
                assert await process.lookup([FILTER]) == {"project aurora": parse_expansion(EXPANSION)}
        finally:
            answer.set()
            for process, client in zip(processes, clients, strict=True):
                await process.aclose()
                await client.aclose()


def test_get_feed_catches_a_post_only_through_the_cached_expansion(redis_url: str, fresh: redis.Redis,
                                                                   api: TestClient) -> None:
    with FakeOpenAI(expected_api_key=KEY) as server, gateway(redis_url, **openai_env(server)) as gw:
        server.chat.push(EXPANSION)
        uid = user()
        add_filter(gw.client, uid, FILTER, 3)
        gw.drain()
        with_expansion = matched_posts(gw.client, uid, AURORA_POST, UNRELATED_POST)
        assert list(with_expansion) == [AURORA_POST]
        [match] = with_expansion[AURORA_POST]
        assert "satellite" in match["reason"]  # the nearest expanded phrasing says why
        assert len(expansion_requests(server)) == 1  # the feed read the cache; it asked nothing

    # The same filter on a gateway without a key: the rule-compiled concept alone does not reach the post.
    other = user()
    add_filter(api, other, FILTER, 3)
    assert matched_posts(api, other, AURORA_POST, UNRELATED_POST) == {}


@pytest.mark.parametrize("failure", ["down", "garbage", "wrong types", "slow"])
def test_a_failing_provider_never_fails_or_holds_the_save(redis_url: str, fresh: redis.Redis,
                                                          caplog: pytest.LogCaptureFixture, failure: str) -> None:
    release = threading.Event()

    def slow(request: Request) -> Any:
        release.wait(10)
        return EXPANSION

    answers: dict[str, Any] = {
        "down": lambda request: openai_error(503, "overloaded"),
        "garbage": lambda request: garbage(),
        "wrong types": lambda request: {**EXPANSION, "descriptions": "not a list", "passing_mention_counts": "yes"},
        "slow": slow,
    }
    caplog.set_level(logging.WARNING, logger="gateway.expansions")
    with FakeOpenAI(expected_api_key=KEY) as server, \
            gateway(redis_url, **openai_env(server, FILTER_EXPANSION_TIMEOUT_SECONDS="1")) as gw:
        server.chat.responder = answers[failure]
        failed = expansions_counted(gw.client, "failed")
        uid = user()
        try:
            add_filter(gw.client, uid, FILTER, 3)
            if failure == "slow":  # the save has answered; the model has not
                assert not release.is_set() and gw.app.state.expansions._tasks
            gw.drain()
        finally:
            release.set()
        assert any("filter expansion of 'project aurora' failed" in r.getMessage() for r in caplog.records)
        assert expansions_counted(gw.client, "failed") == failed + 1
        asked = len(expansion_requests(server))
        assert asked >= 1
        assert not fresh.exists(filter_expansion_key(PROMPT_VERSION, "project aurora"))
        # The failure pauses the text: saving it again (or reading a feed) asks nothing for a while.
        assert fresh.get(filter_expansion_claim_key(PROMPT_VERSION, "project aurora")) == b"failed"
        add_filter(gw.client, user(), FILTER, 2)
        assert matched_posts(gw.client, uid, AURORA_POST) == {}  # the rule-compiled concept decides
        gw.drain()
        assert len(expansion_requests(server)) == asked


def test_no_key_means_no_call(redis_url: str, fresh: redis.Redis) -> None:
    with FakeOpenAI() as server, FakeGemini() as gemini, \
            gateway(redis_url, OPENAI_BASE_URL=f"{server.url}/v1", GEMINI_BASE_URL=gemini.url) as gw:
        assert gw.app.state.expansions is None
        uid = user()
        add_filter(gw.client, uid, FILTER, 3)
        matched_posts(gw.client, uid, AURORA_POST)
        assert server.requests == [] and gemini.requests == []
        assert not fresh.exists(filter_expansion_key(PROMPT_VERSION, "project aurora"))


def _page_filter(document: dict[str, Any]) -> dict[str, Any]:
    [found] = document["filters"]
    return found


def test_openai_page_prompt_carries_the_expansion(redis_url: str, fresh: redis.Redis) -> None:
    pages: list[dict[str, Any]] = []

    def answer(request: Request) -> Any:
        if is_expansion(request):
            return EXPANSION
        pages.append(page_document(FakeOpenAI.message_text(request, "user")))
        return {"results": []}

    with FakeOpenAI(expected_api_key=KEY) as server, \
            gateway(redis_url, **openai_env(server, MODERATION_PROVIDER="openai")) as gw:
        server.chat.responder = answer
        uid = user()
        add_filter(gw.client, uid, FILTER, 3)
        gw.drain()
        matched_posts(gw.client, uid, AURORA_POST, UNRELATED_POST)
    sent = _page_filter(pages[-1])
    assert sent["means"] == EXPANSION["descriptions"]
    assert sent["example_posts"] == EXPANSION["examples"]
    assert sent["never_counts"] == EXPANSION["exclusions"]
    assert sent["one_sentence_is_enough"] is True


def test_gemini_expands_with_its_schema_and_its_page_prompt_carries_the_expansion(
        redis_url: str, fresh: redis.Redis) -> None:
    pages: list[dict[str, Any]] = []

    def answer(request: Request) -> Any:
        if "FILTER_JSON" in FakeGemini.user_text(request):
            return EXPANSION
        pages.append(page_document(FakeGemini.user_text(request)))
        return {"results": []}

    env = {"GEMINI_API_KEY": KEY, "GEMINI_BASE_URL": "", "MODERATION_PROVIDER": "gemini",
           "FILTER_EXPANSION_PROVIDER": "gemini"}
    with FakeGemini(expected_api_key=KEY) as server:
        env["GEMINI_BASE_URL"] = server.url
        with gateway(redis_url, **env) as gw:
            server.generate.responder = answer
            uid = user()
            add_filter(gw.client, uid, FILTER, 3)
            add_filter(gw.client, user(), FILTER.upper(), 2)
            gw.drain()
            matched_posts(gw.client, uid, AURORA_POST)
        asks = [r for r in server.generate_requests if "FILTER_JSON" in FakeGemini.user_text(r)]
    assert len(asks) == 1
    config = asks[0].json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert set(config["responseSchema"]["properties"]) == set(EXPANSION)
    sent = _page_filter(pages[-1])
    assert (sent["means"], sent["example_posts"], sent["never_counts"]) == (
        EXPANSION["descriptions"], EXPANSION["examples"], EXPANSION["exclusions"])


def test_a_cached_expansion_is_validated_again_when_read(redis_url: str, fresh: redis.Redis) -> None:
    """Redis is shared: an entry that is not a valid expansion (written by anything) is ignored, not trusted."""
    fresh.set(filter_expansion_key(PROMPT_VERSION, "project aurora"),
              orjson.dumps({**EXPANSION, "descriptions": ["<img src=x onerror=alert(1)>"], "examples": []}))
    with FakeOpenAI(expected_api_key=KEY) as server, gateway(redis_url, **openai_env(server)) as gw:
        server.chat.responder = lambda request: openai_error(400, "not now")
        uid = user()
        add_filter(gw.client, uid, FILTER, 3)
        gw.drain()
        assert matched_posts(gw.client, uid, AURORA_POST) == {}


def test_a_reply_with_markup_is_cleaned_before_anyone_sees_it(redis_url: str, fresh: redis.Redis) -> None:
    hostile = {**EXPANSION, "descriptions": ["<script>alert(1)</script>", *EXPANSION["descriptions"]],
               "examples": [*EXPANSION["examples"], "x" * 500] + [f"filler {i}" for i in range(40)]}
    with FakeOpenAI(expected_api_key=KEY) as server, gateway(redis_url, **openai_env(server)) as gw:
        server.chat.push(hostile)
        add_filter(gw.client, user(), FILTER, 3)
        gw.drain()
    stored = orjson.loads(fresh.get(filter_expansion_key(PROMPT_VERSION, "project aurora")))
    assert stored["descriptions"] == EXPANSION["descriptions"]
    assert len(stored["examples"]) == 6 and stored["examples"][0] == EXPANSION["examples"][0]
    assert all(len(e) <= 160 for e in stored["examples"])



async def test_a_page_reads_its_expansions_with_one_mget_then_from_memory(redis_url: str, fresh: redis.Redis) -> None:
    fresh.set(filter_expansion_key(PROMPT_VERSION, "project aurora"), parse_expansion(EXPANSION).to_json())
    unexpanded = f"never expanded {uuid.uuid4().hex[:8]}"
    fresh.set(filter_expansion_claim_key(PROMPT_VERSION, unexpanded), b"failed", ex=60)  # paused: not asked

    def mgets() -> int:
        return int(fresh.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))

    with FakeOpenAI(expected_api_key=KEY) as server:
        client = aioredis.Redis.from_url(redis_url)
        expansions = FilterExpansions(client, OpenAIExpander(KEY, "gpt-4o-mini", f"{server.url}/v1"), None,
                                      ttl_seconds=600, retry_seconds=60)
        try:
            before = mgets()
            first = await expansions.lookup([FILTER, unexpanded, "project aurora."])
            assert mgets() - before == 1
            again = await expansions.lookup([FILTER, unexpanded])  # next page: nothing read
            assert mgets() - before == 1
            assert first == again == {"project aurora": parse_expansion(EXPANSION)}
            await expansions.drain()
            assert server.requests == []  # the unexpanded text is paused after a failure elsewhere
        finally:
            await expansions.aclose()
            await client.aclose()


def test_a_filter_saved_before_the_key_is_expanded_when_a_feed_first_reads_it(redis_url: str, fresh: redis.Redis,
                                                                              api: TestClient) -> None:
    uid = user()
    add_filter(api, uid, FILTER, 3)  # a gateway without a key (or /chat, which saves without this route)
    with FakeOpenAI(expected_api_key=KEY) as server, gateway(redis_url, **openai_env(server)) as gw:
        server.chat.push(EXPANSION)
        assert matched_posts(gw.client, uid, AURORA_POST) == {}  # not expanded yet: asked for now
        gw.drain()
        assert len(expansion_requests(server)) == 1
        assert list(matched_posts(gw.client, uid, AURORA_POST)) == [AURORA_POST]
