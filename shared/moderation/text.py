"""Normalising, tokenising and light stemming for the offline matcher.

Each token remembers the character offsets of the *original* string it came from, so a match can be
reported as an exact substring of what the user sees (the caller wraps it in blur markers). The same
functions turn lexicon phrases into stems, which is what makes "spiders", "Spider's" and "SPIDER"
meet the lexicon entry "spider".
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Curly and look-alike apostrophes (U+2019 and friends) become "'" so both spellings of "don't" match.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u00b4": "'", "`": "'"})

# A token is a run of letters/digits, optionally with inner apostrophes ("isn't", "spider's").
# Hyphens, slashes and other punctuation split tokens, so "eight-legged" is "eight" + "legged".
_SCAN = re.compile(r"(?P<tok>[^\W_]+(?:'[^\W_]+)*)|(?P<brk>[.!?;:,()\[\]{}\"\n\u2014\u2013|]|\s-\s)")

# Words spelled with a final "s" that is not a plural marker, and irregular forms worth folding.
_KEEP = frozenset(
    "news series species does goes lens always perhaps chaos canvas atlas bias alias its was has his "
    "hers ours yours theirs physics politics diabetes herpes rabies measles mumps scabies pants thanks "
    "ios covid this thus yes plus minus bus gas us is as".split()
)
_IRREGULAR = {
    "ate": "eat",
    "eaten": "eat",
    "bled": "bleed",
    "fought": "fight",
    "caught": "catch",
    "bitten": "bite",
    "ran": "run",
    "died": "die",
    "dies": "die",
    "dying": "die",
    "lying": "lie",
    "children": "child",
    "kids": "kid",
    "mice": "mouse",
    "lice": "louse",
    "geese": "goose",
    "teeth": "tooth",
    "feet": "foot",
    "men": "man",
    "women": "woman",
    "wolves": "wolf",
    "knives": "knife",
    "calves": "calf",
    "halves": "half",
    "themselves": "themself",
    "larvae": "larva",
    "potatoes": "potato",
    "tomatoes": "tomato",
    "stole": "steal",
    "stolen": "steal",
    "slew": "slay",
    "slain": "slay",
    "shot": "shot",  # never "sho"; "shoot"/"shooting" stay a separate stem on purpose
}
_VOWELS = frozenset("aeiou")


def _is_consonant(word: str, i: int) -> bool:
    ch = word[i]
    if ch in _VOWELS:
        return False
    if ch == "y":
        return i == 0 or not _is_consonant(word, i - 1)
    return True


def _measure(word: str) -> int:
    """Porter's m: the number of vowel-consonant sequences."""
    m, prev_vowel = 0, False
    for i in range(len(word)):
        vowel = not _is_consonant(word, i)
        if prev_vowel and not vowel:
            m += 1
        prev_vowel = vowel
    return m


def _cvc(word: str) -> bool:
    """Ends consonant-vowel-consonant (last not w/x/y): "vot", "scar", "bit" but not "eat"."""
    n = len(word)
    return (
        n >= 3
        and _is_consonant(word, n - 1)
        and not _is_consonant(word, n - 2)
        and _is_consonant(word, n - 3)
        and word[-1] not in "wxy"
    )


def _has_vowel(word: str) -> bool:
    return any(not _is_consonant(word, i) for i in range(len(word)))


@lru_cache(maxsize=65536)
def stem(token: str) -> str:
    """Fold plural and verb forms: spiders→spider, injections→injection, voted/voting→vote.

    A small Porter-style stemmer (plural and -ed/-ing removal, then Porter's final-"e" rule). Stems are
    only ever compared with other stems, so consistency matters more than producing real words.
    """
    w = token
    if w.endswith("'s"):
        w = w[:-2]
    if "'" in w or len(w) <= 3 or w.isdigit():
        return w
    if w in _IRREGULAR:
        return _IRREGULAR[w]
    if w in _KEEP:
        return w
    # Plurals.
    if w.endswith("sses"):
        w = w[:-2]
    elif w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("ches", "shes", "xes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    # Verb forms.
    base = ""
    if w.endswith("ied") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith("ed") and not w.endswith("eed") and len(w) > 4:
        base = w[:-2]
    elif w.endswith("ing") and len(w) > 5:
        base = w[:-3]
    if base and len(base) >= 3 and _has_vowel(base):
        if base.endswith(("at", "bl", "iz")):
            w = base + "e"
        elif base[-1] == base[-2] and base[-1] not in "lsz" and _is_consonant(base, len(base) - 1):
            w = base[:-1]  # stabbed → stab
        elif _measure(base) == 1 and _cvc(base):
            w = base + "e"  # voted → vote, scared → scare
        else:
            w = base
    # Porter step 5a: drop a final "e" unless the word is short and would end consonant-vowel-consonant.
    if w.endswith("e") and len(w) > 3:
        m = _measure(w[:-1])
        if m > 1 or (m == 1 and not _cvc(w[:-1])):
            w = w[:-1]
    return w


def _normalise(text: str) -> tuple[str, list[int] | None]:
    """Lower-case, strip accents and fold apostrophes, keeping a map back to original offsets.

    Returns the normalised string and, when its characters do not line up one-to-one with the
    original, the original index of every normalised character.
    """
    if text.isascii():
        return text.lower().replace("`", "'"), None
    out: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(text.translate(_APOSTROPHES)):
        for part in unicodedata.normalize("NFKD", ch):
            if unicodedata.combining(part):
                continue
            for folded in part.casefold():
                out.append(folded)
                index.append(i)
    return "".join(out), index


# The token alternative of ``_SCAN`` alone: no break can hold a token, so it finds the same tokens.
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")


class Tokens:
    """A field of a post split into stems, with the original offsets and clause of each token.

    Words and stems are found at once; offsets and clauses when first read (a match's span, a negation
    check), which most fields of a page never need. Then they are plain attributes like the others.
    """

    __slots__ = ("clauses", "ends", "starts", "stems", "text", "words")
    text: str
    words: list[str]  # normalised surface form (for negation words such as "isn't")
    stems: list[str]
    starts: list[int]
    ends: list[int]
    clauses: list[int]

    def __init__(self, text: str, words: list[str], stems: list[str]) -> None:
        self.text, self.words, self.stems = text, words, stems

    def __getattr__(self, name: str) -> list[int]:
        """Only called for an attribute not set yet: the offsets and clauses, computed on first use."""
        if name not in ("starts", "ends", "clauses"):
            raise AttributeError(name)
        self._lay_out()
        return getattr(self, name)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        return len(self.stems)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tokens) and (self.text, self.words, self.stems) == (other.text, other.words,
                                                                                       other.stems)

    __hash__ = None  # type: ignore[assignment]  # lists inside, like the dataclass it replaced

    def __repr__(self) -> str:
        return f"Tokens(text={self.text!r}, stems={self.stems!r})"

    def span(self, first: int, last: int) -> str:
        """The original text from token ``first`` to token ``last`` inclusive."""
        return self.text[self.starts[first] : self.ends[last]]

    def _lay_out(self) -> None:
        # Normalised again rather than kept: a non-ASCII text's index map is several times its size, and
        # tokens are remembered per text (``local.tokens_of``).
        norm, index = _normalise(self.text)
        starts: list[int] = []
        ends: list[int] = []
        clauses: list[int] = []
        clause = 0
        for m in _SCAN.finditer(norm):
            if m.group("tok") is None:
                clause += 1
                continue
            start, end = m.span()
            if index is not None:
                start, end = index[start], index[end - 1] + 1
            starts.append(start)
            ends.append(end)
            clauses.append(clause)
        self.starts, self.ends, self.clauses = starts, ends, clauses


def tokenize(text: str) -> Tokens:
    words = _TOKEN.findall(_normalise(text)[0])
    return Tokens(text, words, list(map(stem, words)))


def stems_of(phrase: str) -> tuple[str, ...]:
    """The stems of a filter phrase."""
    return tuple(tokenize(phrase).stems)


WILD, NUM = "\x00*", "\x00#"
EXACT = "="  # prefix of a pattern element compared with the surface word, not the stem


def phrase_pattern(phrase: str) -> tuple[str, ...]:
    """Stems of a lexicon phrase; ``=word`` keeps a word unstemmed, ``*`` and ``#num`` are wildcards."""
    parts: list[str] = []
    for chunk in phrase.split():
        if chunk == "*":
            parts.append(WILD)
        elif chunk == "#num":
            parts.append(NUM)
        elif chunk.startswith(EXACT) and len(chunk) > 1:
            parts.extend(EXACT + w for w in tokenize(chunk[1:]).words)
        else:
            parts.extend(stems_of(chunk))
    return tuple(parts)
