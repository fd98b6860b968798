"""The evaluation harness: scoring arithmetic, paging, and the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import eval_moderation, eval_sets
from bench.evaluation import LabelledPost, aevaluate, evaluate, load_eval_set, score
from shared.models import Filter
from shared.moderation.types import Match, Post, PostVerdict
from tests.moderation.heldout_posts import HELDOUT


def test_score_on_a_hand_made_example() -> None:
    gold = {"a": [1], "b": [1, 2], "c": [], "d": [2]}
    predicted = {"a": [1], "b": [2], "c": [1], "d": []}
    result = score(gold, predicted, [1, 2])
    f1 = result["per_filter"][1]
    # Filter 1: tp=a, fp=c, fn=b.
    assert (f1["tp"], f1["fp"], f1["fn"]) == (1, 1, 1)
    assert f1["precision"] == pytest.approx(0.5) and f1["recall"] == pytest.approx(0.5)
    f2 = result["per_filter"][2]
    # Filter 2: tp=b, fn=d, no false positive.
    assert (f2["tp"], f2["fp"], f2["fn"]) == (1, 0, 1)
    assert f2["precision"] == pytest.approx(1.0) and f2["recall"] == pytest.approx(0.5)
    assert f2["f1"] == pytest.approx(2 / 3)
    # Micro: tp=2, fp=1, fn=2 -> P=2/3, R=1/2, F1=4/7. Macro: mean of 0.5 and 2/3.
    assert result["micro"]["precision"] == pytest.approx(2 / 3)
    assert result["micro"]["recall"] == pytest.approx(0.5)
    assert result["micro"]["f1"] == pytest.approx(4 / 7)
    assert result["macro_f1"] == pytest.approx((0.5 + 2 / 3) / 2)


def test_undefined_ratios_are_zero() -> None:
    result = score({"a": [1]}, {"a": []}, [1])
    assert result["per_filter"][1]["precision"] == 0.0 and result["per_filter"][1]["f1"] == 0.0


class _Scripted:
    """A provider that answers from a table and records the page sizes it was asked for."""

    name = "scripted"
    version = "1"
    can_rewrite = False

    def __init__(self, answers: dict[str, list[int]]) -> None:
        self.answers = answers
        self.pages: list[int] = []

    async def judge(self, posts: list[Post], filters: list[Filter]) -> dict[str, PostVerdict]:
        self.pages.append(len(posts))
        return {
            p.id: PostVerdict(p.id, [Match(f, "text", "scripted", [], 0.9) for f in self.answers.get(p.id, [])])
            for p in posts
        }


def _labelled(n: int) -> list[LabelledPost]:
    return [LabelledPost(Post(f"p{i}"), frozenset({1}) if i % 2 else frozenset()) for i in range(n)]


def test_evaluate_pages_posts_and_scores_predictions() -> None:
    posts = _labelled(60)
    provider = _Scripted({f"p{i}": [1] for i in range(60) if i % 2 or i < 10})  # 5 false positives
    result = evaluate(provider, posts, [Filter(id=1, filter_text="x")])
    assert provider.pages == [25, 25, 10]
    assert result["pages"] == 3 and result["provider"] == "scripted"
    m = result["per_filter"][1]
    assert (m["tp"], m["fp"], m["fn"]) == (30, 5, 0)
    assert [e["id"] for e in result["errors"]] == ["p0", "p2", "p4", "p6", "p8"]
    assert "ms_per_page" in result  # reported; its value is measured in bench/, never asserted


async def test_aevaluate_runs_inside_a_loop() -> None:
    result = await aevaluate(_Scripted({}), _labelled(3), [Filter(id=1, filter_text="x")])
    assert result["per_filter"][1]["fn"] == 1


def _write_data(folder: Path) -> None:
    (folder / "filters.json").write_text(
        json.dumps([{"id": 1, "filter_text": "spiders", "content_type": "all", "intensity": 4}])
    )
    rows = [
        {"id": "x1", "platform": "x", "title": "", "body": "a tarantula!", "image_alt": "", "matches": [1]},
        {"id": "x2", "platform": "x", "title": "", "body": "Spider-Man rules", "image_alt": "", "matches": []},
    ]
    (folder / "moderation.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_load_eval_set(tmp_path: Path) -> None:
    _write_data(tmp_path)
    filters, posts = load_eval_set(tmp_path)
    assert filters[0].filter_text == "spiders"
    assert [(p.post.id, p.gold) for p in posts] == [("x1", frozenset({1})), ("x2", frozenset())]


def test_cli_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _write_data(tmp_path)
    assert eval_moderation.main(["--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "spiders" in out and "micro" in out and "macro" in out and "ms per page" in out
    assert "1.00  1.00  1.00" in out  # the local matcher gets both posts right


def test_cli_fails_without_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_moderation.main(["--data", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err


def test_cli_uses_the_reference_set_beside_the_checkout_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _write_data(tmp_path)
    monkeypatch.setattr(eval_sets, "REFERENCE_DIR", tmp_path)
    assert eval_moderation.main([]) == 0
    out = capsys.readouterr().out
    assert f"reference set found beside the checkout: {tmp_path} (2 posts, 1 filters)" in out


def test_cli_falls_back_to_the_in_repo_set_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(eval_sets, "REFERENCE_DIR", tmp_path / "absent")
    assert eval_moderation.main([]) == 0
    out = capsys.readouterr().out
    assert f"in-repo held-out set (tests/moderation/heldout_posts.py) ({len(HELDOUT)} posts, 15 filters)" in out
    assert "micro" in out
