"""/openapi.json documents every gateway route, accurately; /docs renders it from local assets only."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from starlette.routing import Mount, Route

from gateway import app as gateway_app
from gateway.apidoc import DocContext
from gateway.openapi import DOCS_DIR, openapi_document
from shared import limits
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


def test_each_route_is_declared_by_the_module_of_its_handler() -> None:
    doc = DocContext(token_mode=False)
    for route in gateway_app.routes():
        if isinstance(route, Route):
            declared = sys.modules[route.endpoint.__module__].openapi_paths(doc)
            assert route.path in declared, (route.path, route.endpoint.__module__)
            assert {m.lower() for m in route.methods or ()} - {"head"} <= set(declared[route.path])


def bounds_by_field(doc: dict[str, Any]) -> dict[tuple[str, str], set[int]]:
    """Every ``maxLength``/``maxItems``/``maximum`` in the document, by (field name, keyword)."""
    found: dict[tuple[str, str], set[int]] = {}

    def walk(node: Any, name: str) -> None:
        if isinstance(node, dict):
            for keyword in ("maxLength", "maxItems", "maximum"):
                if keyword in node:
                    found.setdefault((name, keyword), set()).add(node[keyword])
            if node.get("in") in ("query", "path") and "schema" in node:
                walk(node["schema"], node["name"])
            for key, value in node.items():
                if key == "properties":
                    for prop, schema in value.items():
                        walk(schema, prop)
                elif key != "schema" or "in" not in node:
                    walk(value, name)
        elif isinstance(node, list):
            for item in node:
                walk(item, name)

    walk(doc, "")
    return found


def test_documented_bounds_are_the_shared_limits() -> None:
    bounds = bounds_by_field(openapi_document(load_settings({})))
    assert bounds[("user_id", "maxLength")] == {limits.MAX_USER_ID_CHARS}
    assert bounds[("image_url", "maxLength")] == {limits.MAX_URL_CHARS}
    assert bounds[("img_url", "maxLength")] == {limits.MAX_URL_CHARS}
    assert bounds[("filters", "maxItems")] == {limits.MAX_FILTERS_PER_REQUEST}
    assert bounds[("filters", "maxLength")] == {limits.MAX_FILTER_TEXT_CHARS}
    assert bounds[("filter_text", "maxLength")] == {limits.MAX_FILTER_TEXT_CHARS}
    assert bounds[("message", "maxLength")] == {limits.MAX_MESSAGE_CHARS}
    assert bounds[("seed", "maximum")] == {limits.MAX_SAMPLE_SEED}
    assert bounds[("posts", "maxItems")] == {limits.MAX_MODERATE_POSTS}
    assert bounds[("text", "maxLength")] == {limits.MAX_POST_TEXT_CHARS}
    assert bounds[("alt", "maxLength")] == {limits.MAX_ALT_TEXT_CHARS}
    assert bounds[("language", "maxLength")] == {limits.MAX_LANGUAGE_CHARS}


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
