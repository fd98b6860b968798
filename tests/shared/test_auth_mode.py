"""AUTH_MODE=token: signed tokens on the gateway's user routes and on notifier sockets (both apps in
process, real Redis)."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from starlette.testclient import TestClient

from shared.auth import AuthError, TokenVerifier, mint
from shared.config import load_settings
from tests.harness import ROOT
from tests.inprocess import AppSocket, gateway_client, notifier_client

SECRET = "test-secret-" + uuid.uuid4().hex
ENV = {"AUTH_MODE": "token", "AUTH_SECRET": SECRET, "WS_HEARTBEAT_SECONDS": "1.5"}
SETTINGS = load_settings(ENV)


@dataclass
class TokenStack:
    gateway: TestClient
    notifier: TestClient


@pytest.fixture(scope="module")
def token_stack(redis_url: str) -> Iterator[TokenStack]:
    with gateway_client(redis_url, **ENV) as gw, notifier_client(redis_url, **ENV) as nt:
        yield TokenStack(gw, nt)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_verifier_refuses_forged_expired_and_alg_none() -> None:
    v = TokenVerifier(SETTINGS)
    assert v.verify(mint(SETTINGS, "alice")).user_id == "alice"
    now = int(time.time())
    wrong_key = "wrong-secret-that-is-long-enough-for-hs256"
    forged = jwt.encode({"sub": "alice", "exp": now + 60, "iss": "diymod"}, wrong_key, algorithm="HS256")
    expired = jwt.encode({"sub": "alice", "exp": now - 60, "iss": "diymod"}, SECRET, algorithm="HS256")
    unsigned = jwt.encode({"sub": "alice", "exp": now + 60, "iss": "diymod"}, None, algorithm="none")
    no_exp = jwt.encode({"sub": "alice", "iss": "diymod"}, SECRET, algorithm="HS256")
    for bad in (forged, expired, unsigned, no_exp, "garbage", ""):
        with pytest.raises(AuthError):
            v.verify(bad)


def test_gateway_user_routes_need_the_users_own_token(token_stack: TokenStack) -> None:
    gw = token_stack.gateway
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    ta, tb = mint(SETTINGS, alice), mint(SETTINGS, bob)
    assert gw.get("/filters", params={"user_id": alice}).status_code == 401
    assert gw.get("/filters", params={"user_id": alice}, headers={"Authorization": ""}).status_code == 401
    r = gw.post("/filters", json={"user_id": alice, "filter_text": "spiders"}, headers=auth(ta))
    assert r.status_code == 200, r.text
    fid = r.json()["filter_id"]
    # Bob's token cannot read, change or delete Alice's filters, whatever user_id he claims.
    assert gw.get("/filters", params={"user_id": alice}, headers=auth(tb)).status_code == 403
    assert gw.get("/filters", headers=auth(tb)).json()["filters"] == []
    assert gw.put(f"/filters/{fid}", json={"intensity": 1}, headers=auth(tb)).status_code == 404
    assert gw.delete(f"/filters/{fid}", headers=auth(tb)).status_code == 404
    assert gw.delete(f"/filters/{fid}", params={"user_id": alice}, headers=auth(tb)).status_code == 403
    # Alice, without repeating her id, sees her filter.
    listed = gw.get("/filters", headers=auth(ta)).json()["filters"]
    assert [f["id"] for f in listed] == [fid]
    claims = {"sub": alice, "exp": int(time.time()) + 60, "iss": "diymod"}
    forged = jwt.encode(claims, "another-wrong-secret-long-enough-for-hs256", algorithm="HS256")
    assert gw.get("/filters", headers=auth(forged)).status_code == 401
    # Not user data: still open.
    assert gw.get("/ping").status_code == 200


def test_notifier_socket_needs_a_token_for_its_user(token_stack: TokenStack) -> None:
    notifier = token_stack.notifier
    alice, bob = f"alice-{uuid.uuid4().hex[:6]}", f"bob-{uuid.uuid4().hex[:6]}"
    for path in (f"/ws/{alice}", f"/ws/{alice}?token={mint(SETTINGS, bob)}"):
        refused = AppSocket(notifier, path)
        assert refused.wait_closed() == 4401
        refused.close()
    s = AppSocket(notifier, f"/ws/{alice}?token={mint(SETTINGS, alice, ttl_seconds=3)}")
    s.wait_for("connected")
    s.send({"type": "refresh_token", "data": {"token": mint(SETTINGS, bob)}})
    assert "refused" in s.wait_for("error")[0]["data"]["message"]
    s.send({"type": "refresh_token", "data": {"token": mint(SETTINGS, alice, ttl_seconds=600)}})
    s.wait_for("token_refreshed")
    # Kept answering pings past the first token's expiry: still open thanks to the refresh.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        s.send({"type": "pong"})
        time.sleep(0.5)
    assert s.closed_code is None
    s.close()


def test_socket_closes_when_its_token_expires(token_stack: TokenStack) -> None:
    user = f"carol-{uuid.uuid4().hex[:6]}"
    s = AppSocket(token_stack.notifier, f"/ws/{user}?token={mint(SETTINGS, user, ttl_seconds=1)}")
    s.wait_for("connected")
    deadline = time.monotonic() + 12
    while s.closed_code is None and time.monotonic() < deadline:
        s.send({"type": "pong"})  # alive, but the token runs out (5 s leeway)
        time.sleep(0.3)
    assert s.closed_code == 4401
    s.close()


def test_mint_command(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "shared.auth", "mint", "--user", "dave", "--ttl", "60"],
        cwd=ROOT, capture_output=True, text=True, env={"AUTH_MODE": "token", "AUTH_SECRET": SECRET, "PATH": ""},
        check=True,
    ).stdout.strip()
    assert TokenVerifier(SETTINGS).verify(out).user_id == "dave"
