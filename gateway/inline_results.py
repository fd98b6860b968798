"""Answering fast image jobs inside the /get_feed response.

A local job takes tens of milliseconds; the feed has just queued it. Waiting a little (at most
FEED_INLINE_WAIT_SECONDS, counted inside the page's time budget) lets the page carry a COMPLETED
marker with the result URL, so the extension swaps the image as it renders the feed, with no poll
or socket wait at all. Jobs on the cloud queue take seconds and are not waited for.
"""

from __future__ import annotations

import asyncio
from typing import Any

from gateway import metrics
from gateway.completions import CompletionWatcher
from gateway.image_jobs import ImageQueue
from shared import keys
from shared.jobqueue import LOCAL_QUEUE, image_route

ImageConfigs = dict[str, dict[str, dict[str, Any]]]  # post id -> image URL -> marker config


def deferred_local(images: ImageConfigs) -> dict[str, list[dict[str, Any]]]:
    """Marker configs still DEFERRED whose job runs on the local queue, by wait id."""
    found: dict[str, list[dict[str, Any]]] = {}
    for configs in images.values():
        for url, config in configs.items():
            if config["status"] == "DEFERRED" and image_route(config["intervention"])[0] == LOCAL_QUEUE:
                found.setdefault(keys.wait_id(url, config["filters"]), []).append(config)
    return found


async def complete_inline(
    watcher: CompletionWatcher, queue: ImageQueue, images: ImageConfigs, seconds: float
) -> int:
    """Turn the DEFERRED local markers whose job ends within ``seconds`` into COMPLETED ones
    (in place); returns how many. Failed jobs stay DEFERRED: the client's poll or socket says why.
    A job that failed already (within the failure TTL, so none was queued) is not waited for."""
    pending = deferred_local(images)
    if not pending or seconds <= 0:
        return 0
    waits = list(pending)
    async with watcher.watch(waits) as futures:
        if futures is not None:
            # Subscribed before this read: what ends from here on is heard of.
            results, failed = await queue.ended(waits)
            open_ = [futures[w] for w in waits if w not in results and w not in failed]
            if open_:
                await asyncio.wait(open_, timeout=seconds)
                late, _ = await queue.ended([w for w in waits if w not in results and w not in failed
                                             and futures[w].done()])
                results.update(late)
        else:
            results = {}
    for wait_id, result in results.items():
        for config in pending[wait_id]:
            config["status"] = "COMPLETED"
            config["processedUrl"] = result["url"]
    metrics.inline_images.labels("yes").inc(len(results))
    metrics.inline_images.labels("no").inc(len(pending) - len(results))
    return len(results)
