"""``OpenVocabMatcher``: the offline provider for any filter a person types.

For each (post, filter) it gathers ``Evidence`` (semantic similarity to the compiled concept,
exclusions, the hand-curated matcher's verdict, literal and negated mentions), combines it into one
calibrated probability with the weights in ``calibration.json`` (fitted by
``bench/calibrate_open_vocab.py`` on the in-repo development set, validated leave-one-filter-out),
and matches when that probability reaches the global threshold stored with them.

Embeddings come from a ``VectorSource``: in the gateway, Redis-cached and computed in an executor;
elsewhere, an in-process memo. The page's missing texts go to the model in one call.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from shared.models import Filter
from shared.moderation.background import BACKGROUND_TOPICS
from shared.moderation.concepts import FilterConcept, compile_concept
from shared.moderation.evidence import FEATURES, Evidence, literal_evidence, post_text, without_subject
from shared.moderation.expansion import Expansions, FilterExpansion, expansion_for
from shared.moderation.lexicon import STOPWORDS
from shared.moderation.local import LocalMatcher
from shared.moderation.parse import plan_filter
from shared.moderation.text import Tokens, tokenize
from shared.moderation.types import Match, Post, PostVerdict, ProviderError
from shared.moderation.vocabulary import WordVectors

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
_CONFIDENCE_FLOOR, _CONFIDENCE_CEILING = 0.8, 0.99
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


class VectorSource(Protocol):
    async def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors for ``texts``, one row each, computing only what is not cached."""
        ...


@dataclass(frozen=True)
class Calibration:
    weights: np.ndarray
    threshold: float

    @classmethod
    def load(cls, variant: str = "combined", path: Path = CALIBRATION_FILE) -> Calibration:
        """``combined`` (the matcher) or ``similarity_only`` (the embedding-only baseline of ``make eval``)."""
        data = json.loads(path.read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted for features {data['features']}, the code has {FEATURES}")
        fit = data[variant]
        return cls(np.array(fit["weights"], dtype=np.float64), float(fit["threshold"]))

    def probability(self, evidence: Evidence) -> float:
        z = float(self.weights @ evidence.vector())
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))


@lru_cache(maxsize=4096)
def curated(topic: str) -> bool:
    """Whether the hand-curated lexicon knows this topic (rather than falling back to its literal words)."""
    return any(not c.id.startswith(("literal:", "spoiler:")) for c in plan_filter(topic).concepts)


@lru_cache(maxsize=4096)
def concept_for(filter_text: str, expansion: FilterExpansion | None = None) -> FilterConcept:
    """The rule-compiled concept, merged with a cloud model's expansion of the same text when one is cached."""
    return compile_concept(filter_text).with_expansion(expansion)


class OpenVocabMatcher:
    name = "local"
    can_rewrite = False

    def __init__(self, source: VectorSource, words: WordVectors, calibration: Calibration | None = None,
                 *, lexicon_layer: bool = True) -> None:
        self.source = source
        self.lexicon_layer = lexicon_layer
        self.words = words
        self.calibration = calibration or Calibration.load()
        self.lexicon = LocalMatcher()

    async def judge(self, posts: list[Post], filters: list[Filter],
                    expansions: Expansions | None = None) -> dict[str, PostVerdict]:
        ids = [p.id for p in posts]
        if len(set(ids)) != len(ids):
            raise ProviderError("post ids must be unique within a page")
        active = [f for f in filters if f.is_active()]
        evidence = await self.gather(posts, active, expansions)
        verdicts: dict[str, PostVerdict] = {}
        for post in posts:
            matches = []
            for flt in active:
                ev = evidence[(post.id, flt.id)]
                p = self.calibration.probability(ev)
                if self._decide(flt, ev, p):
                    matches.append(self._match(post, flt, ev, p))
            verdicts[post.id] = PostVerdict(post_id=post.id, matches=matches)
        return verdicts

    def _decide(self, flt: Filter, ev: Evidence, probability: float) -> bool:
        """Calibrated score; on a topic the lexicon was curated for, its verdict decides (a precision layer).

        The combined score was fitted on filters the lexicon does not know, where its literal fallback
        is weak evidence; on curated topics it is the strongest evidence there is.
        """
        if self.lexicon_layer and curated(concept_for(flt.filter_text).topic):
            return ev.lexicon
        return probability >= self.calibration.threshold

    async def gather(self, posts: list[Post], filters: list[Filter],
                     expansions: Expansions | None = None) -> dict[tuple[str, int], Evidence]:
        """Evidence for every (post id, filter id), with one call to the vector source for the page.

        ``expansions`` (by normalised filter text) were read once for the page by the caller (the gateway).
        """
        concepts = {f.id: concept_for(f.filter_text, expansion_for(expansions, f.filter_text)) for f in filters}
        # The lexicon sees the filter without the user's exclusions (they are semantic, judged below).
        lexicon_filters = [Filter(id=f.id, filter_text=concepts[f.id].topic, content_type=f.content_type,
                                  intensity=f.intensity) for f in filters]
        lexicon = self.lexicon.judge_sync(posts, lexicon_filters)
        texts = [post_text(p.title, p.body) for p in posts]
        wanted: list[str] = [t for t in texts if t] + [p.image_alt for p in posts if p.image_alt]
        for c in concepts.values():
            wanted += c.texts()
        wanted += _masked_texts(posts, texts, filters, concepts)
        wanted += BACKGROUND_TOPICS
        unique = list(dict.fromkeys(wanted))
        matrix = await self.source.vectors(unique)
        row = {t: i for i, t in enumerate(unique)}
        topics = matrix[[row[t] for t in BACKGROUND_TOPICS]]
        units = {t: _Unit(t, matrix[row[t]], topics) for t in dict.fromkeys(texts + [p.image_alt for p in posts]) if t}

        out: dict[tuple[str, int], Evidence] = {}
        for post, text in zip(posts, texts, strict=True):
            lex = lexicon.get(post.id)
            lex_spans = {m.filter_id: m.spans for m in lex.matches} if lex else {}
            for flt in filters:
                concept = concepts[flt.id]
                seen: list[tuple[_Unit, bool]] = []
                if flt.applies_to_text() and text:
                    seen.append((units[text], False))
                if flt.applies_to_images() and post.image_alt:
                    seen.append((units[post.image_alt], True))
                ev = _evidence(concept, seen, row, matrix, flt.id in lex_spans)
                ev.lexicon_spans = lex_spans.get(flt.id, [])
                words = [w for u, _ in seen for w in u.words]
                ev.word_similarity, ev.closest_word = self.words.closest(words, matrix[row[concept.subject]])
                out[(post.id, flt.id)] = ev
        return out

    def _match(self, post: Post, flt: Filter, ev: Evidence, probability: float) -> Match:
        spans = [s for s in (ev.lexicon_spans or ev.literal_spans) if s in post.title or s in post.body]
        if not spans and not ev.on_image:
            spans = _carrying_sentence(post, ev.closest_word)
        if spans:
            words = " and ".join(f"'{s}'" for s in spans[:2])
            reason = f"mentions {words}, related to '{flt.filter_text}'"
        else:
            where = "image looks like" if ev.on_image else "reads like"
            reason = f"{where} '{ev.description}' (similarity {ev.similarity:.2f})"
        t = self.calibration.threshold
        above = (probability - t) / max(1 - t, 1e-6) if probability >= t else 1.0  # lexicon-decided: sure
        confidence = _CONFIDENCE_FLOOR + (_CONFIDENCE_CEILING - _CONFIDENCE_FLOOR) * above
        return Match(filter_id=flt.id, on="image" if ev.on_image and not spans else "text", reason=reason,
                     spans=spans, confidence=round(min(_CONFIDENCE_CEILING, confidence), 3))

@dataclass
class _Unit:
    """One text the model saw (a post's title and body, or its image description), prepared once per page."""

    text: str
    vector: np.ndarray
    tokens: Tokens
    words: list[str]
    topic_mean: float

    def __init__(self, text: str, vector: np.ndarray, topics: np.ndarray) -> None:
        self.text, self.vector = text, vector
        self.tokens = tokenize(text)
        self.words = [w for w in self.tokens.words if w not in STOPWORDS]
        self.topic_mean = float((topics @ vector).mean())


def _carrying_sentence(post: Post, word: str) -> list[str]:
    """The sentence holding the post's word closest to the filter: blurred instead of the whole post."""
    sentences = [s.group(0).strip() for field_ in (post.title, post.body) for s in _SENTENCE.finditer(field_)
                 if s.group(0).strip()]
    if not sentences:
        return []
    carrying = [s for s in sentences if word and word in s.lower()]
    return [carrying[0] if carrying else sentences[0]]


def _masked_texts(posts: list[Post], texts: list[str], filters: list[Filter],
                  concepts: dict[int, FilterConcept]) -> list[str]:
    """The page's texts with a filter's words masked, where they hold any (``Evidence.context_similarity``)."""
    out: list[str] = []
    for post, text in zip(posts, texts, strict=True):
        for flt in filters:
            topic = concepts[flt.id].topic
            for seen, applies in ((text, flt.applies_to_text()), (post.image_alt, flt.applies_to_images())):
                if seen and applies and (masked := without_subject(topic, seen)) != seen:
                    out.append(masked)
    return out


@lru_cache(maxsize=4096)
def _description_names(concept: FilterConcept) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Descriptions a post's text is compared with, and those its image description is compared with."""
    text = tuple(d for d in concept.descriptions if not d.startswith("a photo of"))
    image = tuple(d for d in concept.descriptions if d.startswith("a photo of") or concept.visual)
    return text, image


def _evidence(concept: FilterConcept, units: list[tuple[_Unit, bool]], row: dict[str, int], matrix: np.ndarray,
              lexicon: bool) -> Evidence:
    spans, negated = literal_evidence(concept, [u.tokens for u, is_image in units if not is_image])
    image_spans, image_negated = literal_evidence(concept, [u.tokens for u, is_image in units if is_image])
    ev = Evidence(similarity=0.0, exclusion=0.0, topic_mean=0.0, word_similarity=0.0,
                  closest_word="", user_exclusion=0.0, lexicon=lexicon,
                  literal=bool(spans or image_spans), negated=negated or image_negated,
                  information=concept.information, on_image=False, description=concept.topic, literal_spans=spans)
    if not units:
        return ev
    text_desc, image_desc = _description_names(concept)
    excl = matrix[[row[d] for d in concept.exclusions]]
    user = matrix[[row[d] for d in concept.user_exclusions]] if concept.user_exclusions else None
    by_kind = {False: matrix[[row[d] for d in text_desc]], True: matrix[[row[d] for d in image_desc]]}
    best = -1.0
    for unit, is_image in units:
        vec = unit.vector
        names = image_desc if is_image else text_desc
        sims = by_kind[is_image] @ vec
        if float(sims.max()) > best:
            best = float(sims.max())
            ev.similarity = best
            masked = without_subject(concept.topic, unit.text)
            ev.context_similarity = (float((by_kind[is_image] @ matrix[row[masked]]).max()) if masked != unit.text
                                     else None)
            ev.exclusion = float((excl @ vec).max())
            ev.user_exclusion = float((user @ vec).max()) if user is not None else 0.0
            ev.topic_mean = unit.topic_mean
            ev.on_image = is_image
            ev.description = names[int(np.argmax(sims))]
    return ev
