"""Filter expansions in Redis: asked once per distinct filter text, in the background, shared by every user.

* ``schedule(text)`` (on filter save, and for a text a feed found unexpanded) starts a background task
  and returns at once: a save never waits for the model. The task asks nothing when the expansion is
  cached, or when another task or process holds the text's claim (``SET NX``; after a failure the claim
  stays for ``FILTER_EXPANSION_RETRY_SECONDS``, so a provider that is down is not asked on every save).
  On success the expansion is stored for ``FILTER_EXPANSION_TTL_SECONDS`` and its texts are embedded,
  so the next page pays nothing; on failure it is logged and the rule-compiled concept stays.
* ``lookup(texts)`` is what a page reads: one MGET for the texts not remembered in this process.
  Found expansions are remembered (they never change for a prompt version); a text found without one
  is not asked again for ``MISSING_RECHECK_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable

import redis
import redis.asyncio as aioredis

from gateway import metrics
from gateway.moderation.filter_expansion import PROMPT_VERSION, FilterExpander
from shared import redisconn
from shared.keys import filter_expansion_claim_key, filter_expansion_key
from shared.moderation.expansion import ExpansionRejected, FilterExpansion, normalise_filter_text, parse_expansion
from shared.moderation.open_vocab import VectorSource
from shared.moderation.types import ProviderError

log = logging.getLogger(__name__)

MISSING_RECHECK_SECONDS = 30.0
CONCURRENT_CALLS = 2  # per process: expansion is background work and must not crowd out page judging
MAX_PENDING = 256  # tasks per process; beyond, a text waits for its next save or feed
_MEMO_CAPACITY = 4096
_CLAIM_MARGIN_SECONDS = 5  # a claim outlives the call, so a crashed process's claim still expires


class FilterExpansions:
    def __init__(self, client: aioredis.Redis, expander: FilterExpander, vectors: VectorSource | None, *,
                 ttl_seconds: int, retry_seconds: int) -> None:
        self.redis = client
        self.expander = expander
        self.vectors = vectors
        self.ttl = ttl_seconds
        self.retry = retry_seconds
        self._slots = asyncio.Semaphore(CONCURRENT_CALLS)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._found: OrderedDict[str, FilterExpansion] = OrderedDict()
        self._missing_until: dict[str, float] = {}
        self.calls = 0  # model calls this process made (tests, metrics)

    # --- reading, once per page ---

    async def lookup(self, filter_texts: Iterable[str]) -> dict[str, FilterExpansion]:
        """Cached expansions by normalised text; texts without one are scheduled (at most every 30 s)."""
        now = time.monotonic()
        found: dict[str, FilterExpansion] = {}
        ask: list[str] = []
        for text in dict.fromkeys(normalise_filter_text(t) for t in filter_texts):
            if text in self._found:
                found[text] = self._found[text]
            elif self._missing_until.get(text, 0.0) <= now:
                ask.append(text)
        if not ask:
            return found
        try:
            raw = await redisconn.mget(self.redis, [filter_expansion_key(PROMPT_VERSION, t) for t in ask])
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("filter expansion cache unavailable: %s", exc)
            return found
        for text, blob in zip(ask, raw, strict=True):
            expansion = _decode(text, blob)
            if expansion is None:
                self._note_missing(text, now)
                self.schedule(text)
            else:
                found[text] = expansion
                self._remember(text, expansion)
        return found

    # --- asking, in the background ---

    def schedule(self, filter_text: str) -> None:
        """Expand ``filter_text`` in the background unless it is cached, claimed or already on its way."""
        text = normalise_filter_text(filter_text)
        if not text or text in self._found or text in self._tasks:
            return
        if len(self._tasks) >= MAX_PENDING:
            log.warning("filter expansion: %d tasks pending, %r waits for its next save", len(self._tasks), text)
            return
        task = asyncio.create_task(self._expand(text), name=f"expand-filter:{text[:40]}")
        self._tasks[text] = task
        task.add_done_callback(lambda _: self._tasks.pop(text, None))

    async def drain(self) -> None:
        """Wait for every expansion under way (tests; shutdown cancels instead, see ``aclose``)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)

    async def aclose(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*list(self._tasks.values()), return_exceptions=True)
        await self.expander.aclose()

    async def _expand(self, text: str) -> None:
        key = filter_expansion_key(PROMPT_VERSION, text)
        claim = filter_expansion_claim_key(PROMPT_VERSION, text)
        try:
            async with self._slots:
                cached = _decode(text, await self.redis.get(key))
                if cached is not None:
                    self._remember(text, cached)
                    return
                claim_seconds = int(self.expander.timeout) + _CLAIM_MARGIN_SECONDS
                if not await self.redis.set(claim, b"running", nx=True, ex=claim_seconds):
                    return  # another task or process is asking, or the last attempt failed recently
                self.calls += 1
                try:
                    expansion = await self.expander.expand(text)
                except (ProviderError, ExpansionRejected) as exc:
                    log.warning("filter expansion of %r failed (%s); its rule-compiled concept is used", text, exc)
                    metrics.filter_expansions.labels("failed").inc()
                    await self._pause(claim)
                    return
                await self.redis.set(key, expansion.to_json(), ex=self.ttl)
                await self.redis.delete(claim)
                metrics.filter_expansions.labels("stored").inc()
            self._remember(text, expansion)
            if self.vectors is not None:
                await self.vectors.vectors(expansion.texts())  # the next page finds them embedded
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("filter expansion of %r not stored: Redis unavailable (%s)", text, exc)
        except Exception:  # a background task has nobody to raise to: say so, loudly
            log.exception("filter expansion of %r failed unexpectedly; its rule-compiled concept is used", text)

    async def _pause(self, claim: str) -> None:
        """Keep the claim as a pause after a failure, so the text is not asked again on every save."""
        if self.retry > 0:
            await self.redis.set(claim, b"failed", ex=self.retry)
        else:
            await self.redis.delete(claim)

    def _note_missing(self, text: str, now: float) -> None:
        if len(self._missing_until) >= _MEMO_CAPACITY:
            self._missing_until = {t: until for t, until in self._missing_until.items() if until > now}
            if len(self._missing_until) >= _MEMO_CAPACITY:
                self._missing_until.clear()  # every entry is fresh: forgetting them costs one MGET each
        self._missing_until[text] = now + MISSING_RECHECK_SECONDS

    def _remember(self, text: str, expansion: FilterExpansion) -> None:
        self._missing_until.pop(text, None)
        self._found[text] = expansion
        self._found.move_to_end(text)
        while len(self._found) > _MEMO_CAPACITY:
            self._found.popitem(last=False)


def _decode(text: str, blob: bytes | None) -> FilterExpansion | None:
    """A cached expansion, validated again (Redis is shared; what it holds is checked like a reply)."""
    if blob is None:
        return None
    try:
        return parse_expansion(blob)
    except ExpansionRejected as exc:
        log.warning("cached filter expansion of %r is unusable (%s); ignored", text, exc)
        return None
