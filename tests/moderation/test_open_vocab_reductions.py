"""The matcher's page-wide reductions give exactly what a per-unit max and argmax would."""

from __future__ import annotations

import numpy as np

from shared.moderation.open_vocab import _closest_words


def per_unit(known: list[list[str]], sims: np.ndarray) -> tuple[list[list[float]], list[list[str]]]:
    best = [[0.0] * len(known) for _ in range(sims.shape[1])]
    at = [[""] * len(known) for _ in range(sims.shape[1])]
    start = 0
    for u, words in enumerate(known):
        if words:
            block = sims[start:start + len(words)]
            for c in range(sims.shape[1]):
                best[c][u] = float(block[:, c].max())
                at[c][u] = words[int(block[:, c].argmax())]
        start += len(words)
    return best, at


def test_closest_words_match_a_max_and_first_argmax_per_unit_ties_and_empty_units_included() -> None:
    rng = np.random.default_rng(7)
    for _ in range(300):
        lengths = rng.integers(0, 5, size=rng.integers(1, 9))
        known = [[f"w{u}-{i}" for i in range(n)] for u, n in enumerate(lengths)]
        # Few distinct values, so ties within a unit are common: the first word reaching the best must win.
        sims = rng.integers(0, 4, size=(int(lengths.sum()), int(rng.integers(1, 4)))).astype(np.float32) / 4
        assert _closest_words(known, sims) == per_unit(known, sims)


def test_no_known_words_anywhere() -> None:
    assert _closest_words([[], []], np.zeros((0, 2), dtype=np.float32)) == ([[0.0, 0.0]] * 2, [["", ""]] * 2)
