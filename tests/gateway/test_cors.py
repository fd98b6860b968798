"""CORS preflights as the extension's content script and popup send them."""

from __future__ import annotations

import httpx
import pytest
from starlette.testclient import TestClient


def preflight(
    gateway: TestClient, origin: str, headers: str = "content-type,authorization", pna: bool = True
) -> httpx.Response:
    h = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }
    if pna:
        h["Access-Control-Request-Private-Network"] = "true"
    return gateway.options("/get_img_result", headers=h)


@pytest.mark.parametrize(
    "origin",
    ["https://www.reddit.com", "https://old.reddit.com", "https://x.com", "https://twitter.com",
     "chrome-extension://abcdefghijklmnopabcdefghijklmnop"],
)
def test_preflight_allows_extension_origins(api: TestClient, origin: str) -> None:
    r = preflight(api, origin)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == origin
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization"} <= allowed
    assert r.headers["access-control-allow-private-network"] == "true"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "*" not in r.headers["access-control-allow-origin"]


@pytest.mark.parametrize("origin", ["https://evil.example", "https://reddit.com.evil.example", "http://www.reddit.com"])
def test_preflight_refuses_other_origins(api: TestClient, origin: str) -> None:
    r = preflight(api, origin)
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers


def test_simple_request_gets_allow_origin(api: TestClient) -> None:
    r = api.get("/ping", headers={"Origin": "https://www.reddit.com"})
    assert r.headers["access-control-allow-origin"] == "https://www.reddit.com"
    r = api.get("/ping", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
