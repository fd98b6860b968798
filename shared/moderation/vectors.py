"""Vector sources for ``OpenVocabMatcher`` outside the gateway: the model in a worker thread, memoised."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from shared.moderation.embedder import DIMENSIONS, Embedder


class MemoVectors:
    """Embeds what it has not seen (in one model call per request, off the event loop) and remembers it."""

    def __init__(self, embedder: Embedder, capacity: int = 50_000) -> None:
        self.embedder = embedder
        self.capacity = capacity
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self.computed = 0

    async def vectors(self, texts: Sequence[str], *, if_cached: Sequence[str] = (), looked_up: bool = False
                      ) -> np.ndarray:
        """Rows for ``texts`` (computed if new), then for ``if_cached`` (NaN where not remembered); ``looked_up``
        changes nothing here (the memo is the only lookup)."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._memo]
        if missing:
            fresh = await asyncio.to_thread(self.embedder.embed, missing)
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
