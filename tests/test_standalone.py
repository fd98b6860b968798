"""The repository stands alone: no module and no test reaches above the repository root.

A checkout used to work only beside a folder of reference material (``../shared``); a fresh clone then
failed at test collection and the viewer's samples answered 500. Two checks keep that from coming back:

* a static scan of the sources for paths that climb out of the repository (``Path(__file__)``
  ancestors beyond the root, ``..`` segments, the string ``../shared``);
* a dynamic check that imports every module of the four packages and runs the sample generators and
  the viewer's sample loader under an audit hook, failing on any file opened beside the repository.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCANNED_DIRS = ("gateway", "notifier", "imaging", "shared", "tests", "bench", "devtools")
SUFFIXES = {".py", ".js", ".html"}
# The one sanctioned read outside the repository: `make eval` uses the reference evaluation set when
# it sits beside the checkout, says so on stdout, and works without it (see the module's docstring).
# This file holds examples of what the scan catches, as test data.
ALLOWED = {"bench/eval_sets.py", "tests/test_standalone.py"}

# Path(__file__) followed by .resolve()/.absolute()/.parent/.parents[N] steps.
FILE_CHAIN = re.compile(
    r"Path\(\s*__file__\s*\)((?:\s*\.\s*(?:resolve\(\s*\)|absolute\(\s*\)|parent\b(?!s)|parents\s*\[\s*\d+\s*\]))*)"
)
STEP = re.compile(r"\.\s*(parent\b(?!s)|parents\s*\[\s*(\d+)\s*\])")
DIRNAME_CHAIN = re.compile(r"((?:os\.path\.dirname\(\s*)+)(?:os\.path\.(?:abspath|realpath)\(\s*)?__file__")
ROOT_PARENT = re.compile(r"\b[A-Z_]*ROOT\s*\.\s*parent\b")
# A ".." path component, or a "../" path on a line that builds a file path (URLs with ".." in the
# hostile-input tests are requests, not file paths).
DOTDOT_COMPONENT = re.compile(r"""["']\.\.["']""")
DOTDOT_PATH = re.compile(r"""["']\.\./[^"']*["']""")
FILE_PATH_CALL = re.compile(r"\b(?:Path|open|joinpath|os\.path\.\w+|read_text|read_bytes)\s*\(|__file__")
SHARED_BESIDE = "../shared"


def levels_up(chain: str) -> int:
    """How many directories above the file's own path a ``Path(__file__)`` chain ends (parent = 1)."""
    levels = 0
    for step in STEP.finditer(chain):
        levels += 1 if step[2] is None else int(step[2]) + 1
    return levels


def climbs(rel: Path, text: str) -> list[str]:
    """Why the source ``text`` of the file at ``rel`` (relative to the root) reaches above the root."""
    depth = len(rel.parts)  # levels from the file itself up to the root
    found: list[str] = []
    if SHARED_BESIDE in text:
        found.append(f"mentions {SHARED_BESIDE!r}")
    if rel.suffix != ".py":
        return found
    for m in FILE_CHAIN.finditer(text):
        if levels_up(m[1]) > depth:
            found.append(f"Path(__file__){m[1].strip()} is above the repository root")
    for m in DIRNAME_CHAIN.finditer(text):
        if m[1].count("dirname") > depth:
            found.append("os.path.dirname chain climbs above the repository root")
    if ROOT_PARENT.search(text):
        found.append("takes the parent of the repository root")
    for line in text.splitlines():
        if DOTDOT_COMPONENT.search(line) or (DOTDOT_PATH.search(line) and FILE_PATH_CALL.search(line)):
            found.append(f"path with a '..' segment: {line.strip()[:100]}")
    return found


def scanned_files() -> list[Path]:
    files: list[Path] = []
    for name in SCANNED_DIRS:
        top = ROOT / name
        if top.is_dir():
            files += [p for p in top.rglob("*") if p.suffix in SUFFIXES and p.is_file()]
    return sorted(files)


def test_no_source_builds_a_path_above_the_root() -> None:
    offenders = {}
    for path in scanned_files():
        rel = path.relative_to(ROOT)
        if rel.as_posix() in ALLOWED:
            continue
        reasons = climbs(rel, path.read_text(encoding="utf-8", errors="replace"))
        if reasons:
            offenders[rel.as_posix()] = reasons
    assert not offenders, f"sources reaching above the repository root: {offenders}"


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("gateway/feeds/samplegen.py", 'X = Path(__file__).resolve().parents[2].parent / "shared" / "samples"'),
        ("tests/gateway/feeds/util.py", 'ROOT = Path(__file__).resolve().parents[3]\nS = PROJECT_ROOT.parent / "s"'),
        ("bench/x.py", 'D = Path(__file__).parent.parent.parent / "eval"'),
        ("bench/x.py", 'D = os.path.join(os.path.dirname(__file__), "..", "..", "eval")'),
        ("bench/x.py", "D = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))"),
        ("gateway/viewer/static/a.js", 'fetch("../shared/samples/x.json")'),
        ("tests/x.py", 'open(Path("../reference/doc.md"))'),
    ],
)
def test_the_scan_catches_climbing_paths(rel: str, source: str) -> None:
    assert climbs(Path(rel), source)


@pytest.mark.parametrize(
    ("rel", "source"),
    [
        ("gateway/viewer/samplegen.py", 'resources.files(__package__).joinpath("sample_templates", name)'),
        ("tests/gateway/feeds/util.py", "ROOT = Path(__file__).resolve().parents[3]"),
        ("bench/x.py", "ROOT = Path(__file__).resolve().parent.parent"),
        ("tests/x.py", 'client.get("/viewer/static/../app.py")'),
    ],
)
def test_the_scan_accepts_paths_inside_the_root(rel: str, source: str) -> None:
    assert climbs(Path(rel), source) == []


# Run in a fresh interpreter so every import happens under the hook.
PROBE = r"""
import importlib, json, os, pkgutil, sys

opened = []

def hook(event, args):
    if event == "open" and args and isinstance(args[0], (str, bytes, os.PathLike)):
        opened.append(os.path.abspath(os.fsdecode(args[0])))

sys.addaudithook(hook)
failed = {}
for package in ("gateway", "notifier", "imaging", "shared"):
    module = importlib.import_module(package)
    for info in pkgutil.walk_packages(module.__path__, package + "."):
        if info.name.rsplit(".", 1)[-1] == "__main__":
            continue  # entry points run a server when imported
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            failed[info.name] = f"{type(exc).__name__}: {exc}"

from gateway.viewer import samplegen, samples

samplegen.reddit_sample_html()
samplegen.reddit_legacy_sample_html()
samplegen.x_sample_json()
samplegen.reddit_page(25, seed=1)
samplegen.x_timeline(25, seed=1)
for platform in ("reddit", "x"):
    samples.sample_body(platform, 1, "http://127.0.0.1:8000")
samples.sample_jpeg("probe")
print(json.dumps({"opened": opened, "failed": failed}))
"""


def test_nothing_opens_files_beside_the_repository() -> None:
    env = {**os.environ, "REDIS_URL": "redis://127.0.0.1:9/0"}  # some modules read settings at import
    proc = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["failed"] == {}, report["failed"]
    opened = [Path(p) for p in report["opened"]]
    # The hook did see the templates, so an empty offender list means something.
    assert any(p.is_relative_to(ROOT / "gateway" / "viewer") for p in opened)

    outside = ROOT.parent
    allowed = [Path(p) for p in {sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path} if p and p != str(outside)]
    allowed = [p for p in allowed if not ROOT.is_relative_to(p)]  # never an ancestor of the root
    offenders = sorted(
        {
            str(p)
            for p in opened
            if p.is_relative_to(outside)
            and not p.is_relative_to(ROOT)
            and not any(p.is_relative_to(a) for a in allowed)
        }
    )
    assert not offenders, f"files opened beside the repository: {offenders}"
