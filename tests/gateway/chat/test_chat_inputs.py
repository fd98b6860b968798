"""Bad input to POST /chat gets the gateway's 4xx envelope; a missing user id defaults as docs/protocol.md §1.2 says."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"user_id": "u"}, 422),
        ({"message": "", "user_id": "u"}, 422),
        ({"message": "   ", "user_id": "u"}, 422),
        ({"message": 5, "user_id": "u"}, 422),
        ({"message": "x" * 2001, "user_id": "u"}, 422),
        ({"message": "spiders", "history": "[]", "user_id": "u"}, 422),
        ({"message": "spiders", "history": [1], "user_id": "u"}, 422),
        ({"message": "spiders", "history": [{"role": 1, "content": "x"}], "user_id": "u"}, 422),
        ({"message": "spiders", "user_id": 7}, 422),
        (["spiders"], 422),
    ],
)
def test_bad_chat_input(api: TestClient, body: Any, status: int) -> None:
    response = api.post("/chat", json=body)
    assert response.status_code == status, response.text
    assert response.json()["status"] == "error"
    assert response.json()["message"]


def test_malformed_and_oversized_bodies(api: TestClient) -> None:
    response = api.post("/chat", content=b"{not json")
    assert response.status_code == 400
    response = api.post("/chat", content=b'{"message": "' + b"x" * 300_000 + b'"}')
    assert response.status_code == 413
    assert response.json()["status"] == "error"


def test_history_objects_and_default_user(api: TestClient) -> None:
    history = [
        {"role": "assistant", "content": {"text": "What would you like to filter?"}, "type": "initial"},
        {"role": "system", "content": "ignored"},
    ]
    response = api.post("/chat", json={"message": "wasps", "history": history})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user_id"] == "default_user"
    assert body["type"] == "ready_for_config"
    assert body["filter_data"]["filter_text"] == "wasps"
