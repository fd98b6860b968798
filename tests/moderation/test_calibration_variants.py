"""The two fitted variants of the open-vocabulary calibration: ``combined`` for filters compiled by rules alone,
``combined_expanded`` for filters with a cloud expansion; the matcher picks one per (post, filter)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from shared.config import load_settings
from shared.models import Filter
from shared.moderation.evidence import FEATURES
from shared.moderation.expansion import FilterExpansion, normalise_filter_text
from shared.moderation.offline import OfflineModel, load_offline_model
from shared.moderation.open_vocab import CALIBRATION_FILE, Calibration, OpenVocabMatcher, matcher_version
from shared.moderation.types import Post
from shared.moderation.vectors import MemoVectors

SHARKS = Filter(id=1, filter_text="sharks", content_type="all", intensity=1)
EARTHQUAKES = Filter(id=2, filter_text="earthquakes", content_type="all", intensity=1)
EXPANSIONS = {normalise_filter_text("sharks"): FilterExpansion(
    descriptions=("a shark seen near swimmers",), exclusions=("the San Jose Sharks hockey team",),
    examples=("a fin circled our boat",), passing_mention_counts=False)}
POSTS = [Post("p1", body="A great white circled our boat for ten minutes."),
         Post("p2", body="The ground rolled for forty seconds, a 6.8 quake near the coast."),
         Post("p3", body="Finally finished repainting the spare room, went with a pale green.")]


@pytest.fixture(scope="module")
def model() -> OfflineModel:
    return load_offline_model(load_settings())


def constant(bias: float, threshold: float) -> Calibration:
    """Every pair gets the probability sigmoid(bias): which variant scored a pair shows in its verdict."""
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("bias")] = bias
    return Calibration(weights, threshold)


def matched(verdicts: dict) -> set[tuple[str, int]]:
    return {(post_id, m.filter_id) for post_id, v in verdicts.items() for m in v.matches}


async def test_an_expanded_filter_is_scored_by_the_expanded_weights_and_a_plain_one_by_the_rule_weights(
        model: OfflineModel) -> None:
    # Rule weights put every pair at 0.73, expanded weights at 0.27; both thresholds 0.5.
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words, constant(1.0, 0.5),
                               expanded_calibration=constant(-1.0, 0.5))
    verdicts = await matcher.judge(POSTS, [SHARKS, EARTHQUAKES], EXPANSIONS)
    assert matched(verdicts) == {(p.id, EARTHQUAKES.id) for p in POSTS}
    # Without its expansion the same filter is back on the rule weights.
    assert matched(await matcher.judge(POSTS, [SHARKS], None)) == {(p.id, SHARKS.id) for p in POSTS}


async def test_the_decision_and_the_confidence_use_the_threshold_of_the_variant_that_scored(
        model: OfflineModel) -> None:
    # Every pair at 0.5: under the rule threshold 0.6 it fails, over the expanded one (0.25) it matches.
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words, constant(0.0, 0.6),
                               expanded_calibration=constant(0.0, 0.25))
    verdicts = await matcher.judge(POSTS, [SHARKS, EARTHQUAKES], EXPANSIONS)
    assert matched(verdicts) == {(p.id, SHARKS.id) for p in POSTS}
    # Confidence runs from 0.8 at the threshold to 0.99 at 1: a third of the way above 0.25.
    assert {m.confidence for v in verdicts.values() for m in v.matches} == {round(0.8 + 0.19 / 3, 3)}
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words, constant(0.0, 0.5),
                               expanded_calibration=constant(0.0, 0.25))
    verdicts = await matcher.judge(POSTS[:1], [SHARKS, EARTHQUAKES], EXPANSIONS)
    assert {m.filter_id: m.confidence for m in verdicts["p1"].matches} == {SHARKS.id: 0.863, EARTHQUAKES.id: 0.8}


def test_the_shipped_file_holds_both_variants_for_the_codes_features() -> None:
    data = json.loads(CALIBRATION_FILE.read_text())
    assert tuple(data["features"]) == FEATURES
    for variant in ("combined", "combined_expanded", "similarity_only"):
        calibration = Calibration.load(variant)
        assert calibration.weights.shape == (len(FEATURES),)
        assert 0.0 < calibration.threshold < 1.0
    # Two fits, not one copied: the expanded concepts carry other descriptions and exclusions.
    assert not np.array_equal(Calibration.load("combined").weights, Calibration.load("combined_expanded").weights)


def test_a_file_fitted_for_other_features_is_refused_for_either_variant(tmp_path: Path) -> None:
    data = json.loads(CALIBRATION_FILE.read_text())
    data["features"] = [*data["features"][:-1], "something_else", "bias"]
    stale = tmp_path / "calibration.json"
    stale.write_text(json.dumps(data))
    for variant in ("combined", "combined_expanded"):
        with pytest.raises(ValueError, match="fitted for features"):
            Calibration.load(variant, stale)


def test_the_default_matcher_loads_both_variants(model: OfflineModel) -> None:
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words)
    assert np.array_equal(matcher.calibration.weights, Calibration.load("combined").weights)
    assert np.array_equal(matcher.expanded_calibration.weights, Calibration.load("combined_expanded").weights)
    assert matcher.expanded_calibration.threshold == Calibration.load("combined_expanded").threshold


def test_the_matchers_version_names_its_weights() -> None:
    # The verdict cache keys on it (gateway/feed_judge.py): a refit must not serve the old fit's verdicts.
    shipped = (Calibration.load(), Calibration.load("combined_expanded"))
    assert matcher_version(*shipped) == matcher_version(Calibration.load(), Calibration.load("combined_expanded"))
    assert matcher_version(constant(1.0, 0.5), shipped[1]) != matcher_version(*shipped)
    assert matcher_version(constant(1.0, 0.5), shipped[1]) != matcher_version(constant(1.0, 0.6), shipped[1])
    moved_band = Calibration(shipped[0].weights, shipped[0].threshold, (-0.5, 0.1))
    assert matcher_version(moved_band, shipped[1]) != matcher_version(*shipped)
