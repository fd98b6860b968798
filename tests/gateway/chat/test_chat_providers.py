"""The chat on OpenAI and Gemini, against local fakes of their APIs and the gateway app (in process).

Checks the request shape (model, structured-output schema, existing filters in the prompt, the picture),
strict reading of the answer, and that every failure is a 200 ``error`` answer with "Try again".
"""

from __future__ import annotations

import base64
import io
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from PIL import Image
from starlette.testclient import TestClient

from tests.fakes import Reply, Request, Script, garbage
from tests.fakes.gemini_server import FakeGemini
from tests.fakes.openai_server import FakeOpenAI, openai_error
from tests.gateway.chat.chatclient import ChatClient
from tests.gateway.chat.images import png
from tests.harness import make_test_jpeg
from tests.inprocess import gateway_client

READY = {
    "text": "I'll set up a filter for close-up spiders; drawings are fine.",
    "type": "ready_for_config",
    "options": [],
    "filter_data": {
        "filter_text": "close-up spiders, drawings are fine",
        "initial_type": "description",
        "content_type": "image",
        "context": None,
        "related_filters": [],
    },
}
CLARIFY = {
    "text": "Which Jordan do you mean?",
    "type": "clarify",
    "options": ["Michael Jordan", "Jordan (country)", "Jordan brand"],
    "filter_data": None,
}


def _unanswered(request: Request) -> Any:
    raise AssertionError("no answer queued for this request")


@pytest.fixture(scope="module")
def openai_fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(expected_api_key="sk-chat-test") as server:
        yield server


@pytest.fixture(scope="module")
def openai_gateway(redis_url: str, openai_fake: FakeOpenAI) -> Iterator[TestClient]:
    with gateway_client(
        redis_url,
        CHAT_PROVIDER="openai",
        OPENAI_API_KEY="sk-chat-test",
        OPENAI_BASE_URL=f"{openai_fake.url}/v1",
        OPENAI_CHAT_MODEL="chat-model-x",
        CHAT_TIMEOUT_SECONDS="2.5",
        FILTER_EXPANSION_PROVIDER="off",  # these tests count the chat's requests to the fake
    ) as client:
        yield client


@pytest.fixture(scope="module")
def gemini_fake() -> Iterator[FakeGemini]:
    with FakeGemini(expected_api_key="gm-chat-test") as server:
        yield server


@pytest.fixture(scope="module")
def gemini_gateway(redis_url: str, gemini_fake: FakeGemini) -> Iterator[TestClient]:
    with gateway_client(
        redis_url,
        CHAT_PROVIDER="gemini",
        GEMINI_API_KEY="gm-chat-test",
        GEMINI_BASE_URL=gemini_fake.url,
        GEMINI_CHAT_MODEL="gemini-chat-y",
        CHAT_TIMEOUT_SECONDS="2.5",
        FILTER_EXPANSION_PROVIDER="off",  # these tests count the chat's requests to the fake
    ) as client:
        yield client


@pytest.fixture
def openai_chat(openai_gateway: TestClient, openai_fake: FakeOpenAI) -> ChatClient:
    openai_fake.chat = Script(_unanswered)  # a fresh script per test: nothing queued leaks between tests
    openai_fake.clear()
    return ChatClient(openai_gateway)


@pytest.fixture
def gemini_chat(gemini_gateway: TestClient, gemini_fake: FakeGemini) -> ChatClient:
    gemini_fake.generate = Script(_unanswered)
    gemini_fake.clear()
    return ChatClient(gemini_gateway)


# --- OpenAI ---------------------------------------------------------------------------------------------


def test_openai_conversation_and_request_shape(openai_chat: ChatClient, openai_fake: FakeOpenAI) -> None:
    openai_chat.add_filter("pregnancy announcements")
    openai_fake.chat.push(CLARIFY, READY)

    answer = openai_chat.say("Jordan")
    assert answer["type"] == "clarify"
    assert answer["options"] == CLARIFY["options"]
    assert answer["filter_data"] is None

    answer = openai_chat.say("I don't want to see close-up spiders, drawings are fine")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "close-up spiders, drawings are fine"
    assert answer["filter_data"]["content_type"] == "image"

    first, second = openai_fake.chat_requests
    body = second.json
    assert body["model"] == "chat-model-x"
    schema = body["response_format"]["json_schema"]
    assert body["response_format"]["type"] == "json_schema" and schema["strict"] is True
    assert set(schema["schema"]["required"]) == {"text", "type", "options", "filter_data"}
    assert "ready_for_config" in schema["schema"]["properties"]["type"]["enum"]
    system = " ".join(m["content"] for m in body["messages"] if m["role"] == "system")
    assert "pregnancy announcements" in system  # the existing filters are in the prompt
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["system", "system", "user", "assistant", "user"]  # the first exchange came along
    assert body["messages"][2]["content"] == "Jordan"
    assert "Which Jordan do you mean?" in body["messages"][3]["content"]
    assert body["messages"][-1]["content"] == "I don't want to see close-up spiders, drawings are fine"
    assert first.json["messages"][-1]["content"] == "Jordan"


def test_openai_picture_is_sent_as_image_part(openai_gateway: TestClient, openai_fake: FakeOpenAI) -> None:
    openai_fake.chat = Script(_unanswered)
    openai_fake.clear()
    openai_fake.chat.push({**READY, "text": "The picture shows a large spider up close."})
    response = openai_gateway.post(
        "/chat/image",
        files={"image": ("spider.png", png((80, 60)), "image/png")},
        data={"message": "things like this", "history": "[]"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["type"] == "ready_for_config" and body["user_id"] == "default_user"

    (request,) = openai_fake.chat_requests
    content = request.json["messages"][-1]["content"]
    assert isinstance(content, list)
    text = next(p for p in content if p["type"] == "text")["text"]
    assert "things like this" in text
    url = next(p for p in content if p["type"] == "image_url")["image_url"]["url"]
    prefix = "data:image/jpeg;base64,"
    assert url.startswith(prefix)
    with Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))) as seen:
        assert seen.size == (80, 60)


def test_openai_down_gives_error_then_try_again_works(openai_chat: ChatClient, openai_fake: FakeOpenAI) -> None:
    openai_fake.chat.push(openai_error(503), openai_error(503), openai_error(503), READY)
    answer = openai_chat.say("close-up spiders, drawings are fine")
    assert answer["type"] == "error"
    assert answer["options"] == ["Try again", "Start over"]
    assert len(openai_fake.chat_requests) == 3  # retried, then gave up

    answer = openai_chat.say("Try again")
    assert answer["type"] == "ready_for_config"
    assert openai_fake.chat_requests[-1].json["messages"][-1]["content"] == "close-up spiders, drawings are fine"


def test_failed_picture_asks_for_it_again(openai_gateway: TestClient, openai_fake: FakeOpenAI) -> None:
    openai_fake.chat = Script(_unanswered)
    openai_fake.chat.push(openai_error(400, "bad image"))
    user = f"pic-{uuid.uuid4().hex[:8]}"
    response = openai_gateway.post(
        "/chat/image",
        files={"image": ("x.png", png(), "image/png")},
        data={"user_id": user},
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "error"
    chat = ChatClient(openai_gateway, user)
    chat.last = response.json()
    answer = chat.say("Try again")  # the picture was never stored, so it cannot be resent by the server
    assert answer["type"] == "clarify"
    assert "Describe it in words" in answer["options"]


def test_openai_slow_answer_times_out_into_error(openai_chat: ChatClient, openai_fake: FakeOpenAI) -> None:
    openai_fake.chat.push(Reply(json={}, delay=10))
    answer = openai_chat.say("snakes")
    assert answer["type"] == "error"
    assert "Try again" in answer["options"]


@pytest.mark.parametrize(
    "bad",
    [
        garbage(),
        "this is not JSON",
        {**READY, "type": "banana"},
        {**READY, "type": "error"},
        {**READY, "options": "Try this"},
        {**READY, "options": ["x" * 200]},
        {**READY, "filter_data": None},
        {**READY, "filter_data": {**READY["filter_data"], "initial_type": "weird"}},
        {"type": "clarify", "options": []},
    ],
)
def test_openai_garbage_answer_gives_error(openai_chat: ChatClient, openai_fake: FakeOpenAI, bad: Any) -> None:
    openai_fake.chat.push(bad)
    answer = openai_chat.say("snakes")
    assert answer["type"] == "error"
    assert answer["options"] == ["Try again", "Start over"]
    assert answer["filter_data"] is None


def test_model_proposal_that_duplicates_a_filter_is_caught(openai_chat: ChatClient, openai_fake: FakeOpenAI) -> None:
    openai_chat.add_filter("spiders")
    openai_fake.chat.push(READY)
    answer = openai_chat.say("close-up spiders, drawings are fine")
    assert answer["type"] == "clarify"
    assert "Update the existing filter" in answer["options"]
    answer = openai_chat.say("Update the existing filter")  # settled by the server, no model call
    assert answer["type"] == "complete"
    assert [f["filter_text"] for f in openai_chat.filters()] == ["close-up spiders, drawings are fine"]
    assert len(openai_fake.chat_requests) == 1


# --- Gemini ---------------------------------------------------------------------------------------------


def test_gemini_conversation_and_request_shape(gemini_chat: ChatClient, gemini_fake: FakeGemini) -> None:
    gemini_chat.add_filter("pregnancy announcements")
    gemini_fake.generate.push(
        CLARIFY, {**READY, "filter_data": {**READY["filter_data"], "filter_text": "Michael Jordan"}}
    )
    assert gemini_chat.say("Jordan")["type"] == "clarify"
    answer = gemini_chat.say("Michael Jordan")
    assert answer["type"] == "ready_for_config"
    assert answer["filter_data"]["filter_text"] == "Michael Jordan"

    _first, second = gemini_fake.generate_requests
    assert second.params == {"version": "v1beta", "model": "gemini-chat-y"}
    config = second.json["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    schema = config["responseSchema"]
    assert schema["properties"]["filter_data"]["nullable"] is True
    assert "ready_for_config" in schema["properties"]["type"]["enum"]
    assert "pregnancy announcements" in FakeGemini.system_text(second)
    roles = [c["role"] for c in second.json["contents"]]
    assert roles == ["user", "model", "user"]
    assert FakeGemini.user_text(second) == "Michael Jordan"


def test_gemini_picture_is_sent_inline(gemini_gateway: TestClient, gemini_fake: FakeGemini) -> None:
    gemini_fake.generate = Script(_unanswered)
    gemini_fake.clear()
    gemini_fake.generate.push({**CLARIFY, "text": "I see a dog and a spider. Which one?"})
    response = gemini_gateway.post(
        "/chat/image",
        files={"image": ("photo.jpg", make_test_jpeg(), "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "clarify"
    (request,) = gemini_fake.generate_requests
    parts = request.json["contents"][-1]["parts"]
    inline = next(p["inlineData"] for p in parts if "inlineData" in p)
    # The SDK writes mime_type in snake case and the bytes in URL-safe base64; the API accepts both.
    assert inline.get("mimeType", inline.get("mime_type")) == "image/jpeg"
    with Image.open(io.BytesIO(base64.urlsafe_b64decode(inline["data"]))) as seen:
        assert seen.format == "JPEG"


def test_gemini_failure_gives_error(gemini_chat: ChatClient, gemini_fake: FakeGemini) -> None:
    gemini_fake.generate.push(garbage(status=500), garbage(status=500), garbage(status=500))
    answer = gemini_chat.say("snakes")
    assert answer["type"] == "error"
    assert answer["options"] == ["Try again", "Start over"]
