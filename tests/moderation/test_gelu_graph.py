"""GELU in one node: the same function as the exported five nodes, and no rewrite of a graph it does not know."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from bench.open_vocab_data import dev_set
from shared.moderation.embedder import MINILM_L6, Embedder, derived_model_path
from shared.moderation.evidence import post_text
from shared.moderation.gelu_graph import fused_gelu_model


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def test_fused_vectors_stay_those_of_the_exported_gelu(cache_dir: Path) -> None:
    _, labelled = dev_set()
    texts = list(dict.fromkeys(t for lp in labelled for t in (post_text(lp.post.title, lp.post.body),
                                                               lp.post.image_alt) if t))
    fused = Embedder(cache_dir)
    exported = Embedder(cache_dir, spec=replace(MINILM_L6, fused_gelu=False))
    assert Path(fused.load.path) != Path(exported.load.path)  # each graph has its own derived file
    a, b = fused.embed(texts), exported.embed(texts)
    cosines = (a * b).sum(axis=1)
    assert cosines.min() > 0.999
    assert not np.array_equal(a, b)  # the fused graph did run: 1/sqrt(2) rounds apart from dividing by sqrt(2)


def test_the_derived_graph_has_one_gelu_per_layer_and_no_erf(cache_dir: Path) -> None:
    Embedder(cache_dir)
    ops = [n.op_type for n in onnx.load(str(derived_model_path(cache_dir))).graph.node]
    assert ops.count("Gelu") == 6 and "Erf" not in ops
    assert ops.count("MatMulInteger") == 36  # the rest of the arithmetic is all there


def _gelu_graph(first_half: bool, divisor: float = float(np.sqrt(2.0))) -> onnx.ModelProto:
    """x -> x * (0.5 * (1 + erf(x / divisor))) (``first_half``) or (x * (1 + erf(x / divisor))) * 0.5."""
    consts = [numpy_helper.from_array(np.array(v, np.float32), n) for n, v in
              (("root2", divisor), ("one", 1.0), ("half", 0.5))]
    nodes = [helper.make_node("Div", ["x", "root2"], ["scaled"]), helper.make_node("Erf", ["scaled"], ["erf"]),
             helper.make_node("Add", ["erf", "one"], ["plus"])]
    if first_half:
        nodes += [helper.make_node("Mul", ["half", "plus"], ["halved"]),
                  helper.make_node("Mul", ["x", "halved"], ["y"])]
    else:
        nodes += [helper.make_node("Mul", ["x", "plus"], ["times"]),
                  helper.make_node("Mul", ["times", "half"], ["y"])]
    graph = helper.make_graph(nodes, "gelu", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], consts)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


@pytest.mark.parametrize("first_half", [True, False])
def test_either_order_of_the_products_becomes_one_gelu(first_half: bool) -> None:
    import onnxruntime as ort

    model = _gelu_graph(first_half)
    fused = fused_gelu_model(model)
    assert [n.op_type for n in fused.graph.node] == ["Gelu"] and not fused.graph.initializer
    x = np.array([-3.0, -0.5, 0.25, 2.0], np.float32)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2.0))) for v in x.tolist()], np.float32)
    for graph in (model, fused):
        got = ort.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
        assert np.allclose(got, want, atol=1e-6)


def test_a_graph_whose_erf_is_not_a_gelu_is_refused() -> None:
    with pytest.raises(ValueError, match="is not part of"):
        fused_gelu_model(_gelu_graph(True, divisor=2.0))
    empty = helper.make_graph([], "empty", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])])
    with pytest.raises(ValueError, match="no Erf"):
        fused_gelu_model(helper.make_model(empty))
