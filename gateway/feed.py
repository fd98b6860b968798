"""POST /get_feed: the extension's intercepted Reddit or X feed body, returned in the same format
with the user's interventions applied (docs/protocol.md §2.1, §3).

Steps: read the request; pick the platform from the intercepted URL; parse the feed; judge every
post against every active filter in one provider call (cached per post); turn verdicts into text
edits and image jobs; render. Everything outside touched text and image attributes stays as it was.
When anything goes wrong with moderation the feed still comes back, untouched where undecided.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

import anyio
import orjson
from starlette.requests import Request

from gateway import apidoc, metrics
from gateway.apidoc import OBJECT, USER_ID, DocContext, Paths, Schema
from gateway.auth import authorised_user
from gateway.feed_judge import FeedJudge
from gateway.feeds import FeedDocument, FeedParseError, FeedPost, PostEdit, parse_feed, platform_for_url
from gateway.image_jobs import ImageQueue
from gateway.inline_results import complete_inline
from gateway.inputs import read_json_object
from gateway.policy import PostPlan, plan_post
from gateway.responses import ApiError, JSONResponse
from shared.imagejobs import ImageJob
from shared.models import Filter
from shared.moderation.types import Post

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_IMAGES_PER_POST = 4
# Parsing and rendering are pure CPU work: a few ms for a normal page, but large bodies would stall
# every other request on this event loop, so those go to a worker thread.
LARGE_BODY_CHARS = 256 * 1024


async def off_loop_if_large(size: int, func: Callable[..., T], *args: Any) -> T:
    if size > LARGE_BODY_CHARS:
        return await anyio.to_thread.run_sync(func, *args)
    return func(*args)


def render(doc: FeedDocument, edits: dict[str, PostEdit], url: str) -> str:
    return doc.render(edits, shift_cursor_for=url)


IMAGE_QUEUE_CONCURRENCY = 16


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


def as_post(feed_post: FeedPost) -> Post:
    return Post(
        id=feed_post.id,
        title=feed_post.title,
        body=feed_post.body,
        image_alt=" ".join(a for a in feed_post.image_alts if a),
        has_image=bool(feed_post.image_urls),
    )


# Filter metadata keys (docs/protocol.md §2) and the worker option each one sets.
METADATA_OPTIONS = {
    "blur_radius": "radius",
    "occlusion_color": "color",
    "shrink_factor": "factor",
    "warning_text": "warning_text",
    "replacement_object": "replacement_object",
    "style": "style",
}


def job_options(filter_: Filter, image_filters: list[str]) -> tuple[tuple[str, Any], ...]:
    metadata = filter_.filter_metadata
    options: dict[str, Any] = {option: metadata[key] for key, option in METADATA_OPTIONS.items() if key in metadata}
    # With a vision provider the worker judges the image against all of the user's image filters in
    # one call (the verdicts are cached per filter, so later jobs for the same picture ask nothing).
    options["image_filters"] = image_filters
    return tuple(sorted(options.items()))


async def image_configs(
    queue: ImageQueue, user_id: str, post: FeedPost, plan: PostPlan, context: str, image_filters: list[str],
    limit: asyncio.Semaphore,
) -> dict[str, dict[str, Any]]:
    """Queue (or find) the image job of each image of a matching post; the marker config per URL."""
    chosen = plan.image_filter
    assert chosen is not None and plan.image_intervention is not None
    filter_text = chosen.filter_text
    configs: dict[str, dict[str, Any]] = {}

    async def one(url: str) -> None:
        job = ImageJob(
            image_url=url,
            filters=(filter_text,),
            intervention=plan.image_intervention or "blur",
            filter_text=filter_text,
            intensity=chosen.intensity,
            options=job_options(chosen, image_filters),
            context_text=context,
        )
        async with limit:
            outcome = await queue.request(user_id, job)
        metrics.image_jobs.labels(outcome.state).inc()
        # "filters" is exactly what the extension will poll and wait with (docs/protocol.md §3.2, §4).
        base = {"type": "edit_to_replace", "filters": [filter_text], "best_filter_name": filter_text,
                "intervention": job.intervention}
        if outcome.state == "done" and outcome.result is not None:
            configs[url] = {**base, "status": "COMPLETED", "processedUrl": outcome.result["url"]}
        else:
            configs[url] = {**base, "status": "DEFERRED"}

    await asyncio.gather(*(one(u) for u in post.image_urls[:MAX_IMAGES_PER_POST]))
    return configs


async def queue_images(
    queue: ImageQueue, user_id: str, posts: list[FeedPost], plans: dict[str, PostPlan], image_filters: list[str]
) -> dict[str, dict[str, dict[str, Any]]]:
    """Image marker configs by post id, for the posts whose plan has an image intervention.
    A post whose jobs cannot be queued keeps its images untouched (logged), never fails the feed."""
    limit = asyncio.Semaphore(IMAGE_QUEUE_CONCURRENCY)
    tasks: dict[str, asyncio.Task[dict[str, dict[str, Any]]]] = {}
    for post in posts:
        plan = plans.get(post.id)
        if plan is not None and plan.image_filter is not None:
            context = " ".join(x for x in (post.title, post.body, *post.image_alts) if x)
            tasks[post.id] = asyncio.create_task(
                image_configs(queue, user_id, post, plan, context, image_filters, limit)
            )
    results: dict[str, dict[str, dict[str, Any]]] = {}
    for post_id, outcome in zip(tasks, await asyncio.gather(*tasks.values(), return_exceptions=True), strict=True):
        if isinstance(outcome, BaseException):
            log.warning("could not queue images of post %s: %s", post_id, outcome)
        else:
            results[post_id] = outcome
    return results


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

    filters: list[Filter] = await request.app.state.filters.list_active(user_id)
    feed_posts = doc.posts
    report: dict[str, Any] = {"platform": platform, "posts": len(feed_posts), "filters": len(filters)}
    if not filters or not feed_posts:
        report.update(provider=None, provider_calls=0, elapsed_ms=round((time.perf_counter() - started) * 1000, 2))
        body = await off_loop_if_large(len(raw), render, doc, {}, url)
        return JSONResponse({"status": "success", "feed": {"response": body}, "moderation": report})

    judge: FeedJudge = request.app.state.judge
    judgement = await judge.judge_page([as_post(p) for p in feed_posts], filters)
    metrics.provider_calls.labels(judgement.provider).inc(judgement.provider_calls)
    metrics.posts_judged.labels("cache").inc(judgement.cached)
    metrics.posts_judged.labels("provider").inc(len(feed_posts) - judgement.cached)
    if judgement.fallback:
        metrics.provider_fallbacks.inc()
    by_id = {f.id: f for f in filters}
    plans = {
        post.id: plan_post(verdict, by_id, can_rewrite=judge.provider.can_rewrite, has_images=bool(post.image_urls))
        for post in feed_posts
        if (verdict := judgement.verdicts.get(post.id)) is not None and verdict.matches
    }
    image_filters = [f.filter_text for f in filters if f.applies_to_images()]
    images = await queue_images(request.app.state.image_queue, user_id, feed_posts, plans, image_filters)
    settings = request.app.state.settings
    inline_wait = min(settings.feed_inline_wait_seconds,
                      settings.feed_time_budget_seconds - (time.perf_counter() - started))
    inline = await complete_inline(request.app.state.completions, request.app.state.image_queue, images, inline_wait)
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
