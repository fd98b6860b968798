"""GET /openapi.json and GET /docs: the gateway's HTTP surface as an OpenAPI 3.1 document, and a page
that renders it.

Each route module declares its own operations next to its handlers (``openapi_paths(doc)`` and
``OPENAPI_SCHEMAS``, built with ``gateway.apidoc``); this module only assembles them. There is one
entry per ``(path, method)`` of ``gateway.app.routes()`` (``tests/reliability/test_openapi.py`` checks
that none is missing and none is invented, and fuzzes the live gateway from it). The document follows
the deployment it is served by: in ``AUTH_MODE=open`` the ``user_id`` fields are required and trusted;
in ``token`` mode a bearer token is required instead and a ``user_id`` naming someone else is refused
(403).

The /docs page is static HTML, CSS and one ES module in ``gateway/docs/``, served by the gateway itself
(no CDN), under the same strict Content-Security-Policy style as the viewer.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

from gateway import apidoc, feed, filters, health, images, metrics, moderate
from gateway.apidoc import HTML, OBJECT, DocContext, Paths, Schema
from gateway.chat import routes as chat
from gateway.responses import JSONResponse
from gateway.viewer import pages as viewer_pages
from gateway.viewer import samples as viewer_samples
from gateway.viewer import status as viewer_status
from shared.config import Settings

DOCS_DIR = Path(__file__).resolve().parent / "docs"
DOCS_PAGE = DOCS_DIR / "index.html"
DOCS_STATIC = DOCS_DIR / "static"

OPENAPI_SCHEMAS: dict[str, Schema] = {}


def openapi_paths(doc: DocContext) -> Paths:
    """The document's own routes."""
    return {
        "/openapi.json": {"get": {
            "summary": "This document", "tags": ["docs"],
            "responses": {"200": apidoc.json_body(OBJECT, "OpenAPI 3.1.")},
        }},
        "/docs": {"get": {
            "summary": "This document, rendered", "tags": ["docs"],
            "responses": {"200": {"description": "HTML page.", **HTML}},
        }},
        "/docs/static/{path}": {"get": apidoc.static_files_operation("Assets of the docs page", "docs")},
    }


# The modules whose operations make up the document, in the document's order (this one serves /docs).
ROUTE_MODULES: tuple[ModuleType, ...] = (
    health, metrics, sys.modules[__name__], feed, moderate, filters, chat, images, viewer_pages, viewer_status,
    viewer_samples,
)


def operations(token_mode: bool) -> Paths:
    """Every ``path -> method -> operation`` the gateway serves."""
    doc = DocContext(token_mode)
    paths: Paths = {}
    for module in ROUTE_MODULES:
        for path, methods in module.openapi_paths(doc).items():
            paths.setdefault(path, {}).update(methods)
    return paths


def components() -> dict[str, Schema]:
    schemas = dict(apidoc.COMMON_SCHEMAS)
    for module in ROUTE_MODULES:
        clash = schemas.keys() & module.OPENAPI_SCHEMAS.keys()
        if clash:
            raise ValueError(f"{module.__name__} redefines schemas {sorted(clash)}")
        schemas.update(module.OPENAPI_SCHEMAS)
    return schemas


def openapi_document(settings: Settings) -> Schema:
    token_mode = settings.auth_mode == "token"
    doc: Schema = {
        "openapi": "3.1.0",
        "info": {
            "title": "DIY-MOD gateway",
            "version": "0.1.0",
            "description": "The HTTP API of the DIY-MOD backend. Completion events travel on the notifier's "
                           "WebSocket (WS /ws/{user_id}), not described here.",
        },
        "servers": [{"url": settings.public_gateway_url.rstrip("/")}],
        "paths": operations(token_mode),
        "components": {"schemas": components()},
    }
    if token_mode:
        doc["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}
        doc["security"] = [{"bearer": []}]
    return doc


async def openapi_json(request: Request) -> JSONResponse:
    doc = getattr(request.app.state, "openapi", None)
    if doc is None:
        doc = request.app.state.openapi = openapi_document(request.app.state.settings)
    return JSONResponse(doc, headers={"Cache-Control": "no-cache"})


DOCS_CSP = "; ".join([
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "img-src 'self' data:",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
])


async def docs_page(request: Request) -> FileResponse:
    return FileResponse(
        DOCS_PAGE,
        media_type="text/html; charset=utf-8",
        headers={"Content-Security-Policy": DOCS_CSP, "X-Content-Type-Options": "nosniff",
                 "Referrer-Policy": "no-referrer", "Cache-Control": "no-cache"},
    )


def docs_static() -> StaticFiles:
    return StaticFiles(directory=DOCS_STATIC)
