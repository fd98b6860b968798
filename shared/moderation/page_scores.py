"""A page's evidence as arrays: every concept against every unit the model saw, then every (post, filter)
pair's ``FEATURES`` row picked from those arrays at once.

The matcher decides a page from the feature matrix alone; an ``Evidence`` object (what a match explains
itself with, and what calibration reads) is built only for the pairs that need one. Built pair by pair,
in Python, the objects were a fifth of an embeddings-cached page's time. ``tests/moderation/
test_page_scores.py`` checks that the rows are exactly the built objects' ``features()``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from shared.models import Filter
from shared.moderation.concepts import FilterConcept
from shared.moderation.evidence import (
    FEATURES,
    Evidence,
    literal_evidence,
    related_evidence,
    subject_stems,
)
from shared.moderation.lexicon import STOPWORDS
from shared.moderation.text import Tokens
from shared.moderation.vocabulary import WordVectors


class Unit:
    """One text the model saw (a post's title and body, or its image description), prepared once per page."""

    __slots__ = ("fields", "stems", "text", "words")

    def __init__(self, text: str, fields: list[Tokens]) -> None:
        self.text, self.fields = text, fields
        self.stems = frozenset().union(*(f.stems for f in fields))
        self.words = [w for f in fields for w in f.words if w not in STOPWORDS]


@dataclass(frozen=True)
class PageScores:
    """Every concept of the page against every unit: float and bool arrays [concept, unit + 1], whose last
    column stands for "no unit" (a post without text or image, or a part the filter does not see), so a pair
    is picked by index alone. What only an explanation reads stays per concept, per unit, in Python."""

    text_best: np.ndarray  # best cosine to a description posts' text is compared with (-inf: the concept has none)
    image_best: np.ndarray  # the same for image descriptions
    exclusion: np.ndarray  # best cosine to an exclusion description
    user_exclusion: np.ndarray  # best cosine to a user exclusion (0 if none)
    word: np.ndarray  # the unit's vocabulary word closest to the subject (0 if none is in the vocabulary)
    has_word: np.ndarray
    text_context: np.ndarray  # text_best with the filter's words masked (NaN: no masked copy, or not at hand yet)
    image_context: np.ndarray
    literal: np.ndarray  # an un-negated mention of the filter's words
    negated: np.ndarray  # a negated one
    related: np.ndarray  # an un-negated mention of another word for the subject (``FilterConcept.related``)
    has_pending: np.ndarray  # the unit has a masked copy whose vector was not at hand
    topic_mean: np.ndarray  # [unit + 1]: the unit's mean similarity to common feed topics
    text_nearest: np.ndarray  # [concept, unit + 1]: which of the concept's text descriptions is nearest
    image_nearest: np.ndarray
    word_first: np.ndarray  # [concept, unit + 1]: the closest word's index among the unit's known words (-1: none)
    known: list[list[str]]  # per unit: its words the vocabulary has vectors for
    literal_spans: list[dict[int, list[str]]]  # per concept: unit -> un-negated mentions (units with any)
    related_spans: list[dict[int, list[str]]]
    pending: list[dict[int, str]]  # per concept: unit -> its masked copy not at hand


def concept_scores(concepts: list[FilterConcept], units: list[Unit], sims: np.ndarray, topic_mean: np.ndarray,
                   row: dict[str, int], matrix: np.ndarray, words: WordVectors,
                   masks: dict[tuple[str, str], str]) -> PageScores:
    """``sims``: each unit against every text of the page (columns by ``row``); ``matrix``: those texts' vectors."""
    n, size = len(units), (len(concepts), len(units) + 1)
    text_best, image_best = np.full(size, -math.inf), np.full(size, -math.inf)
    exclusion, user_exclusion = np.zeros(size), np.zeros(size)
    text_context, image_context = np.full(size, math.nan), np.full(size, math.nan)
    literal, negated, related, has_pending = (np.zeros(size, dtype=bool) for _ in range(4))
    text_nearest, image_nearest = np.zeros(size, dtype=np.intp), np.zeros(size, dtype=np.intp)
    literal_spans: list[dict[int, list[str]]] = []
    related_spans: list[dict[int, list[str]]] = []
    pending: list[dict[int, str]] = []

    known = [words.known(u.words) for u in units]
    subjects = matrix[[row[c.subject] for c in concepts]]
    word_sims = words.vectors([w for k in known for w in k]) @ subjects.T  # every unit's words x subjects
    word_best, first = closest_words([len(k) for k in known], word_sims)
    word, word_first = np.zeros(size), np.full(size, -1, dtype=np.intp)
    word[:, :n], word_first[:, :n] = word_best, first

    for c, concept in enumerate(concepts):
        text_desc, image_desc = description_names(concept)
        _best(sims, [row[d] for d in text_desc], text_best[c], text_nearest[c])
        _best(sims, [row[d] for d in image_desc], image_best[c], image_nearest[c])
        exclusion[c, :n] = sims[:, [row[d] for d in concept.exclusions]].max(axis=1)
        if concept.user_exclusion_descriptions:
            user_exclusion[c, :n] = sims[:, [row[d] for d in concept.user_exclusion_descriptions]].max(axis=1)
        pending.append(_context(concept, units, row, matrix, masks, text_desc, image_desc, text_context[c],
                                image_context[c]))
        has_pending[c, list(pending[c])] = True
        stems = subject_stems(concept.topic)
        spans: dict[int, list[str]] = {}
        # Most units never use the filter's words: a set test spares the token-by-token scan.
        for u, unit in enumerate(units):
            if not stems.isdisjoint(unit.stems):
                found, negated[c, u] = literal_evidence(concept, unit.fields)
                if found:
                    spans[u] = found
        literal[c, list(spans)] = True
        literal_spans.append(spans)
        related_found: dict[int, list[str]] = {}
        if concept.related:  # WordNet's other words for the subject and its kinds ("mako" for sharks)
            for u, unit in enumerate(units):
                if not concept.related_stems.isdisjoint(unit.stems) and (found := related_evidence(concept.related,
                                                                                                unit.fields)):
                    related_found[u] = found
        related[c, list(related_found)] = True
        related_spans.append(related_found)
    return PageScores(text_best, image_best, exclusion, user_exclusion, word, word_first >= 0, text_context,
                      image_context, literal, negated, related, has_pending,
                      np.append(topic_mean.astype(np.float64), 0.0), text_nearest, image_nearest, word_first, known,
                      literal_spans, related_spans, pending)


def closest_words(lengths: list[int], word_sims: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per concept, per unit: the best similarity among the unit's known words (rows of ``word_sims``, unit after
    unit, ``lengths[u]`` each) and the index within the unit of the first word reaching it; 0.0 and -1 for a
    unit without known words. Both [concept, unit].

    Segment reductions over the page's rows at once instead of numpy calls per unit; max and the first
    maximum are exact, so the values are those of a max and argmax per unit.
    """
    n_concepts = word_sims.shape[1]
    best = np.zeros((n_concepts, len(lengths)), dtype=np.float64)
    first = np.full((n_concepts, len(lengths)), -1, dtype=np.intp)
    counts = np.array(lengths, dtype=np.intp)
    present = np.flatnonzero(counts)
    if not len(present) or not n_concepts:
        return best, first
    starts = (np.cumsum(counts) - counts)[present]
    top = np.maximum.reduceat(word_sims, starts, axis=0)  # [unit with words, concept]
    rows = np.arange(len(word_sims))[:, None]
    reaching = np.where(word_sims == np.repeat(top, counts[present], axis=0), rows, len(word_sims))
    best[:, present] = top.T
    first[:, present] = (np.minimum.reduceat(reaching, starts, axis=0) - starts[:, None]).T
    return best, first


def _best(sims: np.ndarray, columns: list[int], into: np.ndarray, nearest: np.ndarray) -> None:
    """Per unit: the highest cosine among ``columns`` (into ``into``) and which of them it is (into ``nearest``)."""
    if columns:
        block = sims[:, columns]
        at = block.argmax(axis=1)
        into[:len(sims)] = block[np.arange(len(block)), at]
        nearest[:len(sims)] = at


def _context(concept: FilterConcept, units: list[Unit], row: dict[str, int], matrix: np.ndarray,
             masks: dict[tuple[str, str], str], text_desc: tuple[str, ...], image_desc: tuple[str, ...],
             text_into: np.ndarray, image_into: np.ndarray) -> dict[int, str]:
    """Per unit holding the filter's words: the best cosine of its masked copy (``without_subject``) to the text
    and image descriptions, written into ``text_into`` and ``image_into``; returns the units whose copy's vector
    is not at hand (settled or computed per pair by ``OpenVocabMatcher._settle_context``)."""
    pending: dict[int, str] = {}
    text_rows = matrix[[row[d] for d in text_desc]] if text_desc else None
    image_rows = matrix[[row[d] for d in image_desc]] if image_desc else None
    for u, unit in enumerate(units):
        masked = masks.get((concept.topic, unit.text))
        if masked is None:
            continue
        if masked not in row:
            pending[u] = masked
            continue
        vec = matrix[row[masked]]
        if text_rows is not None:
            text_into[u] = (text_rows @ vec).max()
        if image_rows is not None:
            image_into[u] = (image_rows @ vec).max()
    return pending


@lru_cache(maxsize=4096)
def description_names(concept: FilterConcept) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Descriptions a post's text is compared with, and those its image description is compared with."""
    text = tuple(d for d in concept.descriptions if not d.startswith("a photo of"))
    image = tuple(d for d in concept.descriptions if d.startswith("a photo of") or concept.visual)
    return text, image


_SIMILARITY = FEATURES.index("similarity")


class PageEvidence:
    """Every (post, filter) pair of a page, post after post, the filters in order within each: ``features``
    (one ``FEATURES`` row each) and ``lexicon`` (the curated matcher matched), with an ``Evidence`` built
    only when asked (``evidence``)."""

    def __init__(self, scores: PageScores, concepts: list[FilterConcept], filters: list[Filter],
                 concept_of: list[int], text_unit: np.ndarray, image_unit: np.ndarray,
                 lexicon_spans: dict[tuple[int, int], list[str]]) -> None:
        """``concept_of``: each filter's row in ``scores``; ``text_unit``, ``image_unit``: each post's unit, or the
        "no unit" column; ``lexicon_spans``: (post, filter) indices the curated matcher matched -> its words."""
        s = self.scores = scores
        self.concepts, self.lexicon_spans = concepts, lexicon_spans
        none = s.topic_mean.shape[0] - 1
        self.n_filters = len(filters)
        c = self.concept_of = np.array(concept_of, dtype=np.intp)[:, None]  # [filter, 1]
        # What each filter sees of each post: [filter, post] unit indices.
        t = self.text_unit = np.where(np.array([f.applies_to_text() for f in filters])[:, None], text_unit, none)
        i = self.image_unit = np.where(np.array([f.applies_to_images() for f in filters])[:, None], image_unit, none)
        # The unit whose description is closest wins; the text's on a tie, and none below -1 (no description).
        text_best, image_best = s.text_best[c, t], s.image_best[c, i]
        by_text = text_best > -1.0
        self.on_image = image_best > np.where(by_text, text_best, -1.0)
        self.unit = np.where(self.on_image, i, np.where(by_text, t, none))
        u = self.unit
        similarity = np.where(self.on_image, image_best, np.where(by_text, text_best, 0.0))
        context = np.where(self.on_image, s.image_context[c, u], s.text_context[c, u])
        # The closest word over the units seen: the text's, unless the image's is strictly closer.
        text_word, image_word = s.has_word[c, t], s.has_word[c, i]
        image_closer = image_word & (~text_word | (s.word[c, i] > s.word[c, t]))
        self.word_unit = np.where(image_closer, i, np.where(text_word, t, none))
        literal = s.literal[c, t] | s.literal[c, i]
        user = s.user_exclusion[c, u]
        information = np.array([concepts[k].information for k in concept_of], dtype=bool)[:, None]
        lexicon = np.zeros((len(filters), len(text_unit)), dtype=bool)
        for p, f in lexicon_spans:
            lexicon[f, p] = True
        columns = {
            "similarity": similarity,
            "context_similarity": np.where(np.isnan(context), similarity, context),
            "specificity": similarity - s.topic_mean[u],
            "word_similarity": s.word[c, self.word_unit],
            "margin_over_exclusions": similarity - s.exclusion[c, u],
            "margin_over_user_exclusions": np.where(user != 0.0, similarity - user, 0.0),
            "lexicon_match": lexicon,
            "negated_mention": (s.negated[c, t] | s.negated[c, i]) & ~literal,
            "related_mention": s.related[c, t] | s.related[c, i],
            "information_similarity": np.where(information, similarity, 0.0),
            "bias": np.ones_like(similarity),
        }
        if tuple(columns) != FEATURES:  # Evidence.features() is the definition; these columns must follow it
            raise RuntimeError(f"page features {tuple(columns)} do not follow FEATURES {FEATURES}")
        # [filter, post, feature] -> one row per (post, filter), post-major.
        stacked = np.stack([np.asarray(v, dtype=np.float64) for v in columns.values()], axis=-1)
        self.features = np.ascontiguousarray(stacked.transpose(1, 0, 2)).reshape(-1, len(FEATURES))
        self.lexicon = lexicon.T.reshape(-1)
        self._literal = literal
        self._built: dict[int, Evidence] = {}

    def concept(self, row: int) -> FilterConcept:
        return self.concepts[int(self.concept_of[row % self.n_filters, 0])]

    def pending_rows(self) -> list[int]:
        """Rows whose best unit has a masked copy not at hand: context similarity unknown until settled."""
        return np.flatnonzero(self.scores.has_pending[self.concept_of, self.unit].T.reshape(-1)).tolist()

    def settle(self, row: int, evidence: Evidence) -> None:
        """Take ``evidence``'s settled or computed context similarity into ``row``."""
        self.features[row] = evidence.features()

    def evidence(self, row: int) -> Evidence:
        """The row's ``Evidence`` (built once; its ``features()`` are the row)."""
        built = self._built.get(row)
        if built is not None:
            return built
        p, f = divmod(row, self.n_filters)
        s = self.scores
        c, t, i = int(self.concept_of[f, 0]), int(self.text_unit[f, p]), int(self.image_unit[f, p])
        u, word_unit, on_image = int(self.unit[f, p]), int(self.word_unit[f, p]), bool(self.on_image[f, p])
        concept = self.concepts[c]
        picked = u != s.topic_mean.shape[0] - 1
        context = (s.image_context if on_image else s.text_context)[c, u]
        if picked:
            names = description_names(concept)[1 if on_image else 0]
            description = names[int((s.image_nearest if on_image else s.text_nearest)[c, u])]
        else:
            description = concept.topic
        first = int(s.word_first[c, word_unit])
        related = list(s.related_spans[c].get(t, []))
        related += [w for w in s.related_spans[c].get(i, []) if w not in related]
        built = self._built[row] = Evidence(
            similarity=float(self.features[row, _SIMILARITY]), exclusion=float(s.exclusion[c, u]),
            topic_mean=float(s.topic_mean[u]),
            word_similarity=float(s.word[c, word_unit]), closest_word=s.known[word_unit][first] if first >= 0 else "",
            user_exclusion=float(s.user_exclusion[c, u]), lexicon=bool(self.lexicon[row]),
            literal=bool(self._literal[f, p]), negated=bool(s.negated[c, t] or s.negated[c, i]),
            information=concept.information, on_image=on_image, description=description,
            literal_spans=list(s.literal_spans[c].get(t, [])), lexicon_spans=self.lexicon_spans.get((p, f), []),
            context_similarity=None if math.isnan(context) else float(context), related_spans=related,
            pending_mask=s.pending[c].get(u))
        return built
