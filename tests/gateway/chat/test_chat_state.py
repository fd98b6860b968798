"""The conversation lives in Redis: another gateway (a second app instance, sharing nothing but Redis)
continues it, and it expires when idle."""

from __future__ import annotations

import time
from collections.abc import Iterator

import orjson
import pytest
import redis
from starlette.testclient import TestClient

from shared.keys import conversation_key
from tests.gateway.chat.chatclient import ChatClient
from tests.inprocess import gateway_client


@pytest.fixture(scope="module")
def second_gateway(redis_url: str) -> Iterator[TestClient]:
    with gateway_client(redis_url, CHAT_STATE_TTL_SECONDS="1") as client:
        yield client


def test_second_gateway_continues_the_conversation(api: TestClient, second_gateway: TestClient) -> None:
    chat = ChatClient(api)
    assert chat.say("Jordan")["type"] == "clarify"
    # Only the stored question turns "sneakers" into the brand; the hint alone would not.
    answer = chat.say("sneakers", via=second_gateway)
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "Air Jordan sneakers and the Jordan brand"


def test_state_is_one_bounded_expiring_key(api: TestClient, redis_url: str) -> None:
    chat = ChatClient(api)
    for message in ["Jordan", "Michael Jordan", "bad stuff", "spiders", "asdf", "snakes", "clowns", "wasps", "blood"]:
        chat.say(message)
    client = redis.Redis.from_url(redis_url)
    key = conversation_key(chat.user_id)
    assert key == f"dm:u:{{{chat.user_id}}}:chat"
    assert 0 < client.ttl(key) <= 1800
    stored = orjson.loads(client.get(key))
    assert len(stored["turns"]) <= 16
    assert stored["turns"][-1]["content"].startswith("Got it.")


def test_idle_conversation_is_forgotten(second_gateway: TestClient) -> None:
    chat = ChatClient(second_gateway)
    assert chat.say("Jordan")["type"] == "clarify"
    time.sleep(1.3)  # CHAT_STATE_TTL_SECONDS=1 on this gateway
    answer = chat.say("sneakers")
    assert answer["filter_data"]["filter_text"] == "sneakers"


def test_history_from_another_conversation_replaces_the_stored_one(api: TestClient) -> None:
    chat = ChatClient(api)
    assert chat.say("Jordan")["type"] == "clarify"
    other = [{"role": "assistant", "content": "Which apple do you mean?"}]
    answer = chat.say("sneakers", history=other)
    assert answer["filter_data"]["filter_text"] == "sneakers"
