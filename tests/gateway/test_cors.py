"""CORS preflights as the extension's content script and popup send them."""

from __future__ import annotations

import httpx
import pytest

from tests.harness import Proc


def preflight(
    gateway: Proc, origin: str, headers: str = "content-type,authorization", pna: bool = True
) -> httpx.Response:
    h = {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": headers,
    }
    if pna:
        h["Access-Control-Request-Private-Network"] = "true"
    return httpx.options(gateway.url + "/get_img_result", headers=h, timeout=5)


@pytest.mark.parametrize(
    "origin",
    ["https://www.reddit.com", "https://old.reddit.com", "https://x.com", "https://twitter.com",
     "chrome-extension://abcdefghijklmnopabcdefghijklmnop"],
)
def test_preflight_allows_extension_origins(gateway: Proc, origin: str) -> None:
    r = preflight(gateway, origin)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == origin
    allowed = {h.strip().lower() for h in r.headers["access-control-allow-headers"].split(",")}
    assert {"content-type", "authorization"} <= allowed
    assert r.headers["access-control-allow-private-network"] == "true"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "*" not in r.headers["access-control-allow-origin"]


@pytest.mark.parametrize("origin", ["https://evil.example", "https://reddit.com.evil.example", "http://www.reddit.com"])
def test_preflight_refuses_other_origins(gateway: Proc, origin: str) -> None:
    r = preflight(gateway, origin)
    assert r.status_code == 400
    assert "access-control-allow-origin" not in r.headers


def test_simple_request_gets_allow_origin(gateway: Proc) -> None:
    r = httpx.get(gateway.url + "/ping", headers={"Origin": "https://www.reddit.com"}, timeout=5)
    assert r.headers["access-control-allow-origin"] == "https://www.reddit.com"
    r = httpx.get(gateway.url + "/ping", headers={"Origin": "https://evil.example"}, timeout=5)
    assert "access-control-allow-origin" not in r.headers
