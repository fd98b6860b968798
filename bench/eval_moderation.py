"""Evaluate a moderation provider on a labelled set of posts (see :mod:`bench.eval_sets`).

    .venv/bin/python bench/eval_moderation.py [--provider local] [--data DIR] [--errors]

Prints per-filter precision, recall and F1, overall micro and macro F1, and milliseconds per page of
25 posts. Without ``--data`` it uses the reference set when it sits beside the checkout, else the
in-repo held-out set, and prints which. Exits 2 when a ``--data`` directory lacks the files. Other
code can import :func:`evaluate`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:  # run as a script from anywhere, without installing the project
    sys.path.insert(0, str(PROJECT_ROOT))

from bench.eval_sets import default_set, has_eval_files  # noqa: E402
from bench.evaluation import (  # noqa: E402
    PAGE_SIZE,
    LabelledPost,
    aevaluate,
    evaluate,
    load_eval_set,
    score,
)
from shared.models import Filter  # noqa: E402
from shared.moderation import LocalMatcher, ModerationProvider  # noqa: E402

__all__ = ["PROVIDERS", "LabelledPost", "aevaluate", "evaluate", "load_eval_set", "main", "score"]

# Providers the script can build by name; cloud providers register here when they exist.
PROVIDERS: dict[str, Callable[[], ModerationProvider]] = {"local": LocalMatcher}


def format_report(result: dict[str, Any], filters: list[Filter]) -> str:
    texts = {f.id: f.filter_text for f in filters}
    lines = [
        f"provider: {result['provider']}",
        "",
        f"{'id':>3}  {'filter':<52} {'P':>5} {'R':>5} {'F1':>5}  {'tp':>3} {'fp':>3} {'fn':>3}",
    ]
    for fid, m in result["per_filter"].items():
        lines.append(
            f"{fid:>3}  {texts.get(fid, '')[:52]:<52} {m['precision']:5.2f} {m['recall']:5.2f} {m['f1']:5.2f}"
            f"  {m['tp']:>3} {m['fp']:>3} {m['fn']:>3}"
        )
    micro = result["micro"]
    lines += [
        "",
        f"micro  P {micro['precision']:.3f}  R {micro['recall']:.3f}  F1 {micro['f1']:.3f}",
        f"macro  F1 {result['macro_f1']:.3f}",
        f"{result['ms_per_page']:.2f} ms per page of {PAGE_SIZE} posts ({result['pages']} pages); "
        f"{result['ms_per_page_warm']:.2f} ms after the first",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--provider", default="local", choices=sorted(PROVIDERS))
    parser.add_argument("--data", type=Path, help="folder with filters.json and moderation.jsonl")
    parser.add_argument("--errors", action="store_true", help="also list every misjudged post")
    args = parser.parse_args(argv)

    data: Path | None = args.data
    if data is None:
        filters, posts, source = default_set()
    elif has_eval_files(data):
        filters, posts = load_eval_set(data)
        source = f"labelled set from {data}"
    else:
        print(f"eval data not found in {data} (need filters.json and moderation.jsonl)", file=sys.stderr)
        return 2
    print(f"data: {source} ({len(posts)} posts, {len(filters)} filters)")
    result = evaluate(PROVIDERS[args.provider](), posts, filters)
    print(format_report(result, filters))
    if args.errors:
        print()
        for err in result["errors"]:
            print(f"{err['id']}: missed {err['missed']} extra {err['extra']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
