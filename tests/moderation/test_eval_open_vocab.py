"""``make eval``'s pooled report and ``--final`` on tiny synthetic sets of their own (never the real final set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench.eval_open_vocab import MATCHERS, build_matchers, final_report, pooled_predictions, pooled_report
from bench.evaluation import LabelledPost
from bench.open_vocab_data import FINAL_FILTERS, FINAL_POSTS, LabelledGroup
from shared.models import Filter
from shared.moderation.types import Post

FILTERS = '[{"id": 1, "filter_text": "kites", "content_type": "all", "intensity": 2},' \
          ' {"id": 2, "filter_text": "volcanoes", "content_type": "text", "intensity": 3}]'
POSTS = [
    '{"id": "s1", "platform": "twitter", "title": "", "body": "flew my new kite on the beach, the string snapped", '
    '"image_alt": "", "matches": [1], "note": ""}',
    '{"id": "s2", "platform": "reddit", "title": "Eruption last night", "body": "The volcano sent lava down the '
    'east slope and the village was evacuated.", "image_alt": "", "matches": [2], "note": ""}',
    '{"id": "s3", "platform": "x", "title": "", "body": "made a lentil soup, turned out great", "image_alt": "", '
    '"matches": [], "note": ""}',
]


@pytest.fixture(scope="module")
def matchers() -> dict[str, Any]:
    return build_matchers()


async def test_final_scores_the_set_it_finds(tmp_path: Path, matchers: dict[str, Any]) -> None:
    (tmp_path / FINAL_FILTERS).write_text(FILTERS)
    (tmp_path / FINAL_POSTS).write_text("\n".join(POSTS) + "\n")
    status, report = await final_report(matchers, tmp_path)
    assert status == 0
    assert f"FINAL blind set ({tmp_path / FINAL_POSTS}: 3 posts, 2 new filters" in report
    lines = report.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("id filter"))
    assert all(f"{m} F1" in header for m in MATCHERS)
    assert any(line.split()[:2] == ["1", "kites"] for line in lines)
    assert any(line.split()[:2] == ["2", "volcanoes"] for line in lines)
    micro = next(line for line in lines if "micro F1" in line).split()[-3:]
    assert len(micro) == 3 and all(0.0 <= float(v) <= 1.0 for v in micro)
    assert float(micro[2]) > 0  # the combined matcher finds the volcano eruption at least


async def test_final_says_the_set_is_missing(tmp_path: Path, matchers: dict[str, Any]) -> None:
    (tmp_path / FINAL_FILTERS).write_text(FILTERS)  # the posts file is not there
    status, report = await final_report(matchers, tmp_path)
    assert status == 1
    assert "FINAL blind set MISSING" in report and str(tmp_path / FINAL_POSTS) in report


def _group(name: str, first_id: int, texts: list[tuple[str, str, list[int]]]) -> LabelledGroup:
    filters = [Filter(id=first_id, filter_text="kites"), Filter(id=first_id + 1, filter_text="volcanoes")]
    posts = [LabelledPost(Post(pid, body=body), frozenset(gold)) for pid, body, gold in texts]
    return LabelledGroup(name, filters, posts)


async def test_pooled_posts_are_judged_against_their_own_sets_filters_only(matchers: dict[str, Any]) -> None:
    groups = [
        _group("one", 1, [("a1", "my kite string snapped on the beach", [1]),
                          ("a2", "lava poured down the volcano all night", [2]),
                          ("a3", "made lentil soup", [])]),
        _group("two", 101, [("b1", "flying a box kite in the park", [101]),
                            ("b2", "the volcano erupted again, ash everywhere", [102]),
                            ("b3", "painted the fence blue", [])]),
    ]
    predicted = await pooled_predictions(groups, matchers)
    for matcher in MATCHERS:
        for pid, ids in predicted[matcher].items():
            assert set(ids) <= ({1, 2} if pid.startswith("a") else {101, 102}), (matcher, pid, ids)
    report = pooled_report(groups, predicted)
    assert "pooled development data (6 posts, 4 filters" in report
    assert any(line.split()[:3] == ["one", "(", "3"] for line in report.splitlines())
    assert any(line.split()[:3] == ["two", "(", "3"] for line in report.splitlines())
