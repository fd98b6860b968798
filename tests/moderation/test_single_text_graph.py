"""The single-text graph: the full graph's vectors bit for bit, and no rewrite of a graph it does not know."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from bench.open_vocab_data import dev_set
from shared.moderation.background import BACKGROUND_TOPICS
from shared.moderation.embedder import MINILM_L6, Embedder, derived_model_path
from shared.moderation.evidence import post_text, without_subject
from shared.moderation.open_vocab import concept_for
from shared.moderation.single_text_graph import single_text_model


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


def _dev_texts() -> list[str]:
    """What the matcher sends the model for the development set: posts, image texts, masked copies, concepts."""
    filters, labelled = dev_set()
    concepts = [concept_for(f.filter_text) for f in filters]
    texts: list[str] = []
    for lp in labelled:
        text = post_text(lp.post.title, lp.post.body)
        texts += [text, lp.post.image_alt or ""] + [without_subject(c.topic, text) for c in concepts]
    texts += [t for c in concepts for t in c.texts()] + list(BACKGROUND_TOPICS)
    texts += ["x", "word " * 200, "Émojis 🦈 and ÜNICODE — ok?"]  # one piece, truncated at 128, odd characters
    return [t for t in dict.fromkeys(texts) if t]


def test_single_text_vectors_are_the_full_graphs_bit_for_bit(cache_dir: Path) -> None:
    texts = _dev_texts()
    assert len(texts) > 300
    single = Embedder(cache_dir, parallel=2)
    full = Embedder(cache_dir, spec=replace(MINILM_L6, single_text_graph=False))
    assert Path(single.load.path) != Path(full.load.path) == derived_model_path(cache_dir)
    assert np.array_equal(single.embed(texts), full.embed(texts))


def test_the_rewrite_leaves_one_input_and_fewer_nodes(cache_dir: Path) -> None:
    Embedder(cache_dir)
    model = onnx.load(str(derived_model_path(cache_dir)))
    rewritten = single_text_model(model)
    assert [i.name for i in rewritten.graph.input] == ["input_ids"]
    ops = [n.op_type for n in rewritten.graph.node]
    assert len(ops) < len(model.graph.node) - 50
    assert "IsNaN" not in ops and "GatherND" not in ops  # no mask, no NaN guard
    assert ops.count("Softmax") == 6 and ops.count("MatMulInteger") == 36  # the arithmetic is all there


def test_a_graph_without_the_expected_attention_is_refused() -> None:
    scores = helper.make_tensor_value_info("scores", TensorProto.FLOAT, [1, 4])
    probabilities = helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph([helper.make_node("Softmax", ["scores"], ["probabilities"])], "plain",
                              [scores], [probabilities])
    with pytest.raises(ValueError, match="not fed by scores"):
        single_text_model(helper.make_model(graph))
    with pytest.raises(ValueError, match="no attention softmax"):
        single_text_model(helper.make_model(helper.make_graph([], "empty", [scores], [scores])))
