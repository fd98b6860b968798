"""Bundled sample feeds for the viewer, and the images they show.

``GET /viewer/samples/{reddit|x|mastodon|bluesky}?seed=N`` answers ``{platform, url, body, seed, posts}``: a realistic
25-post page from :mod:`gateway.viewer.samplegen`, with ``url`` the request URL the extension would
have intercepted. The generator's image URLs point at public hosts (preview.redd.it, pbs.twimg.com);
here they are rewritten to ``/viewer/sample-image/<name>.jpg`` on this gateway, which draws a
picture with Pillow. So the demo works offline, the browser never loads a public host, and the
imaging worker fetches the originals from the gateway (which needs FETCH_ALLOW_PRIVATE_HOSTS to
list the gateway's host when that is a private address: see :func:`pages.sample_fetch_status`).

The seed is part of every image name, so a new seed gives new image URLs and therefore new image
jobs (results are shared by everyone who asks for the same URL under the same filters).
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import re
from collections.abc import Callable

from PIL import Image, ImageDraw, ImageFont
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gateway import apidoc
from gateway.apidoc import DocContext, Paths, Schema, ref
from gateway.responses import ApiError, JSONResponse
from gateway.viewer.fedisamples import bluesky_timeline, mastodon_timeline
from gateway.viewer.samplegen import GeneratedFeed, reddit_page, x_timeline
from shared.config import Settings
from shared.limits import MAX_SAMPLE_SEED

POSTS = 25
REQUEST_URLS = {
    "reddit": "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=dDNfZ2VuMDI0&t=DAY",
    "x": "https://x.com/i/api/graphql/abc123/HomeLatestTimeline?variables=%7B%7D",
    "mastodon": "https://mastodon.social/api/v1/timelines/home?limit=25",
    "bluesky": "https://bsky.social/xrpc/app.bsky.feed.getTimeline?limit=25",
}
GENERATORS: dict[str, Callable[..., GeneratedFeed]] = {
    "reddit": reddit_page, "x": x_timeline, "mastodon": mastodon_timeline, "bluesky": bluesky_timeline,
}
IMAGE_SIZE = (480, 320)

_PUBLIC_MEDIA = re.compile(
    r"https://(?:preview\.redd\.it|i\.redd\.it|pbs\.twimg\.com|files\.mastodon\.social|cdn\.bsky\.app)"
    r"/([^\s\"'<>?#\\]+)(?:\?[^\s\"'<>#\\]*)?"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")
_NAME = re.compile(r"^([A-Za-z0-9_-]{1,80})\.jpg$")


def image_name(path: str, seed: int) -> str:
    stem = path.rsplit(".", 1)[0] if "." in path.rsplit("/", 1)[-1] else path
    return f"s{seed}-{_UNSAFE.sub('-', stem).strip('-')[:60] or 'image'}.jpg"


def localise_images(body: str, base_url: str, seed: int) -> str:
    """Point every public media URL in ``body`` at this gateway's sample images."""
    base = base_url.rstrip("/") + "/viewer/sample-image/"
    return _PUBLIC_MEDIA.sub(lambda m: base + image_name(m[1], seed), body)


def sample_body(platform: str, seed: int, base_url: str) -> str:
    feed = GENERATORS[platform](POSTS, seed=seed)
    return localise_images(feed.body, base_url, seed)


def _seed(request: Request) -> int:
    raw = request.query_params.get("seed", "1")
    try:
        seed = int(raw)
    except ValueError as exc:
        raise ApiError(422, "seed must be an integer") from exc
    if not 0 <= seed <= MAX_SAMPLE_SEED:
        raise ApiError(422, f"seed must be between 0 and {MAX_SAMPLE_SEED}")
    return seed


async def sample(request: Request) -> JSONResponse:
    platform = request.path_params["platform"]
    if platform not in REQUEST_URLS:
        raise ApiError(404, "no such sample: use reddit, x, mastodon or bluesky")
    seed = _seed(request)
    settings: Settings = request.app.state.settings
    body = await run_in_threadpool(sample_body, platform, seed, settings.public_gateway_url)
    return JSONResponse({"platform": platform, "url": REQUEST_URLS[platform], "body": body, "seed": seed,
                         "posts": POSTS})


@functools.lru_cache(maxsize=256)
def sample_jpeg(stem: str) -> bytes:
    """A deterministic landscape for ``stem``: sky, sun, hills, a few shapes, and the name."""
    digest = hashlib.sha256(stem.encode()).digest()
    w, h = IMAGE_SIZE
    hue = digest[0] / 255
    img = Image.new("RGB", IMAGE_SIZE)
    draw = ImageDraw.Draw(img)

    def tint(base: tuple[int, int, int], shift: float) -> tuple[int, int, int]:
        return tuple(max(0, min(255, int(c + 90 * math.sin(2 * math.pi * (hue + shift + k / 3)))))
                     for k, c in enumerate(base))  # type: ignore[return-value]

    top, bottom = tint((90, 140, 200), 0.0), tint((240, 200, 160), 0.3)
    for y in range(h):
        t = y / h
        draw.line([(0, y), (w, y)], fill=tuple(int(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    sun_x, sun_y, sun_r = 60 + digest[1] * (w - 120) // 255, 50 + digest[2] % 60, 26 + digest[3] % 20
    draw.ellipse([sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r], fill=tint((250, 220, 120), 0.6))
    for layer in range(3):
        base_y = h * (0.55 + 0.13 * layer)
        points = [(0, h)]
        for i in range(9):
            x = i * w / 8
            points.append((x, base_y - 40 * math.sin(i * 0.9 + digest[4 + layer] / 40 + layer)))
        points.append((w, h))
        draw.polygon(points, fill=tint((60 - 15 * layer, 110 - 25 * layer, 70 - 10 * layer), 0.1 * layer))
    for i in range(4):
        x, y, r = digest[8 + i] * w // 255, h // 2 + digest[12 + i] % (h // 3), 6 + digest[16 + i] % 14
        draw.ellipse([x - r, y - r, x + r, y + r], fill=tint((200, 80, 90), 0.2 * i))
    font = ImageFont.load_default(size=18)
    label = stem[:40]
    draw.rectangle([0, h - 30, w, h], fill=(20, 20, 28))
    draw.text((10, h - 25), f"DIY-MOD sample · {label}", fill=(235, 235, 240), font=font)
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


async def sample_image(request: Request) -> Response:
    match = _NAME.match(request.path_params["name"])
    if match is None:
        raise ApiError(404, "no such sample image")
    data = await run_in_threadpool(sample_jpeg, match[1])
    return Response(data, media_type="image/jpeg", headers={
        "Cache-Control": "public, max-age=86400",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Resource-Policy": "cross-origin",
    })


OPENAPI_SCHEMAS: dict[str, Schema] = {
    "ViewerSample": {
        "type": "object",
        "required": ["platform", "url", "body", "seed", "posts"],
        "properties": {
            "platform": {"type": "string", "enum": list(REQUEST_URLS)},
            "url": {"type": "string"},
            "body": {"type": "string"},
            "seed": {"type": "integer"},
            "posts": {"type": "integer"},
        },
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/viewer/samples/{platform}": {"get": {
            "summary": f"A bundled {POSTS}-post sample feed", "tags": ["viewer"],
            "parameters": [
                apidoc.path_param("platform", {"type": "string", "enum": list(REQUEST_URLS)}),
                apidoc.query("seed", {"type": "integer", "minimum": 0, "maximum": MAX_SAMPLE_SEED}, required=False),
            ],
            "responses": {"200": apidoc.json_body(ref("ViewerSample"), "The sample."), **apidoc.errors(404, 422)},
        }},
        "/viewer/sample-image/{name}": {"get": {
            "summary": "A generated sample picture", "tags": ["viewer"],
            "parameters": [apidoc.path_param("name", {"type": "string", "pattern": _NAME.pattern})],
            "responses": {"200": {"description": "JPEG.", "content": {"image/jpeg": {"schema": {"type": "string"}}}},
                          **apidoc.errors(404)},
        }},
    }
