"""Filters CRUD against the gateway app (in process) and real Redis."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import redis
from starlette.testclient import TestClient

from shared import keys


def new_user() -> str:
    return f"user-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def client(api: TestClient) -> httpx.Client:
    return api


def create(client: httpx.Client, user: str, **fields: object) -> int:
    body = {"user_id": user, "filter_text": "spiders", "intensity": 3, "content_type": "all", **fields}
    r = client.post("/filters", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "success"
    return r.json()["filter_id"]


def listed(client: httpx.Client, user: str) -> list[dict]:
    r = client.get("/filters", params={"user_id": user})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success"
    return body["filters"]


def test_create_and_list_returns_contract_shape(client: httpx.Client) -> None:
    user = new_user()
    fid = create(client, user, filter_text="close-up spiders", content_type="image", intensity=4,
                 filter_metadata={"blur_radius": 20})
    items = listed(client, user)
    assert len(items) == 1
    item = items[0]
    assert item["id"] == fid
    assert item["filter_text"] == "close-up spiders"
    assert item["content_type"] == "image"
    assert item["intensity"] == 4
    assert item["filter_metadata"] == {"blur_radius": 20}
    assert item["is_temporary"] is False and item["expires_at"] is None
    assert {"filter_type"} <= item.keys()


def test_unknown_user_is_created_on_first_sight(client: httpx.Client, redis_url: str) -> None:
    user = new_user()
    assert listed(client, user) == []
    r = redis.Redis.from_url(redis_url)
    assert r.sismember(keys.USERS_SET, user)


def test_null_intensity_means_five(client: httpx.Client) -> None:
    user = new_user()
    create(client, user, intensity=None)
    assert listed(client, user)[0]["intensity"] == 5


@pytest.mark.parametrize("duration,days", [("day", 1), ("week", 7), ("month", 30)])
def test_duration_sets_expiry(client: httpx.Client, duration: str, days: int) -> None:
    user = new_user()
    create(client, user, duration=duration)
    item = listed(client, user)[0]
    assert item["is_temporary"] is True
    expires = datetime.fromisoformat(item["expires_at"])
    expected = datetime.now(UTC) + timedelta(days=days)
    assert abs((expires - expected).total_seconds()) < 60


def test_expired_filters_are_not_returned(client: httpx.Client, redis_url: str) -> None:
    user = new_user()
    fid = create(client, user, duration="day")
    keep = create(client, user, filter_text="centipedes")
    # Age the stored filter past its expiry directly in Redis.
    r = redis.Redis.from_url(redis_url)
    import orjson

    raw = orjson.loads(r.hget(keys.user_filters_key(user), str(fid)))
    raw["expires_at"] = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    r.hset(keys.user_filters_key(user), str(fid), orjson.dumps(raw))
    assert [f["id"] for f in listed(client, user)] == [keep]
    # An expired filter cannot be updated either.
    r2 = client.put(f"/filters/{fid}", json={"user_id": user, "intensity": 2})
    assert r2.status_code == 404


def test_partial_update_changes_only_sent_fields(client: httpx.Client) -> None:
    user = new_user()
    fid = create(client, user, content_type="image", duration="week", filter_metadata={"k": 1})
    before = listed(client, user)[0]
    r = client.put(f"/filters/{fid}", json={"user_id": user, "intensity": 1})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "success"
    after = listed(client, user)[0]
    assert after["intensity"] == 1
    for unchanged in ("content_type", "expires_at", "is_temporary", "filter_text", "filter_metadata"):
        assert after[unchanged] == before[unchanged], unchanged


def test_update_with_duration_recomputes_expiry(client: httpx.Client) -> None:
    user = new_user()
    fid = create(client, user, duration="day")
    r = client.put(f"/filters/{fid}", json={"user_id": user, "filter_text": "spiders",
                                            "intensity": None, "duration": "permanent"})
    assert r.status_code == 200
    item = listed(client, user)[0]
    assert item["expires_at"] is None and item["is_temporary"] is False and item["intensity"] == 5


def test_delete_and_not_found(client: httpx.Client) -> None:
    user = new_user()
    fid = create(client, user)
    r = client.delete(f"/filters/{fid}", params={"user_id": user})
    assert r.status_code == 200 and r.json()["status"] == "success"
    assert listed(client, user) == []
    again = client.delete(f"/filters/{fid}", params={"user_id": user})
    assert again.status_code == 404
    assert again.json() == {"status": "error", "message": "Filter not found"}
    assert client.put("/filters/999999999", json={"user_id": user, "intensity": 2}).status_code == 404


def test_other_users_filter_is_not_found(client: httpx.Client) -> None:
    owner, other = new_user(), new_user()
    fid = create(client, owner)
    assert client.put(f"/filters/{fid}", json={"user_id": other, "intensity": 1}).status_code == 404
    assert client.delete(f"/filters/{fid}", params={"user_id": other}).status_code == 404
    assert listed(client, owner)[0]["intensity"] == 3
    assert listed(client, other) == []


@pytest.mark.parametrize(
    "body,status",
    [
        ({"filter_text": "x", "intensity": 3}, 400),  # no user_id
        ({"user_id": 5, "filter_text": "x"}, 422),
        ({"user_id": "u", "filter_text": 7}, 422),
        ({"user_id": "u", "filter_text": "   "}, 422),
        ({"user_id": "u", "filter_text": "x", "intensity": 9}, 422),
        ({"user_id": "u", "filter_text": "x", "intensity": "high"}, 422),
        ({"user_id": "u", "filter_text": "x", "intensity": 2.5}, 422),
        ({"user_id": "u", "filter_text": "x", "content_type": "video"}, 422),
        ({"user_id": "u", "filter_text": "x", "duration": "year"}, 422),
        ({"user_id": "u", "filter_text": "x", "filter_metadata": [1]}, 422),
        ([1, 2], 422),
    ],
)
def test_bad_input_gets_clear_errors(client: httpx.Client, body: object, status: int) -> None:
    r = client.post("/filters", json=body)
    assert r.status_code == status, r.text
    payload = r.json()
    assert payload["status"] == "error" and payload["message"]


def test_malformed_json_and_oversized_body(client: httpx.Client) -> None:
    r = client.post("/filters", content=b'{"user_id": "u", ', headers={"content-type": "application/json"})
    assert r.status_code == 400 and "malformed JSON" in r.json()["message"]
    big = b'{"user_id": "u", "filter_text": "' + b"a" * (9 * 1024 * 1024) + b'"}'
    r = client.post("/filters", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_missing_user_id_on_list_and_bad_filter_id(client: httpx.Client) -> None:
    assert client.get("/filters").status_code == 400
    assert client.put("/filters/abc", json={"user_id": "u"}).status_code == 422


def test_user_update(client: httpx.Client) -> None:
    user = new_user()
    r = client.post("/user/update", json={"user_id": user, "email": "a@example.org"})
    assert r.status_code == 200
    assert r.json()["user"] == {"id": user, "email": "a@example.org"}
    assert client.post("/user/update", json={"email": "a@example.org"}).status_code == 400


def test_ping_and_health(client: httpx.Client) -> None:
    body = client.get("/ping").json()
    assert body["status"] == "success" and body["message"] and body["timestamp"]
    assert client.get("/healthz").json()["redis"] == "ok"
