"""POST /get_feed: the extension's intercepted Reddit or X feed body, returned in the same format
with the user's interventions applied (docs/protocol.md §2.1, §3).

Steps: read the request; pick the platform from the intercepted URL; parse the feed; judge every
post against every active filter in one provider call (cached per post); turn verdicts into text
edits and image jobs; render. Everything outside touched text and image attributes stays as it was.
When anything goes wrong with moderation the feed still comes back, untouched where undecided.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import orjson
from starlette.requests import Request

from gateway import apidoc
from gateway.apidoc import OBJECT, USER_ID, DocContext, Paths, Schema
from gateway.auth import authorised_user
from gateway.feeds import FeedDocument, FeedParseError, PostEdit, parse_feed, platform_for_url
from gateway.inputs import read_json_object
from gateway.page_moderation import moderate_page
from gateway.responses import ApiError, JSONResponse

log = logging.getLogger(__name__)
T = TypeVar("T")

# Parsing and rendering are pure CPU work: a few ms for a normal page, but large bodies would stall
# every other request on this event loop, so those go to a worker thread.
LARGE_BODY_CHARS = 256 * 1024


async def off_loop_if_large(size: int, func: Callable[..., T], *args: Any) -> T:
    if size > LARGE_BODY_CHARS:
        return await anyio.to_thread.run_sync(func, *args)
    return func(*args)


def render(doc: FeedDocument, edits: dict[str, PostEdit], url: str) -> str:
    return doc.render(edits, shift_cursor_for=url)




def feed_body(data: dict[str, Any]) -> tuple[str, str]:
    """(url, raw feed body) from the request; ``data`` may be an object or a JSON string."""
    url = data.get("url")
    if not isinstance(url, str) or not url:
        raise ApiError(422, "url must be a non-empty string (the intercepted request URL)")
    payload = data.get("data")
    if isinstance(payload, str):
        if not payload.strip():
            raise ApiError(400, "data field cannot be empty")
        try:
            payload = orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, f"invalid JSON in data field: {exc}") from exc
    if not isinstance(payload, dict):
        raise ApiError(422, "data must be an object (or a JSON string of one)")
    feed_info = payload.get("feed_info")
    if not isinstance(feed_info, dict):
        raise ApiError(400, "no feed_info in data")
    response = feed_info.get("response")
    if not isinstance(response, str):
        raise ApiError(422, "data.feed_info.response must be a string (the raw feed body)")
    return url, response


async def get_feed(request: Request) -> JSONResponse:
    started = time.perf_counter()
    data = await read_json_object(request, request.app.state.settings.max_body_bytes)
    user_id = await authorised_user(request, data.get("user_id") or "unknown")
    url, raw = feed_body(data)
    platform = platform_for_url(url)
    if platform is None:
        raise ApiError(400, "Unsupported platform in URL: expected a reddit.com, x.com or twitter.com request, "
                             "a Mastodon timeline (/api/v1/timelines/...) or a Bluesky feed (/xrpc/app.bsky.feed...)")
    try:
        doc: FeedDocument = await off_loop_if_large(len(raw), parse_feed, platform, raw)
    except FeedParseError as exc:
        raise ApiError(400, f"feed body is not a {platform} feed: {exc}") from exc

    feed_posts = doc.posts
    page = await moderate_page(request.app.state, user_id, feed_posts, started)
    report: dict[str, Any] = {"platform": platform, "posts": len(feed_posts), "filters": len(page.filters)}
    if page.judgement is None:
        report.update(provider=None, provider_calls=0, elapsed_ms=round((time.perf_counter() - started) * 1000, 2))
        body = await off_loop_if_large(len(raw), render, doc, {}, url)
        return JSONResponse({"status": "success", "feed": {"response": body}, "moderation": report})
    judgement, plans, images, inline = page.judgement, page.plans, page.images, page.inline
    edits: dict[str, PostEdit] = {}
    post_reports: list[dict[str, Any]] = []
    for post_id, plan in plans.items():
        configs = images.get(post_id, {})
        edit = PostEdit(title=plan.title, body=plan.body, images=configs)
        if not edit.is_empty():
            edits[post_id] = edit
        post_reports.append({
            "post_id": post_id,
            "matches": plan.matches,
            "text_intervention": plan.text_intervention,
            "image_intervention": plan.image_intervention if configs else None,
            "images": {u: c["status"] for u, c in configs.items()},
            "notes": plan.notes,
        })
    body = await off_loop_if_large(len(raw), render, doc, edits, url)
    report.update(
        provider=judgement.provider,
        provider_calls=judgement.provider_calls,
        cached_posts=judgement.cached,
        fallback=judgement.fallback,
        undecided=judgement.undecided,
        changed=post_reports,
        images_inline=inline,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )
    return JSONResponse({"status": "success", "feed": {"response": body}, "moderation": report})


OPENAPI_SCHEMAS: dict[str, Schema] = {
    "FeedRequest": {
        "type": "object",
        "required": ["url", "data"],
        "properties": {
            "user_id": USER_ID,
            "url": apidoc.string(min_len=1, description="The intercepted request URL: Reddit or X by host, "
                                 "Mastodon (/api/v1/timelines/home|public|tag/…|list/…) or Bluesky "
                                 "(/xrpc/app.bsky.feed.getTimeline|getFeed|getAuthorFeed) by path on any host."),
            "data": {
                "description": "The intercepted body, as an object or as a JSON string of one.",
                "oneOf": [
                    {
                        "type": "object",
                        "required": ["feed_info"],
                        "properties": {
                            "feed_info": {
                                "type": "object",
                                "required": ["response"],
                                "properties": {"response": apidoc.string(description="Raw feed body.")},
                            },
                        },
                    },
                    apidoc.string(min_len=1, description="JSON text of the object above."),
                ],
            },
            "tab_id": {"description": "Ignored (sent by the extension)."},
            "useBatching": {"description": "Ignored (sent by the extension)."},
        },
    },
    "FeedResponse": {
        "type": "object",
        "required": ["status", "feed", "moderation"],
        "properties": {
            "status": {"const": "success"},
            "feed": {"type": "object", "required": ["response"], "properties": {"response": {"type": "string"}}},
            "moderation": {
                "type": "object",
                "description": "What was done and why: provider, calls, fallback, changed posts.",
                "required": ["platform", "posts", "filters", "elapsed_ms"],
                "properties": {
                    "platform": {"type": "string", "enum": ["reddit", "x", "mastodon", "bluesky"]},
                    "posts": {"type": "integer"},
                    "filters": {"type": "integer"},
                    "provider": {"type": ["string", "null"]},
                    "provider_calls": {"type": "integer"},
                    "fallback": {"type": ["string", "null"]},
                    "changed": {"type": "array", "items": OBJECT},
                    "images_inline": {"type": "integer",
                                      "description": "Images sent COMPLETED because their job ended in time."},
                    "elapsed_ms": {"type": "number"},
                },
            },
        },
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/get_feed": {"post": {
            "summary": "Moderate an intercepted Reddit, X, Mastodon or Bluesky feed body",
            "description": "Returns the same body with the user's interventions applied. Moderation failures "
                           "(provider down, slow, garbage) still answer 200: local fallback or untouched posts.",
            "tags": ["feed"],
            "requestBody": apidoc.request_body(apidoc.ref("FeedRequest")),
            "responses": {"200": apidoc.json_body(apidoc.ref("FeedResponse"), "The moderated feed."),
                          **apidoc.errors(*doc.body_errors)},
        }},
    }
