"""GELU as one node: the exported MiniLM graph spells it in five, which onnxruntime does not fuse.

Each layer's feed-forward activation is exported as ``x * (0.5 * (1 + erf(x / sqrt(2))))``: Div, Erf, Add,
Mul, Mul over the layer's 1,536-wide intermediate tensor. onnxruntime's own GELU fusion looks for the 0.5 on
the other side of the product and leaves these five nodes alone, so a text pays for five passes over that
tensor and five kernel launches per layer. ``fused_gelu_model`` replaces each with onnxruntime's ``Gelu``
(``com.microsoft``): 0.5 * x * (1 + erf(x * 1/sqrt(2))), the same function; multiplying by 1/sqrt(2) instead
of dividing by sqrt(2) rounds differently in the last bit, and the next layer's dynamic quantisation can carry
that a little further. Measured on 150 development texts: ~10% less CPU per text, vectors within cosine 0.999
of the five-node graph's (``tests/moderation/test_gelu_graph.py``).

The rewrite checks the structure it expects and raises ``ValueError`` when a graph is not that one.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

_MICROSOFT = "com.microsoft"


def fused_gelu_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` with every exported GELU (Div by sqrt 2, Erf, Add 1, then the products by 0.5 and by
    x in either order) as one ``Gelu`` node."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer if len(t.dims) == 0}
    producer = {name: node for node in graph.node for name in node.output}
    consumers: dict[str, list[onnx.NodeProto]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    erfs = [n for n in graph.node if n.op_type == "Erf"]
    if not erfs:
        raise ValueError("no Erf in the graph: not the exported GELU")
    # By identity, not name: the format does not require names to be there or unique.
    replaced: dict[int, onnx.NodeProto] = {}  # the last node of each GELU -> its Gelu node
    removed: set[int] = set()
    for erf in erfs:
        chain = _gelu_chain(erf, producer, consumers, constants)
        if chain is None:
            raise ValueError(f"{erf.name} is not part of x * (0.5 * (1 + erf(x / sqrt(2))))")
        x, nodes = chain
        last = nodes[-1]
        replaced[id(last)] = helper.make_node("Gelu", [x], [last.output[0]], name=f"{last.name}_gelu",
                                              domain=_MICROSOFT)
        removed.update(id(n) for n in nodes)
    kept = []
    for node in graph.node:
        if id(node) in replaced:
            kept.append(replaced[id(node)])
        elif id(node) not in removed:
            kept.append(node)
    del graph.node[:]
    graph.node.extend(kept)
    used = {name for node in graph.node for name in node.input}
    for constant in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(constant)
    if not any(o.domain == _MICROSOFT for o in out.opset_import):
        out.opset_import.append(helper.make_opsetid(_MICROSOFT, 1))
    return out


def _gelu_chain(erf: onnx.NodeProto, producer: dict[str, onnx.NodeProto],
                consumers: dict[str, list[onnx.NodeProto]], constants: dict[str, np.ndarray]
                ) -> tuple[str, list[onnx.NodeProto]] | None:
    """The GELU's input and its five nodes in order, or None when ``erf`` is not inside one."""
    def constant(node: onnx.NodeProto, value: float) -> str | None:
        """The node's other input, when one of its two is the scalar constant ``value``."""
        for i, name in enumerate(node.input):
            if name in constants and np.isclose(float(constants[name]), value, rtol=1e-6, atol=0):
                return node.input[1 - i]
        return None

    def only_consumer(name: str) -> onnx.NodeProto | None:
        users = consumers.get(name, [])
        return users[0] if len(users) == 1 else None

    divide = producer.get(erf.input[0])
    if divide is None or divide.op_type != "Div" or divide.input[1] not in constants \
            or not np.isclose(float(constants[divide.input[1]]), np.sqrt(2.0), rtol=1e-6, atol=0):
        return None
    x = divide.input[0]
    plus_one = only_consumer(erf.output[0])
    if plus_one is None or plus_one.op_type != "Add" or constant(plus_one, 1.0) != erf.output[0]:
        return None
    first = only_consumer(plus_one.output[0])
    second = only_consumer(first.output[0]) if first is not None else None
    if first is None or second is None or first.op_type != "Mul" or second.op_type != "Mul":
        return None
    # 0.5 * (1 + erf) then times x (this model's export), or x * (1 + erf) then times 0.5: the same function.
    if constant(first, 0.5) == plus_one.output[0] and sorted(second.input) == sorted([x, first.output[0]]):
        return x, [divide, erf, plus_one, first, second]
    if sorted(first.input) == sorted([x, plus_one.output[0]]) and constant(second, 0.5) == first.output[0]:
        return x, [divide, erf, plus_one, first, second]
    return None
