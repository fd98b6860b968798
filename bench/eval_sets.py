"""Where the moderation evaluations find their labelled posts.

The reference evaluation set (120 posts, 15 filters) is not part of this repository: on machines that
have it, it sits in a ``shared/eval`` folder beside the checkout. When it is there the evaluations use
it and say so on stdout; otherwise they use the held-out set kept in the repository
(``tests/moderation/heldout_posts.py``: 25 posts written for this project, same 15 filter ids).
"""

from __future__ import annotations

from pathlib import Path

from bench.evaluation import LabelledPost, load_eval_set
from shared.models import Filter

# Optional, read only by the evaluation scripts; nothing at run time or in the tests depends on it.
REFERENCE_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "eval"


def has_eval_files(data_dir: Path) -> bool:
    return (data_dir / "filters.json").is_file() and (data_dir / "moderation.jsonl").is_file()


def in_repo_set() -> tuple[list[Filter], list[LabelledPost]]:
    from tests.moderation.heldout_posts import FILTERS, HELDOUT

    return list(FILTERS), [LabelledPost(post, frozenset(gold)) for post, gold in HELDOUT]


def default_set() -> tuple[list[Filter], list[LabelledPost], str]:
    """(filters, posts, where they came from): the reference set when present, else the in-repo one."""
    if has_eval_files(REFERENCE_DIR):
        filters, posts = load_eval_set(REFERENCE_DIR)
        return filters, posts, f"reference set found beside the checkout: {REFERENCE_DIR}"
    filters, posts = in_repo_set()
    return filters, posts, "no reference set beside the checkout: using the in-repo held-out set " \
        "(tests/moderation/heldout_posts.py)"
