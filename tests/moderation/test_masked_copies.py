"""Masked copies are embedded only where they can change a decision (``Calibration.settled_context``).

The page's decisions must be those of the full computation (every masked copy embedded); what changes is how
many texts go to the model and, for a settled pair, the confidence (scored at the band's middle).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence

import numpy as np
import pytest

from bench.open_vocab_data import pooled_development
from shared.config import load_settings
from shared.models import Filter
from shared.moderation import open_vocab
from shared.moderation.concepts import FilterConcept
from shared.moderation.evidence import FEATURES, without_subject
from shared.moderation.offline import OfflineModel, load_offline_model
from shared.moderation.open_vocab import Calibration, OpenVocabMatcher
from shared.moderation.types import Post
from shared.moderation.vectors import MemoVectors

NO_BAND = (-2.0, 2.0)  # wider than any cosine difference: nothing settles, every copy is embedded


class CountingVectors(MemoVectors):
    """The in-process source, recording which texts it was asked to compute and which only to look up."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.asked: list[str] = []
        self.looked_up: list[str] = []

    async def vectors(self, texts: Sequence[str], *, if_cached: Sequence[str] = (), looked_up: bool = False,
                      meanwhile: Callable[[], None] | None = None) -> np.ndarray:
        self.asked += list(texts)
        self.looked_up += list(if_cached)
        return await super().vectors(texts, if_cached=if_cached, looked_up=looked_up, meanwhile=meanwhile)


@pytest.fixture(scope="module")
def model() -> OfflineModel:
    return load_offline_model(load_settings())


def _matcher(model: OfflineModel, band: tuple[float, float]) -> tuple[OpenVocabMatcher, CountingVectors]:
    rules = dataclasses.replace(Calibration.load(), context_band=band)
    expanded = dataclasses.replace(Calibration.load("combined_expanded"), context_band=band)
    source = CountingVectors(model.embedder)
    return OpenVocabMatcher(source, model.words, rules, expanded_calibration=expanded), source


def test_the_shipped_calibration_carries_a_band_mostly_below_zero() -> None:
    low, high = Calibration.load().context_band
    # Masking the filter's words lowered similarity on the development data, by up to ~0.43; on one pair of 132
    # the copy came out a little more similar than its post.
    assert -1.0 < low < -0.1 and 0.0 <= high < 0.05


def test_a_pair_settles_only_where_both_ends_of_the_band_decide_alike() -> None:
    weights = np.zeros(len(FEATURES))
    weights[FEATURES.index("context_similarity")] = 10.0
    weights[-1] = -5.0  # bias: matches when context similarity >= 0.5
    calibration = Calibration(weights, 0.5, (-0.3, -0.1))

    class Row:
        def __init__(self, similarity: float) -> None:
            self.similarity = similarity

        def features(self) -> list[float]:
            x = [0.0] * len(FEATURES)
            x[FEATURES.index("similarity")] = x[FEATURES.index("context_similarity")] = self.similarity
            x[-1] = 1.0
            return x

    assert calibration.settled_context(Row(0.9)) == pytest.approx(0.7)  # 0.6..0.8: a match either way
    assert calibration.settled_context(Row(0.3)) == pytest.approx(0.1)  # 0.0..0.2: no match either way
    assert calibration.settled_context(Row(0.7)) is None  # 0.4..0.6 straddles 0.5: only the copy can tell


async def test_settled_copies_are_never_embedded_and_decisions_equal_the_full_computation(model: OfflineModel) -> None:
    shipped, shipped_source = _matcher(model, Calibration.load().context_band)
    full, full_source = _matcher(model, NO_BAND)
    pages = 0
    for group in pooled_development():
        posts = [lp.post for lp in group.posts]
        for start in range(0, len(posts), 25):
            page = posts[start:start + 25]
            got = await shipped.judge(page, group.filters)
            want = await full.judge(page, group.filters)
            assert {p: v.matched_filter_ids for p, v in got.items()} == \
                {p: v.matched_filter_ids for p, v in want.items()}
            pages += 1
    masked = set(full_source.asked) - set(shipped_source.asked)
    assert pages >= 14
    # Some copies were settled (never computed), and each was only looked up, never sent to the model.
    assert len(masked) > 20
    assert masked <= set(shipped_source.looked_up)


async def test_an_undecided_pair_gets_its_copy_computed_in_a_second_call(model: OfflineModel) -> None:
    matcher, source = _matcher(model, NO_BAND)
    post = Post("s1", body="a shark circled our boat for ten minutes off the reef")
    sharks = Filter(id=1, filter_text="sharks", content_type="all", intensity=1)
    verdict = await matcher.judge([post], [sharks])
    copy = without_subject("sharks", post.body)
    assert copy != post.body and copy in source.looked_up and copy in source.asked
    assert verdict["s1"].matched_filter_ids == [1]
    # Once computed it is remembered: the next page reads it with the other texts and computes nothing more.
    asked = len(source.asked)
    again = await matcher.gather([post], [sharks], settle=lambda pending: [None] * len(pending))
    assert again[("s1", 1)].context_similarity is not None and again[("s1", 1)].pending_mask is None
    assert copy not in source.asked[asked:]


async def test_without_a_settle_rule_every_copy_is_embedded_at_once(model: OfflineModel) -> None:
    matcher, source = _matcher(model, Calibration.load().context_band)
    post = Post("s2", body="lifeguards closed the beach after a shark sighting near the pier")
    sharks = Filter(id=1, filter_text="sharks", content_type="all", intensity=1)
    evidence = await matcher.gather([post], [sharks])
    assert without_subject("sharks", post.body) in source.asked and not source.looked_up
    assert evidence[("s2", 1)].context_similarity is not None


async def test_a_new_filter_is_compiled_off_the_event_loop(model: OfflineModel,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    matcher, _ = _matcher(model, Calibration.load().context_band)
    compiled_on: list[int] = []
    real = open_vocab.compile_concept

    def recording(text: str) -> FilterConcept:
        compiled_on.append(threading.get_ident())
        return real(text)

    monkeypatch.setattr(open_vocab, "compile_concept", recording)
    text = "jellyfish stings at the beach"  # a text no other test compiles
    await matcher.judge([Post("j1", body="a box jellyfish stung two swimmers")],
                        [Filter(id=3, filter_text=text, content_type="all", intensity=1)])
    assert compiled_on and threading.get_ident() not in compiled_on
