"""The offline model of a process: the embedder and the vocabulary vectors, loaded once at start.

Loading is warm (a first request pays nothing) and fails loudly: ``ModelUnavailable`` says how to
repair the installation; nothing falls back to weaker matching. One load per cache folder per
process and configuration, so in-process tests that build many apps share it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from shared.config import Settings
from shared.moderation.embedder import MODEL_SHA256, RUNTIME_VERSION, Embedder
from shared.moderation.vocabulary import WordVectors

MODEL_TAG = f"minilm-{MODEL_SHA256[:12]}-{RUNTIME_VERSION}"  # part of every cached embedding's key


@dataclass(frozen=True)
class OfflineModel:
    embedder: Embedder
    words: WordVectors


_loaded: dict[tuple[Path, str, int], OfflineModel] = {}
_lock = threading.Lock()


def model_cache_dir(settings: Settings) -> Path:
    return Path(settings.data_dir) / "models"


def load_offline_model(settings: Settings) -> OfflineModel:
    cache = model_cache_dir(settings)
    key = (cache, settings.embedding_model_file, settings.embedding_threads)
    with _lock:
        if key not in _loaded:
            embedder = Embedder(cache, model_path=Path(settings.embedding_model_file) if settings.embedding_model_file
                                else None, threads=settings.embedding_threads)
            _loaded[key] = OfflineModel(embedder, WordVectors(embedder, cache))
        return _loaded[key]
