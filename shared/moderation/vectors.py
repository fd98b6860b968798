"""Vector sources for ``OpenVocabMatcher`` outside the gateway (the model in a worker thread, memoised), and
``run_alongside``, with which both sources overlap the caller's work with the model's run."""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import TypeVar

import numpy as np

from shared.moderation.embedder import DIMENSIONS, Embedder

T = TypeVar("T")


async def run_alongside(start: Callable[[Callable[[], None]], asyncio.Future[T]],
                        meanwhile: Callable[[], None] | None) -> T:
    """Start the model's run with ``start(on_started)``, wait until its threads have begun (``Embedder.embed``:
    from then on they need the GIL only between texts), do ``meanwhile`` on the event loop while they compute,
    then return the run's result. The run is awaited even when ``meanwhile`` raises: none is left behind.
    Without ``meanwhile`` the run is simply awaited."""
    if meanwhile is None:
        return await start(lambda: None)
    loop = asyncio.get_running_loop()
    started: asyncio.Future[None] = loop.create_future()

    def on_started() -> None:  # called from a model thread
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile (shutdown): nobody waits any more
            loop.call_soon_threadsafe(lambda: started.done() or started.set_result(None))

    running = start(on_started)
    await asyncio.wait({started, running}, return_when=asyncio.FIRST_COMPLETED)  # a run may fail before starting
    try:
        meanwhile()
    except BaseException:
        await asyncio.gather(running, return_exceptions=True)
        raise
    return await running


class MemoVectors:
    """Embeds what it has not seen (in one model call per request, off the event loop) and remembers it."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self.computed = 0

    async def vectors(self, texts: Sequence[str], *, if_cached: Sequence[str] = (), looked_up: bool = False,
                      meanwhile: Callable[[], None] | None = None) -> np.ndarray:
        """Rows for ``texts`` (computed if new), then for ``if_cached`` (NaN where not remembered); ``meanwhile``
        as in ``VectorSource.vectors``; ``looked_up`` changes nothing here (the memo is the only lookup)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if not missing and meanwhile is not None:
            meanwhile()
        if missing:
            fresh = await run_alongside(
                lambda on_started: asyncio.ensure_future(asyncio.to_thread(self.embedder.embed, missing, on_started)),
                meanwhile)
            self.computed += len(missing)
            for text, vec in zip(missing, fresh, strict=True):
                self._memo[text] = vec
            while len(self._memo) > self.capacity:
                self._memo.popitem(last=False)
        out = np.full((len(texts) + len(if_cached), DIMENSIONS), np.nan, dtype=np.float32)
        for i, text in enumerate(texts):
            out[i] = self._memo[text]
        for i, text in enumerate(if_cached, start=len(texts)):
            if text in self._memo:
                out[i] = self._memo[text]
        return out
