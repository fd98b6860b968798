"""The offline model of a process: the embedder and the vocabulary vectors, loaded once at start.

Loading is warm (a first request pays nothing) and fails loudly: ``ModelUnavailable`` says how to
repair the installation; nothing falls back to weaker matching. One load per cache folder per
process and configuration, so in-process tests that build many apps share it.

Loading also keeps numpy's BLAS on one thread in the process: the matcher's products are small
(a page's texts against a few hundred vectors), yet large enough for OpenBLAS to wake its helper
threads, whose spinning cost 15-30 ms of CPU per cached page instead of 5-6 (measured), taken
from the other gateway processes.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

from threadpoolctl import threadpool_limits

from shared.config import Settings
from shared.moderation.embedder import MODEL_SHA256, RUNTIME_VERSION, Embedder, ModelUnavailable
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
    key = (cache, settings.embedding_model_file, embedding_parallel(settings))
    with _lock:
        if not _loaded:
            threadpool_limits(limits=1, user_api="blas")
        if key not in _loaded:
            embedder = _embedder(settings, cache)
            _loaded[key] = OfflineModel(embedder, WordVectors(embedder, cache))
        return _loaded[key]


def embedding_parallel(settings: Settings, cores: int | None = None) -> int:
    """``EMBEDDING_THREADS``, or for 0 the cores each gateway process has to itself (at most 4): threads beyond
    that only compete with the other processes' model runs."""
    if settings.embedding_threads > 0:
        return settings.embedding_threads
    cores = cores or os.cpu_count() or 1
    processes = settings.gateway_processes or cores  # 0: one per core
    return max(1, min(4, cores // processes))


def _embedder(settings: Settings, cache: Path) -> Embedder:
    chosen = settings.embedding_model_file
    try:
        return Embedder(cache, model_path=Path(chosen) if chosen else None, parallel=embedding_parallel(settings))
    except ModelUnavailable as exc:
        if not chosen:
            raise
        raise ModelUnavailable(f"{exc}; or unset EMBEDDING_MODEL_FILE (now {chosen!r}) to use the installed "
                               "package's file") from exc
