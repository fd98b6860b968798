"""Fitting and validating the expanded calibration variant (``bench/calibrate_open_vocab.py``) on synthetic features."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bench.calibrate_open_vocab import (
    EXPANDED_FIT,
    UNEXPANDED_FEATURES,
    ExpandedFit,
    Features,
    fit_logistic,
    leave_one_expanded_filter_out,
)
from shared.moderation.evidence import FEATURES


def synthetic(filter_ids: list[int], seed: int) -> Features:
    """Ten posts per filter; every feature informative, the bias column 1. Each feature's shift shrinks as features
    are added, so the classes overlap (never separable, which would push the F1-best threshold to 1) whatever
    their number."""
    rng = np.random.default_rng(seed)
    shift = 1.5 / np.sqrt(len(FEATURES) - 1)
    rows, labels, keys = [], [], []
    for fid in filter_ids:
        for n in range(10):
            y = float(n % 2)
            rows.append([*(rng.normal(y * shift, 1.0, len(FEATURES) - 1)), 1.0])
            labels.append(y)
            keys.append((f"f{fid}-p{n}", fid))
    return np.array(rows), np.array(labels), keys


@dataclass(frozen=True)
class RecordingFit(ExpandedFit):
    """``EXPANDED_FIT`` that records which filters each fit was given."""

    seen: list[tuple[set[int], set[int]]] = field(default_factory=list)

    def fit(self, rules: Features, expanded: Features) -> tuple[np.ndarray, float]:
        self.seen.append(({k[1] for k in rules[2]}, {k[1] for k in expanded[2]}))
        return super().fit(rules, expanded)


def test_a_left_out_filter_is_out_of_the_rule_fit_and_the_expanded_fit() -> None:
    rules = synthetic([1, 2, 3, 4, 5], seed=1)  # the pool: 1-3 also have expansions
    expanded = synthetic([1, 2, 3], seed=2)
    how = RecordingFit(EXPANDED_FIT.name, EXPANDED_FIT.l2, EXPANDED_FIT.toward_rules, EXPANDED_FIT.own_threshold,
                       EXPANDED_FIT.kept)
    predicted = leave_one_expanded_filter_out(rules, expanded, [1, 2, 3], how)
    assert how.seen == [({2, 3, 4, 5}, {2, 3}), ({1, 3, 4, 5}, {1, 3}), ({1, 2, 4, 5}, {1, 2})]
    assert set(predicted) == {k[0] for k in expanded[2]}
    assert all(set(fids) <= {int(post.split("-")[0][1:])} for post, fids in predicted.items())


def test_the_features_an_expansion_does_not_change_keep_the_rule_weights() -> None:
    rules, expanded = synthetic([1, 2, 3, 4], seed=3), synthetic([1, 2], seed=4)
    weights, threshold = EXPANDED_FIT.fit(rules, expanded)
    rule_weights = fit_logistic(rules[0], rules[1])
    kept = [FEATURES.index(f) for f in UNEXPANDED_FEATURES]
    refitted = [i for i, f in enumerate(FEATURES[:-1]) if f not in UNEXPANDED_FEATURES]
    np.testing.assert_allclose(weights[kept], rule_weights[kept], atol=0.01)
    assert not np.allclose(weights[refitted], rule_weights[refitted], atol=0.05)
    assert 0.0 < threshold < 1.0
