"""The MiniLM graph specialised for what the embedder feeds it: one text alone, every token attended to.

The exported graph serves padded batches: each layer adds an additive attention mask built from
``attention_mask`` (0 where a token is attended to) before the softmax and replaces NaN
probabilities with 0 after it, the keys reach their matmul through a reshape-transpose-reshape chain
sized by ``Shape``/``Slice``/``Concat`` nodes, and every token type is looked up. For one text without
padding each of those is an exact identity: the mask adds 0.0, no probability is NaN (finite inputs),
the key chain is the single transpose it amounts to, and the token type is always 0. Removing them
takes ~100 of the 276 nodes onnxruntime runs, 10-17% of a text's CPU (most of it per-node overhead on
these short inputs), and leaves every arithmetic node fed the same numbers: the vectors are bit for bit
those of the full graph (``tests/moderation/test_single_text_graph.py`` compares them on the
development set's texts). Padded batches (the word table) keep the full graph.

Every rewrite checks the structure it expects and raises ``ValueError`` when the graph is not that
one, so a different model file can never be run through a wrong rewrite.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper

_KEY_PERM_HEADS_FIRST = [0, 2, 1, 3]  # (batch, tokens, heads, dim) -> (batch, heads, tokens, dim)
_KEY_PERM_FOR_MATMUL = [0, 2, 3, 1]  # (batch, tokens, heads, dim) -> (batch, heads, dim, tokens)
_TOKEN_TYPE_ZERO = "single_text_token_type"


def single_text_model(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy of ``model`` for one unpadded text; its only input is ``input_ids`` of shape (1, tokens)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    graph = out.graph
    producer = {name: node for node in graph.node for name in node.output}
    rename: dict[str, str] = {}
    softmaxes = [n for n in graph.node if n.op_type == "Softmax"]
    if not softmaxes:
        raise ValueError("no attention softmax in the graph")
    for softmax in softmaxes:
        masked = producer.get(softmax.input[0])
        if masked is None or masked.op_type != "Add" or not _is_attention_mask(masked.input[1], producer, graph):
            raise ValueError(f"softmax {softmax.name} is not fed by scores + the attention mask")
        softmax.input[0] = masked.input[0]
    for node in graph.node:
        guard = producer.get(node.input[0]) if node.op_type == "Where" and node.input else None
        if guard is not None and guard.op_type == "IsNaN" and guard.input[0] == node.input[2]:
            rename[node.output[0]] = node.input[2]
    if len(rename) != len(softmaxes):
        raise ValueError(f"expected one NaN guard per softmax, found {len(rename)} for {len(softmaxes)}")
    _fold_key_chains(graph, producer, expected=len(softmaxes))
    _fix_token_type(graph)
    for node in graph.node:
        for i, name in enumerate(node.input):
            if name in rename:
                node.input[i] = rename[name]
    _drop_unused(graph)
    if [i.name for i in graph.input] != ["input_ids"]:
        raise ValueError(f"the single-text graph should read input_ids only, it reads {[i.name for i in graph.input]}")
    return out


def _is_attention_mask(name: str, producer: dict[str, onnx.NodeProto], graph: onnx.GraphProto) -> bool:
    """Whether ``name`` is Where(condition, 0.0, very negative) computed from ``attention_mask``."""
    node = producer.get(name)
    if node is None or node.op_type != "Where":
        return False
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer if t.name in node.input[1:]}
    keep, drop = (constants.get(n) for n in node.input[1:])
    if keep is None or drop is None or keep.size != 1 or drop.size != 1 or float(keep) != 0.0 or float(drop) > -1e30:
        return False
    return "attention_mask" in _ancestors(node.input[0], producer)


def _ancestors(name: str, producer: dict[str, onnx.NodeProto]) -> set[str]:
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in producer:
            todo.extend(producer[current].input)
    return seen


def _perm(node: onnx.NodeProto) -> list[int]:
    return [int(p) for a in node.attribute if a.name == "perm" for p in helper.get_attribute_value(a)]


def _fold_key_chains(graph: onnx.GraphProto, producer: dict[str, onnx.NodeProto], expected: int) -> None:
    """Transpose(0,2,1,3) -> Reshape -> Transpose(0,2,1) -> Reshape  ==  Transpose(0,2,3,1): the same elements."""
    folded = 0
    for index, last in enumerate(list(graph.node)):
        if last.op_type != "Reshape":
            continue
        swap = producer.get(last.input[0])
        if swap is None or swap.op_type != "Transpose" or _perm(swap) != [0, 2, 1]:
            continue
        merge = producer.get(swap.input[0])
        heads_first = producer.get(merge.input[0]) if merge is not None else None
        if (merge is None or merge.op_type != "Reshape" or heads_first is None
                or heads_first.op_type != "Transpose" or _perm(heads_first) != _KEY_PERM_HEADS_FIRST):
            raise ValueError(f"key chain at {last.name} is not the expected reshape-transpose-reshape")
        graph.node.remove(last)
        graph.node.insert(index, helper.make_node("Transpose", [heads_first.input[0]], [last.output[0]],
                                                  name=f"{last.name}_single_text", perm=_KEY_PERM_FOR_MATMUL))
        folded += 1
    if folded != expected:
        raise ValueError(f"expected {expected} key chains, folded {folded}")


def _fix_token_type(graph: onnx.GraphProto) -> None:
    """Token type 0 for every token: its embedding row is gathered once (shape (1, 1, dim), broadcast by the
    Add), and shapes come from ``input_ids`` (the same shape)."""
    graph.initializer.append(numpy_helper.from_array(np.zeros((1, 1), np.int64), _TOKEN_TYPE_ZERO))
    lookups = 0
    for node in graph.node:
        if "token_type_ids" not in node.input:
            continue
        if node.op_type == "Gather" and list(node.input).index("token_type_ids") == 1:
            node.input[1] = _TOKEN_TYPE_ZERO
            lookups += 1
        elif node.op_type == "Shape":
            node.input[0] = "input_ids"
        else:
            raise ValueError(f"token_type_ids feeds an unexpected {node.op_type} node ({node.name})")
    if lookups != 1:
        raise ValueError(f"expected one token type lookup, found {lookups}")


def _drop_unused(graph: onnx.GraphProto) -> None:
    outputs = {o.name for o in graph.output}
    while True:
        used = {name for node in graph.node for name in node.input} | outputs
        dead = [node for node in graph.node if not any(name in used for name in node.output)]
        if not dead:
            break
        for node in dead:
            graph.node.remove(node)
    used = {name for node in graph.node for name in node.input}
    for graph_input in [i for i in graph.input if i.name not in used]:
        graph.input.remove(graph_input)
    for constant in [t for t in graph.initializer if t.name not in used]:
        graph.initializer.remove(constant)
