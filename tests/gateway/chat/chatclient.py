"""A chat client that behaves like the shipped extension: one history item (the last answer), no ``type``."""

from __future__ import annotations

import uuid
from typing import Any

import httpx


def new_user() -> str:
    return f"chat-{uuid.uuid4().hex[:10]}"


class ChatClient:
    """Talks to a gateway through ``http`` (the in-process app's TestClient, or any httpx client)."""

    def __init__(self, http: httpx.Client, user_id: str | None = None) -> None:
        self.http = http
        self.user_id = user_id or new_user()
        self.last: dict[str, Any] | None = None

    def say(self, message: str, *, history: list[dict[str, Any]] | None = None,
            via: httpx.Client | None = None) -> dict:
        """Send ``message`` with the extension's history (the last answer only) unless ``history`` is given;
        ``via`` sends it to another gateway."""
        if history is None:
            history = [{"role": "assistant", "content": self.last["text"]}] if self.last else []
        body = {"message": message, "history": history, "user_id": self.user_id}
        response = (via or self.http).post("/chat", json=body)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["status"] == "success", answer
        assert answer["user_id"] == self.user_id
        assert answer["type"] in ("clarify", "ready_for_config", "complete", "initial", "error"), answer
        assert isinstance(answer["options"], list) and all(isinstance(o, str) for o in answer["options"])
        self.last = answer
        return answer

    def add_filter(self, filter_text: str) -> int:
        response = self.http.post("/filters", json={"user_id": self.user_id, "filter_text": filter_text})
        assert response.status_code == 200, response.text
        return response.json()["filter_id"]

    def filters(self) -> list[dict[str, Any]]:
        response = self.http.get("/filters", params={"user_id": self.user_id})
        assert response.status_code == 200, response.text
        return response.json()["filters"]
