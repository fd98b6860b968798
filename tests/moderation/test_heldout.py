"""Reasonable behaviour on posts written apart from the evaluation set (see ``heldout_posts``)."""

from __future__ import annotations

import pytest

from shared.moderation import LocalMatcher, Post
from tests.moderation.heldout_posts import FILTERS, HELDOUT


@pytest.mark.parametrize(("post", "expected"), HELDOUT, ids=[p.id for p, _ in HELDOUT])
def test_heldout_post(post: Post, expected: set[int]) -> None:
    verdict = LocalMatcher().judge_sync([post], FILTERS)[post.id]
    assert set(verdict.matched_filter_ids) == expected, [m.reason for m in verdict.matches]
    for match in verdict.matches:
        assert all(span in post.title or span in post.body for span in match.spans)


def test_heldout_set_as_a_whole() -> None:
    # Judged as one page, the way the feed calls providers; guards against cross-post leakage too.
    verdicts = LocalMatcher().judge_sync([p for p, _ in HELDOUT], FILTERS)
    correct = sum(set(verdicts[p.id].matched_filter_ids) == expected for p, expected in HELDOUT)
    assert correct == len(HELDOUT)
