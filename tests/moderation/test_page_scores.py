"""The page's feature rows, picked from arrays at once, are exactly what each pair's ``Evidence`` says
(``Evidence.features()`` is the definition the weights were fitted on), before and after the masked copies
are settled or computed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from bench.open_vocab_data import pooled_development
from shared.config import load_settings
from shared.models import Filter
from shared.moderation.evidence import Evidence
from shared.moderation.offline import OfflineModel, load_offline_model
from shared.moderation.open_vocab import OpenVocabMatcher
from shared.moderation.types import Post
from shared.moderation.vectors import MemoVectors


@pytest.fixture(scope="module")
def model() -> OfflineModel:
    return load_offline_model(load_settings())


def _rows_are_the_evidence(page: object) -> int:
    rows = page.features  # type: ignore[attr-defined]
    for r in range(len(rows)):
        assert rows[r].tolist() == page.evidence(r).features(), r  # type: ignore[attr-defined]
    return len(rows)


async def test_rows_equal_every_pairs_evidence_on_the_development_data(model: OfflineModel) -> None:
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words)
    checked = images = settled = computed = 0
    for group in pooled_development():
        posts = [lp.post for lp in group.posts]
        for start in range(0, len(posts), 25):
            page_posts = posts[start:start + 25]
            # Every other pending pair settled at an arbitrary context, the others computed.
            turn = itertools.count()

            def settle(pending: list[tuple[Filter, Evidence]], turn: itertools.count = turn) -> list[float | None]:
                return [0.123 if next(turn) % 2 else None for _ in pending]

            page = await matcher._page(page_posts, group.filters, settle=settle)
            checked += _rows_are_the_evidence(page)
            n = next(turn)
            settled, computed = settled + n // 2, computed + (n - n // 2)
            images += int(page.on_image.sum())
            assert not any(page.evidence(r).pending_mask for r in range(len(page.features)))
            page = await matcher._page(page_posts, group.filters)  # every copy embedded
            checked += _rows_are_the_evidence(page)
    assert checked > 2 * 341 * 10
    # The data exercises both ways a copy is resolved and evidence carried by image descriptions.
    assert settled > 10 and computed > 10 and images > 10


async def test_pages_without_filters_or_posts(model: OfflineModel) -> None:
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words)
    posts = [Post("a", body="a shark circled the boat"), Post("b", image_alt="a grey shark fin", has_image=True)]
    assert {p: v.matches for p, v in (await matcher.judge(posts, [])).items()} == {"a": [], "b": []}
    assert await matcher.judge([], [Filter(id=1, filter_text="sharks", content_type="all", intensity=1)]) == {}
    page = await matcher._page([Post("e", body="")], [Filter(id=1, filter_text="sharks", content_type="all",
                                                              intensity=1)])
    assert page.features.shape == (1, len(page.evidence(0).features()))
    assert page.evidence(0).similarity == 0.0 and page.evidence(0).description == "sharks"
    assert np.array_equal(page.features[0], np.array(page.evidence(0).features()))
