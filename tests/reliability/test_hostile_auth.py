"""AUTH_MODE=token through a real gateway and notifier: forged, expired, alg=none, wrong-issuer, garbage,
oversized and other users' tokens are all refused (401/403; socket close 4401), and a socket whose token
expires is closed on time."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import httpx
import jwt
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import connect

from devtools.redis_server import EmbeddedRedis
from tests.reliability import procs
from tests.reliability.figures import record
from tests.wsclient import Socket

SECRET = "reliability-secret-" + "k" * 24


def token(sub: str, *, ttl: int = 600, key: str = SECRET, iss: str = "diymod", **extra: object) -> str:
    now = int(time.time())
    return jwt.encode({"sub": sub, "iat": now, "exp": now + ttl, "iss": iss, **extra}, key, algorithm="HS256")


def unsigned(sub: str) -> str:
    def b64(d: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(d).encode()).decode().rstrip("=")

    return f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64({'sub': sub, 'exp': int(time.time()) + 600, 'iss': 'diymod'})}."


def ws_close(url: str) -> int | None:
    try:
        with connect(url, open_timeout=5) as ws:
            while True:
                frame = json.loads(ws.recv(timeout=5))
                if frame.get("type") == "connected":
                    return 0  # accepted
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else -1
    except InvalidStatus as exc:
        return -exc.response.status_code  # refused at the HTTP handshake
    except (InvalidHandshake, OSError):
        return -1
    except TimeoutError:
        return -2


def test_token_mode_refuses_every_bad_token(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    env = {"AUTH_MODE": "token", "AUTH_SECRET": SECRET, "WS_HEARTBEAT_SECONDS": "1.5"}
    gw = procs.gateway(own_redis.url, tmp_path, **env)
    nt = procs.notifier(own_redis.url, tmp_path, **env)
    alice, bob = "alice-rel", "bob-rel"
    bad = {
        "missing": None,
        "garbage": "not.a.token",
        "forged_other_key": token(alice, key="another-secret-" + "z" * 24),
        "alg_none": unsigned(alice),
        "expired": token(alice, ttl=-60),
        "wrong_issuer": token(alice, iss="someone-else"),
        "no_subject": jwt.encode({"exp": int(time.time()) + 600, "iss": "diymod"}, SECRET, algorithm="HS256"),
        "oversized": token(alice, pad="x" * 3200),  # over MAX_TOKEN_LEN, under the URL length limit
        "tampered_payload": ".".join([token(bob).split(".")[0], token(alice).split(".")[1], token(bob).split(".")[2]]),
    }
    try:
        r = httpx.post(gw.url + "/filters", json={"filter_text": "spiders"},
                       headers={"Authorization": f"Bearer {token(alice)}"})
        assert r.status_code == 200, r.text
        gateway_status: dict[str, int] = {}
        notifier_close: dict[str, int | None] = {}
        for name, tok in bad.items():
            headers = {"Authorization": f"Bearer {tok}"} if tok else {}
            gateway_status[name] = httpx.get(gw.url + "/filters", headers=headers, timeout=5).status_code
            query = f"?token={tok}" if tok else ""
            notifier_close[name] = ws_close(f"ws://127.0.0.1:{nt.port}/ws/{alice}{query}")
        # Another user's (valid) token: the gateway refuses the claimed user id, the notifier the path.
        gateway_status["other_users_token"] = httpx.get(
            gw.url + "/filters", params={"user_id": alice}, headers={"Authorization": f"Bearer {token(bob)}"}
        ).status_code
        gateway_status["other_users_token_delete"] = httpx.delete(
            gw.url + "/filters/1", params={"user_id": alice}, headers={"Authorization": f"Bearer {token(bob)}"}
        ).status_code
        notifier_close["other_users_token"] = ws_close(f"ws://127.0.0.1:{nt.port}/ws/{alice}?token={token(bob)}")
        huge_url = ws_close(f"ws://127.0.0.1:{nt.port}/ws/{alice}?token={token(alice, pad='x' * 12000)}")
        # Bob's own view never shows Alice's filter.
        bobs = httpx.get(gw.url + "/filters", headers={"Authorization": f"Bearer {token(bob)}"}).json()["filters"]
        # A socket whose token expires is closed (heartbeat check), and refresh with a bad token is refused.
        s = Socket(f"ws://127.0.0.1:{nt.port}/ws/{alice}?token={token(alice, ttl=2)}")
        s.wait_for("connected")
        s.send({"type": "refresh_token", "data": {"token": token(bob)}})
        refused_refresh = s.wait_for("error", timeout=5)[0]["data"]["message"]
        t0 = time.monotonic()
        expiry_close = s.wait_closed(timeout=15)
        closed_after = time.monotonic() - t0
        s.close()
        record("token_mode_bad_tokens", cases=len(gateway_status),
               gateway=",".join(f"{k}:{v}" for k, v in gateway_status.items()),
               notifier=",".join(f"{k}:{v}" for k, v in notifier_close.items()),
               huge_url=huge_url, expired_socket_close=expiry_close, expired_socket_closed_s=closed_after,
               fence_breaches=procs.fence_breaches(gw, nt))
        assert all(gateway_status[n] == 401 for n in bad), gateway_status
        assert gateway_status["other_users_token"] == 403 and gateway_status["other_users_token_delete"] == 403
        assert all(code == 4401 for code in notifier_close.values()), notifier_close
        assert huge_url != 0 and huge_url != -2, huge_url  # refused, one way or another, and at once
        assert bobs == [] and "refused" in refused_refresh
        assert expiry_close == 4401 and closed_after < 6
    finally:
        nt.stop()
        gw.stop()
