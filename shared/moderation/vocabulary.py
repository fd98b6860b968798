"""Word vectors for the model's own whole-word vocabulary, so any word of a post can be compared with a
filter's subject without another model run ("quake" is close to "earthquakes", "casino" to "gambling").

The vocabulary is the tokenizer's (about 21,000 lower-case words); its vectors are computed once per
installation (about 7 s) into ``DATA_DIR/models`` next to the derived model, as float16, and loaded
from there afterwards (milliseconds, 16 MB). Batched, unlike posts: the table is computed once and stored,
so the small batch effect of dynamic quantisation cannot make two runs disagree.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from shared.moderation.embedder import RUNTIME_VERSION, Embedder, default_tokenizer_path

_WORD = re.compile(r"[a-z]{3,}")


class WordVectors:
    def __init__(self, embedder: Embedder, cache_dir: Path, tokenizer_path: Path | None = None) -> None:
        vocab = json.loads((tokenizer_path or default_tokenizer_path()).read_text())["model"]["vocab"]
        self.words = sorted(w for w in vocab if _WORD.fullmatch(w))
        self.index = {w: i for i, w in enumerate(self.words)}
        target = Path(cache_dir) / f"words-{embedder.spec.sha256[:16]}-{RUNTIME_VERSION}-{len(self.words)}.npy"
        matrix = None
        if target.is_file():
            try:
                matrix = np.load(target, mmap_mode="r")
                if matrix.shape != (len(self.words), 384):
                    matrix = None
            except (OSError, ValueError):
                matrix = None
        if matrix is None:
            matrix = embedder.embed_table(self.words).astype(np.float16)
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_suffix(".tmp.npy")
            np.save(partial, matrix)
            os.replace(partial, target)
        self.matrix = np.asarray(matrix, dtype=np.float32)

    def known(self, words: Iterable[str]) -> list[str]:
        """Those of ``words`` (lower-cased) the vocabulary has vectors for, each once, in first-seen order."""
        return [w for w in dict.fromkeys(words) if w in self.index]

    def vectors(self, words: list[str]) -> np.ndarray:
        """One row per word, all known (see :meth:`known`)."""
        return self.matrix[[self.index[w] for w in words]]
