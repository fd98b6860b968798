"""Judging a page: verdict cache, one provider call for what is not cached, a time budget, and a
local fallback when the provider fails.

Filters are canonicalised before judging (sorted, numbered 0..n-1), so a page judged for one user
is a cache hit for every user with the same filters; verdicts are mapped back to each user's own
filter ids afterwards.

Fresh verdicts are written to the cache by a background task, off the response path (about a sixth of
an embeddings-cached page's time); at most ``MAX_PENDING_STORES`` run at once, beyond which a page
waits for its own store as before, so a slow Redis cannot make them pile up.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass, field, replace

import orjson
import redis
import redis.asyncio as aioredis

from gateway.expansions import FilterExpansions
from shared import redisconn
from shared.keys import PREFIX
from shared.models import Filter
from shared.moderation.expansion import Expansions, expansion_for
from shared.moderation.provider import ModerationProvider
from shared.moderation.types import Match, Post, PostVerdict, ProviderError

log = logging.getLogger(__name__)

VERDICT_TTL_SECONDS = 24 * 3600
MAX_PENDING_STORES = 32  # per process; a page beyond that stores inline (back-pressure, nothing dropped)


def canonical_filters(filters: list[Filter]) -> tuple[list[Filter], dict[int, Filter]]:
    """Filters renumbered 0..n-1 in a stable order, and the map back to the user's filters."""
    ordered = sorted(filters, key=lambda f: (f.filter_text.strip().lower(), f.content_type, f.intensity, f.id))
    canonical = [replace(f, id=i, filter_metadata={}) for i, f in enumerate(ordered)]
    return canonical, {i: f for i, f in enumerate(ordered)}


def filter_signature(canonical: list[Filter], expansions: Expansions | None = None) -> str:
    """The verdict cache's name for a filter set; an expanded filter adds its expansion's digest, so verdicts
    judged before the expansion arrived are not reused after (a filter without one keys as before)."""
    parts: list[tuple[object, ...]] = []
    for f in canonical:
        part: tuple[object, ...] = (f.filter_text.strip().lower(), f.content_type, f.intensity)
        if (expansion := expansion_for(expansions, f.filter_text)) is not None:
            part += (expansion.digest(),)
        parts.append(part)
    raw = orjson.dumps(parts)
    return hashlib.sha256(raw).hexdigest()[:24]


def post_digest(post: Post) -> str:
    raw = orjson.dumps([post.title, post.body, post.image_alt, post.has_image])
    return hashlib.sha256(raw).hexdigest()[:32]


def verdict_key(provider: str, signature: str, post: Post) -> str:
    """``provider``: its name and version (``ModerationProvider.version``)."""
    return f"{PREFIX}:verdict:{provider}:{signature}:{post_digest(post)}"


def encode_verdict(verdict: PostVerdict) -> bytes:
    # orjson writes dataclasses itself: the bytes of dumps(asdict(v)), 30x cheaper (0.16 ms a page).
    return orjson.dumps(verdict)


def decode_verdict(raw: bytes, post_id: str) -> PostVerdict:
    data = orjson.loads(raw)
    return PostVerdict(
        post_id=post_id,
        matches=[Match(**m) for m in data.get("matches", [])],
        rewritten_title=data.get("rewritten_title"),
        rewritten_body=data.get("rewritten_body"),
    )


@dataclass
class PageJudgement:
    verdicts: dict[str, PostVerdict]  # filter ids are the user's own
    provider: str
    provider_calls: int = 0
    cached: int = 0
    fallback: str | None = None  # why the local matcher stood in, if it did
    elapsed_ms: float = 0.0
    undecided: list[str] = field(default_factory=list)


class FeedJudge:
    """``expansions``: where cloud expansions of filter texts are read, once per page (None: none are used)."""

    def __init__(self, client: aioredis.Redis, provider: ModerationProvider,
                 fallback: ModerationProvider | None, budget_seconds: float,
                 expansions: FilterExpansions | None = None) -> None:
        self.redis = client
        self.provider = provider
        self._verdicts_of = f"{provider.name}-{provider.version}"  # the verdict cache's name for this provider
        self.fallback = fallback if fallback is not None and fallback is not provider else None
        self.budget = budget_seconds
        self.expansions = expansions
        self._stores: set[asyncio.Task[None]] = set()

    async def judge_page(self, posts: list[Post], filters: list[Filter]) -> PageJudgement:
        started = time.perf_counter()
        canonical, back = canonical_filters(filters)
        result = PageJudgement(verdicts={}, provider=self.provider.name)
        if not posts or not canonical:
            return result
        expansions = await self.expansions.lookup(f.filter_text for f in canonical) if self.expansions else {}
        signature = filter_signature(canonical, expansions)
        keys = [verdict_key(self._verdicts_of, signature, p) for p in posts]
        try:
            cached = await redisconn.mget(self.redis, keys)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("verdict cache unavailable: %s", exc)
            cached = [None] * len(posts)
        verdicts: dict[str, PostVerdict] = {}
        todo: list[Post] = []
        todo_keys: dict[str, str] = {}
        for post, key, raw in zip(posts, keys, cached, strict=True):
            if raw is None:
                todo.append(post)
                todo_keys[post.id] = key
            else:
                verdicts[post.id] = decode_verdict(raw, post.id)
        result.cached = len(verdicts)
        if todo:
            fresh = await self._judge_uncached(todo, canonical, expansions, result)
            verdicts.update(fresh)
            if result.fallback is None and fresh:
                # Encoded now: the background store writes these bytes, whatever happens to the objects later.
                await self._store_later([(todo_keys[pid], encode_verdict(v)) for pid, v in fresh.items()
                                         if pid in todo_keys])
        result.undecided = [p.id for p in posts if p.id not in verdicts]
        result.verdicts = {pid: self._to_user_ids(v, back) for pid, v in verdicts.items()}
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result

    async def _judge_uncached(self, todo: list[Post], canonical: list[Filter], expansions: Expansions,
                              result: PageJudgement) -> dict[str, PostVerdict]:
        try:
            result.provider_calls += 1
            return await asyncio.wait_for(self.provider.judge(todo, canonical, expansions), timeout=self.budget)
        except (ProviderError, TimeoutError) as exc:
            reason = "time budget exceeded" if isinstance(exc, TimeoutError) else str(exc)
            log.warning("provider %s failed for %d posts (%s)", self.provider.name, len(todo), reason)
            if self.fallback is None:
                result.fallback = reason
                return {}
            result.fallback = f"{self.provider.name} failed ({reason}); judged by {self.fallback.name}"
            try:
                return await asyncio.wait_for(self.fallback.judge(todo, canonical, expansions),
                                              timeout=self.budget)
            except (ProviderError, TimeoutError) as exc2:
                log.error("fallback provider failed too: %s", exc2)
                return {}

    async def _store_later(self, entries: list[tuple[str, bytes]]) -> None:
        """Cache the verdicts in a background task (the response does not wait for Redis to answer), or
        inline when ``MAX_PENDING_STORES`` are already under way."""
        if len(self._stores) >= MAX_PENDING_STORES:
            log.warning("verdict cache: %d stores pending, this page's verdicts are stored inline", len(self._stores))
            await self._store(entries)
            return
        task = asyncio.create_task(self._store(entries), name="store-verdicts")
        self._stores.add(task)
        task.add_done_callback(self._stored)

    def _stored(self, task: asyncio.Task[None]) -> None:
        self._stores.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            # _store logs Redis being unavailable itself; anything else is a defect, said loudly.
            log.error("verdict cache store failed unexpectedly", exc_info=exc)

    async def drain(self) -> None:
        """Wait for the verdict stores under way (shutdown, tests, benchmarks)."""
        while self._stores:
            await asyncio.gather(*list(self._stores), return_exceptions=True)

    async def _store(self, entries: list[tuple[str, bytes]]) -> None:
        """``entries``: (verdict key, encoded verdict) pairs."""
        try:
            pipe = self.redis.pipeline(transaction=False)
            for key, encoded in entries:
                pipe.set(key, encoded, ex=VERDICT_TTL_SECONDS)
            await pipe.execute()
        except redis.RedisError as exc:  # unavailable, out of memory, refused: a cache write, never the answer
            log.warning("could not cache verdicts: %s", exc)

    @staticmethod
    def _to_user_ids(verdict: PostVerdict, back: dict[int, Filter]) -> PostVerdict:
        # Built directly: dataclasses.replace reads the class's fields on every call (~0.15 ms a page).
        matches = [Match(filter_id=back[m.filter_id].id, on=m.on, reason=m.reason, spans=m.spans,
                         confidence=m.confidence) for m in verdict.matches if m.filter_id in back]
        return PostVerdict(post_id=verdict.post_id, matches=matches, rewritten_title=verdict.rewritten_title,
                           rewritten_body=verdict.rewritten_body)
