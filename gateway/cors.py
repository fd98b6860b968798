"""CORS as the real extension needs it.

The content script's calls carry the page's origin (Reddit, X); popup and options pages carry
``chrome-extension://<id>``. ``/get_feed`` always sends an (empty) ``Authorization`` header, which a
``*`` in Allow-Headers does not cover once credentials are allowed, so headers are listed by name.
Chrome's Private Network Access preflight (a public page calling a loopback/private backend) needs
``Access-Control-Allow-Private-Network: true`` on the preflight answer (Starlette's
``allow_private_network``).
"""

from __future__ import annotations

import re

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp

ALLOWED_HEADERS = ["content-type", "authorization", "accept", "x-requested-with", "x-client-version"]
ALLOWED_METHODS = ["GET", "POST", "PUT", "DELETE", "OPTIONS"]

# Reddit and X (any subdomain, https only), and browser-extension origins.
ORIGIN_REGEX = (
    r"https://([a-z0-9-]+\.)*(reddit\.com|x\.com|twitter\.com)"
    r"|chrome-extension://[a-z]{32}"
    r"|moz-extension://[0-9a-f-]{36}"
)


def with_cors(app: ASGIApp, extra_origins: tuple[str, ...]) -> ASGIApp:
    regex = ORIGIN_REGEX
    if extra_origins:
        regex += "|" + "|".join(re.escape(o.rstrip("/")) for o in extra_origins)
    cors = CORSMiddleware(
        app,
        allow_origin_regex=regex,
        allow_methods=ALLOWED_METHODS,
        allow_headers=ALLOWED_HEADERS,
        allow_credentials=True,
        allow_private_network=True,
        max_age=600,
    )
    return cors
