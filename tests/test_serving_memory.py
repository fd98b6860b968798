"""``release_freed_memory``: the heap a start-up freed goes back to the OS (glibc's malloc_trim)."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import gc
from shared.serving import release_freed_memory
def rss_mb():
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) / 1024 for line in fh if line.startswith("VmRSS:"))
# Many small blocks (the main heap, not mmap), one kept above them so that free() cannot shrink the heap's
# top by itself, then the rest freed: glibc keeps them unless trimmed.
blocks = [bytes(2000) for _ in range(40_000)]
pin = bytes(2000)
del blocks
gc.collect()
before = rss_mb()
if TRIM:
    assert release_freed_memory()
print(before - rss_mb())
"""


def _handed_back_mb(trim: bool) -> float:
    return float(subprocess.run([sys.executable, "-c", f"TRIM = {trim}\n{_PROBE}"], check=True,
                                capture_output=True, text=True).stdout)


def test_memory_freed_at_start_up_goes_back_to_the_os() -> None:
    assert _handed_back_mb(trim=False) < 10  # glibc keeps the ~80 MB freed ...
    assert _handed_back_mb(trim=True) > 40  # ... until it is trimmed

