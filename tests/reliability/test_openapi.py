"""/openapi.json documents every gateway route, accurately; /docs renders it from local assets only."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import schemathesis
from starlette.routing import Mount, Route

from gateway import app as gateway_app
from gateway import images, inputs
from gateway.chat import inputs as chat_inputs
from gateway.filters import MAX_FILTER_TEXT
from gateway.openapi import DOCS_DIR, openapi_document
from gateway.viewer import samples
from shared.config import load_settings
from tests.harness import Proc


def served_operations() -> set[tuple[str, str]]:
    out: set[tuple[str, str]] = set()
    for route in gateway_app.routes():
        if isinstance(route, Route):
            for method in route.methods or ():
                if method != "HEAD":
                    out.add((route.path, method.lower()))
        elif isinstance(route, Mount):
            out.add((route.path + "/{path}", "get"))
        else:
            raise AssertionError(f"undocumentable route type {route!r}")
    return out


@pytest.mark.parametrize("mode", ["open", "token"])
def test_every_route_is_documented_and_nothing_else(mode: str) -> None:
    env = {"AUTH_MODE": mode, "AUTH_SECRET": "s" * 32} if mode == "token" else {}
    doc = openapi_document(load_settings(env))
    documented = {(path, method) for path, methods in doc["paths"].items() for method in methods}
    assert documented == served_operations()
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            params = {p["name"] for p in op.get("parameters", []) if p["in"] == "path"}
            assert params == set(re.findall(r"{(\w+)}", path)), (path, method)
            assert op["responses"], (path, method)
    assert ("security" in doc) == (mode == "token")


def test_bounds_match_the_handlers() -> None:
    from gateway import openapi

    assert openapi.MAX_USER_ID == inputs.MAX_USER_ID_LEN
    assert openapi.MAX_URL == images.MAX_URL_LEN
    assert openapi.MAX_FILTERS == images.MAX_FILTERS
    assert openapi.MAX_FILTER_TEXT == MAX_FILTER_TEXT
    assert openapi.MAX_MESSAGE == chat_inputs.MAX_MESSAGE
    assert openapi.MAX_SEED == samples.MAX_SEED


def test_the_document_is_valid_openapi_3_1() -> None:
    doc = openapi_document(load_settings({}))
    schema = schemathesis.openapi.from_dict(doc)
    operations = [result.ok() for result in schema.get_all_operations()]  # raises on an invalid operation
    assert len(operations) == len(served_operations())


def test_docs_page_and_assets_are_served_locally(gateway: Proc) -> None:
    spec = httpx.get(gateway.url + "/openapi.json", timeout=5)
    assert spec.status_code == 200 and spec.json()["openapi"] == "3.1.0"
    page = httpx.get(gateway.url + "/docs", timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets), assets
    for asset in assets:
        assert httpx.get(gateway.url + asset, timeout=5).status_code == 200, asset
    for path in (DOCS_DIR / "static").iterdir():
        text = path.read_text()
        assert "http://" not in text and "https://" not in text.replace("https://example.com", ""), path
    assert httpx.get(gateway.url + "/docs/static/../openapi.py", timeout=5).status_code == 404


def test_docs_static_dir_ships_with_the_package() -> None:
    assert (DOCS_DIR / "index.html").is_file() and (DOCS_DIR / "static" / "docs.js").is_file()
    assert Path(DOCS_DIR).is_relative_to(Path(gateway_app.__file__).parent)
