"""The caller's own work runs while the model computes, and no model run is ever left behind."""

from __future__ import annotations

import asyncio
import threading

import pytest

from bench.open_vocab_data import dev_set
from shared.config import load_settings
from shared.moderation import open_vocab
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import OpenVocabMatcher
from shared.moderation.types import Post, ProviderError
from shared.moderation.vectors import MemoVectors, run_alongside


async def test_the_callers_work_runs_while_the_run_is_under_way() -> None:
    proceed = threading.Event()

    def model(on_started: object) -> str:
        on_started()  # type: ignore[operator]
        # Finishes only once the caller's work has run: it could not if that work waited for the run.
        return "vectors" if proceed.wait(timeout=10) else "the caller's work came after the run"

    def start(on_started: object) -> asyncio.Future[str]:
        return asyncio.get_running_loop().run_in_executor(None, model, on_started)

    assert await run_alongside(start, proceed.set) == "vectors"


async def test_a_failing_callers_work_still_waits_for_the_run() -> None:
    finished = threading.Event()

    def model(on_started: object) -> None:
        on_started()  # type: ignore[operator]
        threading.Event().wait(0.2)
        finished.set()

    def fail() -> None:
        raise ProviderError("malformed page")

    with pytest.raises(ProviderError):
        await run_alongside(lambda s: asyncio.get_running_loop().run_in_executor(None, model, s), fail)
    assert finished.is_set()


async def test_a_run_that_fails_before_starting_does_not_hang_the_caller() -> None:
    def model(on_started: object) -> None:
        raise RuntimeError("the model file went away")

    with pytest.raises(RuntimeError, match="went away"):
        await asyncio.wait_for(run_alongside(lambda s: asyncio.get_running_loop().run_in_executor(None, model, s),
                                             lambda: None), timeout=10)


async def test_a_page_that_cannot_be_read_leaves_no_model_run_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_offline_model(load_settings())
    matcher = OpenVocabMatcher(MemoVectors(model.embedder), model.words)
    filters, _ = dev_set()

    def unreadable(post: Post) -> list[object]:
        raise TypeError("a field is not text")

    monkeypatch.setattr(open_vocab, "post_fields", unreadable)
    posts = [Post(f"u{i}", body=f"a shark circled the boat near buoy {i} at dawn") for i in range(6)]
    with pytest.raises(ProviderError, match="could not read the page"):
        await matcher.judge(posts, filters[:2])
    assert not model.embedder._lock.locked()  # the model's run had ended before the error reached the caller
