"""Moderating a page of posts for one user: the machinery /get_feed and /v1/moderate share.

One provider call per page through :class:`FeedJudge` (verdict cache, time budget, fallback), a plan
per matching post (gateway.policy), image jobs queued through the same ImageQueue (completion is
announced on the user's socket by the worker, as for any job), and fast local jobs answered inline
within the page's time budget.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from gateway import metrics
from gateway.feed_judge import FeedJudge, PageJudgement
from gateway.feeds import FeedPost
from gateway.image_jobs import ImageQueue
from gateway.inline_results import ImageConfigs, complete_inline
from gateway.policy import PostPlan, plan_post
from shared.imagejobs import ImageJob
from shared.models import Filter
from shared.moderation.types import Post

log = logging.getLogger(__name__)

MAX_IMAGES_PER_POST = 4
IMAGE_QUEUE_CONCURRENCY = 16


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
            # Also when it failed lately (no job queued): the marker has no failed status, and the
            # client's poll or socket wait hears FAILED at once (docs/protocol.md §3.2, §4).
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


@dataclass
class PageModeration:
    filters: list[Filter]
    judgement: PageJudgement | None = None  # None: no active filters or no posts, nothing was asked
    plans: dict[str, PostPlan] = field(default_factory=dict)  # matching posts only
    images: ImageConfigs = field(default_factory=dict)  # post id -> image URL -> marker config
    inline: int = 0  # image markers answered COMPLETED within the budget
    can_rewrite: bool = False


async def moderate_page(state: Any, user_id: str, posts: list[FeedPost], started: float) -> PageModeration:
    """Judge ``posts`` against the user's active filters and queue the image jobs they call for.

    ``state`` is the app state (filters store, judge, image queue, completion watcher, settings);
    ``started`` is when the request began, so the inline wait stays inside the page's time budget.
    """
    filters: list[Filter] = await state.filters.list_active(user_id)
    page = PageModeration(filters)
    if not filters or not posts:
        return page
    judge: FeedJudge = state.judge
    page.can_rewrite = judge.provider.can_rewrite
    judgement = page.judgement = await judge.judge_page([as_post(p) for p in posts], filters)
    metrics.provider_calls.labels(judgement.provider).inc(judgement.provider_calls)
    metrics.posts_judged.labels("cache").inc(judgement.cached)
    metrics.posts_judged.labels("provider").inc(len(posts) - judgement.cached)
    if judgement.fallback:
        metrics.provider_fallbacks.inc()
    by_id = {f.id: f for f in filters}
    page.plans = {
        post.id: plan_post(verdict, by_id, can_rewrite=page.can_rewrite, has_images=bool(post.image_urls))
        for post in posts
        if (verdict := judgement.verdicts.get(post.id)) is not None and verdict.matches
    }
    image_filters = [f.filter_text for f in filters if f.applies_to_images()]
    page.images = await queue_images(state.image_queue, user_id, posts, page.plans, image_filters)
    settings = state.settings
    inline_wait = min(settings.feed_inline_wait_seconds,
                      settings.feed_time_budget_seconds - (time.perf_counter() - started))
    page.inline = await complete_inline(state.completions, state.image_queue, page.images, inline_wait)
    return page
