"""The viewer page, its configuration and its static assets.

The page is static HTML plus ES modules; everything it shows comes from the JSON APIs. It is served
with a strict Content-Security-Policy: scripts and styles only from the gateway (no inline code, so
markup smuggled into a feed could not run even if it were ever inserted), images only from the
gateway, loopback and ``data:``, sockets only to the configured notifier.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse
from starlette.staticfiles import StaticFiles

from gateway import apidoc
from gateway.apidoc import HTML, DocContext, Paths, Schema, ref
from gateway.responses import JSONResponse
from shared.config import Settings

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"  # ES modules and CSS, served under /viewer/static/
PAGE = HERE / "page.html"  # served only at /viewer, with the headers below

FETCH_HINT = (
    "The imaging worker refuses private addresses unless FETCH_ALLOW_PRIVATE_HOSTS lists them, and the "
    "sample images are served by this gateway on {host}. For the demo start the stack with "
    "FETCH_ALLOW_PRIVATE_HOSTS={host} (development machines only: it lets clients make the worker "
    "fetch from that host). Without it, sample images end as image_failed."
)


def static_files() -> StaticFiles:
    return StaticFiles(directory=STATIC_DIR)


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(settings: Settings) -> str:
    sockets = origin(settings.public_notifier_url)
    gateway = origin(settings.public_gateway_url)
    images = " ".join(x for x in ("'self'", "data:", "blob:", gateway, "http://127.0.0.1:*", "http://localhost:*") if x)
    return "; ".join([
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        # Parsing a Reddit body with DOMParser reports every style="" attribute in it as a violation
        # (the inert document inherits this policy). Attribute styles cannot run code; allow them.
        "style-src-attr 'unsafe-inline'",
        f"img-src {images}",
        f"connect-src 'self' {sockets}".strip(),
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    ])


async def page(request: Request) -> FileResponse:
    settings: Settings = request.app.state.settings
    return FileResponse(
        PAGE,
        media_type="text/html; charset=utf-8",
        headers={
            "Content-Security-Policy": content_security_policy(settings),
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-cache",
        },
    )


def host_is_allowed(host: str, allow: tuple[str, ...]) -> bool:
    """Does FETCH_ALLOW_PRIVATE_HOSTS (hosts or CIDRs) cover ``host``? Mirrors the worker's rule
    closely enough for a hint; the worker's own check is what counts."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for entry in allow:
        if entry.lower() == host.lower():
            return True
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
    return False


def host_is_private(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False  # a DNS name: the worker decides when it resolves it
    return not address.is_global


def sample_fetch_status(settings: Settings) -> dict[str, object]:
    host = urlsplit(settings.public_gateway_url).hostname or ""
    fetchable = not host_is_private(host) or host_is_allowed(host, settings.fetch_allow_list)
    return {"sample_image_host": host, "sample_images_fetchable": fetchable,
            "fetch_hint": None if fetchable else FETCH_HINT.format(host=host)}


async def config(request: Request) -> JSONResponse:
    """What the page needs to know about this deployment (nothing secret)."""
    settings: Settings = request.app.state.settings
    return JSONResponse({
        "auth_mode": settings.auth_mode,
        "public_gateway_url": settings.public_gateway_url.rstrip("/"),
        "public_notifier_url": settings.public_notifier_url.rstrip("/"),
        "samples": ["reddit", "x", "mastodon", "bluesky"],
        **sample_fetch_status(settings),
    })


OPENAPI_SCHEMAS: dict[str, Schema] = {
    "ViewerConfig": {
        "type": "object",
        "required": ["auth_mode", "public_gateway_url", "public_notifier_url", "samples"],
        "properties": {
            "auth_mode": {"type": "string", "enum": ["open", "token"]},
            "public_gateway_url": {"type": "string"},
            "public_notifier_url": {"type": "string"},
            "samples": {"type": "array", "items": {"type": "string"}},
            "sample_image_host": {"type": "string"},
            "sample_images_fetchable": {"type": "boolean"},
            "fetch_hint": {"type": ["string", "null"]},
        },
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/viewer": {"get": {
            "summary": "The demo viewer page", "tags": ["viewer"],
            "responses": {"200": {"description": "HTML page.", **HTML}},
        }},
        "/viewer/config": {"get": {
            "summary": "What the viewer needs to know about this deployment", "tags": ["viewer"],
            "responses": {"200": apidoc.json_body(ref("ViewerConfig"), "Configuration.")},
        }},
        "/viewer/static/{path}": {"get": apidoc.static_files_operation("Assets of the viewer page", "viewer")},
    }
