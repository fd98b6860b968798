"""The matcher's page-wide reductions give exactly what a per-unit max and argmax would."""

from __future__ import annotations

import numpy as np

from shared.moderation.page_scores import closest_words


def per_unit(lengths: list[int], sims: np.ndarray) -> tuple[list[list[float]], list[list[int]]]:
    best = [[0.0] * len(lengths) for _ in range(sims.shape[1])]
    at = [[-1] * len(lengths) for _ in range(sims.shape[1])]
    start = 0
    for u, n in enumerate(lengths):
        if n:
            block = sims[start:start + n]
            for c in range(sims.shape[1]):
                best[c][u] = float(block[:, c].max())
                at[c][u] = int(block[:, c].argmax())
        start += n
    return best, at


def reduced(lengths: list[int], sims: np.ndarray) -> tuple[list[list[float]], list[list[int]]]:
    best, first = closest_words(lengths, sims)
    return best.tolist(), first.tolist()


def test_closest_words_match_a_max_and_first_argmax_per_unit_ties_and_empty_units_included() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        lengths = rng.integers(0, 5, size=rng.integers(1, 9))
        # Few distinct values, so ties within a unit are common: the first word reaching the best must win.
        sims = rng.integers(0, 4, size=(int(lengths.sum()), int(rng.integers(1, 4)))).astype(np.float32) / 4
        assert reduced(lengths.tolist(), sims) == per_unit(lengths.tolist(), sims)


def test_no_known_words_anywhere() -> None:
    assert reduced([0, 0], np.zeros((0, 2), dtype=np.float32)) == ([[0.0, 0.0]] * 2, [[-1, -1]] * 2)
