"""The evidence one post gives about one filter, as numbers a calibrated score combines.

Semantic: cosine similarity of the post (text, image description) to the concept's descriptions,
to its exclusion descriptions (idioms, names, absence) and to the user's own exclusions. Lexical:
what the hand-curated local matcher found, and whether the filter's own words appear, negated or
not. ``FEATURES`` names the vector that ``shared/moderation/calibration.json`` weighs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np

from shared.moderation.concepts import FilterConcept
from shared.moderation.lexicon import STOPWORDS
from shared.moderation.related import plain_word, related_phrases
from shared.moderation.scoring import _negated  # the local matcher's negation rule, shared on purpose
from shared.moderation.text import Tokens, stems_of, tokenize

FEATURES = (
    "similarity",  # best cosine to a description
    "context_similarity",  # that, with the filter's own words masked: does the rest of the post carry the topic?
    "specificity",  # that, minus the post's mean similarity to common feed topics
    "word_similarity",  # the post word closest to the filter's subject (vocabulary vectors)
    "margin_over_exclusions",  # that minus the best cosine to an idiom/name/absence description
    "margin_over_user_exclusions",  # that minus the best cosine to what the user said is fine (0 if none)
    "lexicon_match",  # the hand-curated matcher matched (precise on the topics it knows)
    "negated_mention",  # they appear, but only negated ("no sharks this year")
    "related_mention",  # another word for the subject or one of its kinds appears, not negated (WordNet: "mako")
    # similarity again on an information filter ("celebrity deaths", "comments about people's weight"), else 0: one
    # sentence delivering the news is enough, so the post as a whole sits further from the descriptions than a post
    # about a thing does, and such filters need their own slope
    "information_similarity",
    "bias",
)


@dataclass
class Evidence:
    similarity: float
    exclusion: float
    topic_mean: float  # the post's mean similarity to common feed topics
    word_similarity: float
    closest_word: str
    user_exclusion: float
    lexicon: bool
    literal: bool
    negated: bool
    information: bool
    on_image: bool  # the best semantic evidence came from the image description
    description: str  # the nearest description
    literal_spans: list[str]
    lexicon_spans: list[str] = field(default_factory=list)
    context_similarity: float | None = None  # None: the post has none of the filter's words (same as similarity)
    related_spans: list[str] = field(default_factory=list)  # un-negated mentions of ``FilterConcept.related``
    # The masked copy of the best unit when its vector was not at hand yet: context_similarity is unknown until
    # ``OpenVocabMatcher._settle_context`` settles or computes it (never left set after ``gather``).
    pending_mask: str | None = None

    def features(self) -> list[float]:
        """The values of ``FEATURES``, in order (a plain list: a page's rows become one array at once)."""
        user_margin = self.similarity - self.user_exclusion if self.user_exclusion else 0.0
        return [
            self.similarity,
            self.similarity if self.context_similarity is None else self.context_similarity,
            self.similarity - self.topic_mean,
            self.word_similarity,
            self.similarity - self.exclusion,
            user_margin,
            float(self.lexicon),
            float(self.negated and not self.literal),
            float(bool(self.related_spans)),
            self.similarity if self.information else 0.0,
            1.0,
        ]

    def vector(self) -> np.ndarray:
        return np.array(self.features(), dtype=np.float64)


_FRAMING_STEMS = frozenset(
    stems_of(" ".join(STOPWORDS)) + stems_of("photos pictures images videos footage close up closeup macro posts news")
)


# One word wider than the local matcher's window: "didn't see a single snake". Measured on the development
# set (leave-one-filter-out micro F1 0.685 -> 0.694); wider windows changed nothing more.
NEGATION_WINDOW = 4


@lru_cache(maxsize=4096)
def subject_stems(topic: str) -> frozenset[str]:
    return frozenset(s for s in stems_of(topic) if s not in _FRAMING_STEMS and len(s) > 2)


def literal_hits(stems: frozenset[str], tokens: Tokens) -> tuple[list[str], bool]:
    """Surface words of un-negated mentions of ``stems``, and whether a negated mention was seen."""
    spans: list[str] = []
    negated = False
    for i, s in enumerate(tokens.stems):
        if s not in stems:
            continue
        if _negated(tokens, i, NEGATION_WINDOW):
            negated = True
            continue
        word = tokens.span(i, i)
        if word not in spans:
            spans.append(word)
    return spans, negated


# What stands in for the filter's words: a pronoun keeps the sentence grammatical and says nothing.
_MASK = "it"


def without_subject(topic: str, text: str) -> str:
    """``text`` with the filter's own words replaced by a pronoun.

    Its similarity to the descriptions is what the rest of the post says about the topic, without the
    lift the bare word gives (an idiom, a name or a passing word gets much of its similarity from the
    word alone). Weighed beside the plain similarity it raised leave-one-filter-out micro F1 on the
    development set from 0.649 to 0.685; no single post is reliably told apart by it.

    The matcher builds the copy from the tokens it has already read (``masked_copy``), not from the text.
    """
    return masked_copy(subject_stems(topic), tokenize(text))


def masked_copy(stems: frozenset[str], tokens: Tokens) -> str:
    """``tokens.text`` with every token whose stem is one of ``stems`` replaced by a pronoun.

    A token joined to a neighbour by a hyphen ("Spider-Man", "multi-car") or followed by an apostrophe
    (a closing quote) is kept: the copies were always made word by word, such words whole, and the
    fitted weights expect those copies.
    """
    text, parts, end = tokens.text, [], 0
    for i, s in enumerate(tokens.stems):
        if s not in stems:
            continue
        start, stop = tokens.starts[i], tokens.ends[i]
        if text[start - 1:start] == "-" or text[stop:stop + 1] in _JOINED:
            continue
        parts += (text[end:start], _MASK)
        end = stop
    if not parts:
        return text
    parts.append(text[end:])
    return "".join(parts)


_JOINED = ("-", "'")  # after a token: it goes on as part of a longer word


def post_text(title: str, body: str) -> str:
    """Exactly what the model sees of a post's text (and what its cache key hashes)."""
    return "\n".join(part for part in (title.strip(), body.strip()) if part)


def literal_evidence(concept: FilterConcept, fields: list[Tokens]) -> tuple[list[str], bool]:
    stems = subject_stems(concept.topic)
    spans: list[str] = []
    negated = False
    for tokens in fields:
        found, neg = literal_hits(stems, tokens)
        spans += [w for w in found if w not in spans]
        negated = negated or neg
    return spans, negated


def related_evidence(related: tuple[str, ...], fields: list[Tokens]) -> list[str]:
    """Surface words of un-negated mentions of ``related`` (a multi-word one whole): "a mako", not "no mako"."""
    by_stem = related_phrases(related)
    spans: list[str] = []
    for tokens in fields:
        for i, s in enumerate(tokens.stems):
            phrases = by_stem.get(s)
            if not phrases:
                continue
            for phrase in phrases:
                end = i + len(phrase)
                whole = end <= len(tokens.words) and all(plain_word(tokens.words[k]) == phrase[k - i]
                                                         for k in range(i, end))
                if whole and not _negated(tokens, i, NEGATION_WINDOW):
                    span = tokens.span(i, end - 1)
                    if span not in spans:
                        spans.append(span)
    return spans
