"""Embeddings cached in Redis by a hash of the exact text the model saw, shared by every user.

A page's texts are looked up with one MGET; whatever is missing goes to the model in one call, in a
worker thread (the event loop keeps serving), and is written back with a TTL in one pipeline. The
write runs in the background: the page does not wait for it (it cost ~2 ms of an uncached page's
wall time), and a failed write is logged, never raised into the page. Saving a filter waits for it
(``wait_for_store``), so every process finds the filter's vectors at once. Texts that recur on every
request (filter descriptions, the background topics, a page being re-read) are kept in a small
in-process memo (least recently used first out).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import redis
import redis.asyncio as aioredis

from shared import redisconn
from shared.keys import embedding_key
from shared.moderation.embedder import DIMENSIONS, Embedder
from shared.moderation.offline import MODEL_TAG
from shared.moderation.vectors import run_alongside

log = logging.getLogger(__name__)

EMBEDDING_TTL_SECONDS = 7 * 24 * 3600
_MEMO_CAPACITY = 4096


class RedisVectors:
    def __init__(self, client: aioredis.Redis, embedder: Embedder) -> None:
        self.redis = client
        self.embedder = embedder
        # One model thread: inference is CPU-bound, and a second thread would only contend for the cores.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed")
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._stores: set[asyncio.Task[None]] = set()
        self.model_runs = 0
        self.embedded = 0

    async def vectors(self, texts: Sequence[str], *, if_cached: Sequence[str] = (), looked_up: bool = False,
                      meanwhile: Callable[[], None] | None = None, wait_for_store: bool = False) -> np.ndarray:
        """Unit vectors for ``texts``; new ones are written to Redis in the background unless ``wait_for_store``.
        Then one row for each of ``if_cached``, looked up in the same MGET but never computed (NaN if absent).
        ``looked_up`` and ``meanwhile`` as in ``VectorSource.vectors``: no MGET for texts the caller has just
        missed, and the caller's own work done while the model computes."""
        unique = list(dict.fromkeys(texts))
        listed = set(unique)
        optional = [t for t in dict.fromkeys(if_cached) if t not in listed]
        found: dict[str, np.ndarray] = {t: self._memo[t] for t in unique + optional if t in self._memo}
        lookup = [t for t in (optional if looked_up else unique + optional) if t not in found]
        if lookup:
            try:
                raw = await redisconn.mget(self.redis, [embedding_key(MODEL_TAG, t) for t in lookup])
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                log.warning("embedding cache unavailable: %s", exc)
                raw = [None] * len(lookup)
            for text, blob in zip(lookup, raw, strict=True):
                if blob is not None and len(blob) == DIMENSIONS * 2:
                    found[text] = np.frombuffer(blob, dtype=np.float16).astype(np.float32)
        missing = [t for t in unique if t not in found]
        if not missing and meanwhile is not None:
            meanwhile()
        if missing:
            loop = asyncio.get_running_loop()
            computed = await run_alongside(
                lambda on_started: loop.run_in_executor(self._executor, self.embedder.embed, missing, on_started),
                meanwhile)
            # float16 halves the bytes (cosine similarities move by < 1e-3); used as stored, so a vector read
            # back from Redis later scores exactly the same.
            stored = computed.astype(np.float16)
            self.model_runs += 1
            self.embedded += len(missing)
            for text, vec in zip(missing, stored.astype(np.float32), strict=True):
                found[text] = vec
            store = self._store(missing, stored)
            if wait_for_store:
                await store
            else:
                task = loop.create_task(store)
                self._stores.add(task)
                task.add_done_callback(self._stored)
        self._memoise(found)
        out = np.full((len(texts) + len(if_cached), DIMENSIONS), np.nan, dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = found[text]
        for i, text in enumerate(if_cached, start=len(texts)):
            if text in found:
                out[i] = found[text]
        return out

    def _memoise(self, found: dict[str, np.ndarray]) -> None:
        for text, vec in found.items():
            self._memo[text] = vec
            self._memo.move_to_end(text)
        while len(self._memo) > _MEMO_CAPACITY:
            self._memo.popitem(last=False)

    async def _store(self, texts: list[str], matrix: np.ndarray) -> None:
        """Write float16 vectors; a failure is logged (the page has its vectors; the next one recomputes)."""
        try:
            pipe = self.redis.pipeline(transaction=False)
            for text, vec in zip(texts, matrix, strict=True):
                pipe.set(embedding_key(MODEL_TAG, text), vec.tobytes(), ex=EMBEDDING_TTL_SECONDS)
            await pipe.execute()
        except redis.RedisError as exc:
            # A pipeline's error quotes the failed command, binary vector and all: keep only Redis's reason.
            reason = str(exc).rpartition("caused error: ")[2]
            log.warning("could not cache %d embeddings: %s: %s", len(texts), type(exc).__name__, reason)

    def _stored(self, task: asyncio.Task[None]) -> None:
        self._stores.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:  # not a Redis error: a defect, said loudly
            log.error("writing embeddings to the cache failed", exc_info=exc)

    async def flush(self) -> None:
        """Wait for the background writes started so far."""
        if self._stores:
            await asyncio.gather(*list(self._stores), return_exceptions=True)

    async def aclose(self) -> None:
        await self.flush()
        self.close()

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
