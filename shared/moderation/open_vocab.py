"""``OpenVocabMatcher``: the offline provider for any filter a person types.

For each (post, filter) it gathers ``Evidence`` (semantic similarity to the compiled concept,
exclusions, the hand-curated matcher's verdict, literal and negated mentions), combines it into one
calibrated probability with the weights in ``calibration.json`` (fitted by
``bench/calibrate_open_vocab.py`` on the in-repo development set, validated leave-one-filter-out),
and matches when that probability reaches the global threshold stored with them. A filter with a cloud
expansion is scored by the variant fitted on expanded concepts (``combined_expanded``), the others by
``combined``.

Embeddings come from a ``VectorSource``: in the gateway, Redis-cached and computed in an executor;
elsewhere, an in-process memo. The page's missing texts go to the model in one call.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from shared.models import Filter
from shared.moderation.background import BACKGROUND_TOPICS
from shared.moderation.concepts import FilterConcept, compile_concept
from shared.moderation.evidence import (
    FEATURES,
    Evidence,
    literal_evidence,
    post_text,
    related_evidence,
    subject_stems,
    without_subject,
    word_stems,
)
from shared.moderation.expansion import Expansions, FilterExpansion, expansion_for
from shared.moderation.lexicon import STOPWORDS
from shared.moderation.local import LocalMatcher, post_fields
from shared.moderation.parse import plan_filter
from shared.moderation.text import Tokens
from shared.moderation.types import Match, Post, PostVerdict, ProviderError
from shared.moderation.vocabulary import WordVectors

CALIBRATION_FILE = Path(__file__).with_name("calibration.json")
_COMPILED_REMEMBERED = 2048  # below concept_for's cache (4096 entries), so what is remembered is still cached
# What ``concept_for`` has compiled in this process: its cache is the process's, so every matcher of the process
# (one per app; the benchmarks make one per page) knows a filter compiled once, and none waits for a worker thread.
_compiled: set[tuple[str, FilterExpansion | None]] = set()
_CONFIDENCE_FLOOR, _CONFIDENCE_CEILING = 0.8, 0.99
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


class VectorSource(Protocol):
    async def vectors(self, texts: Sequence[str], *, if_cached: Sequence[str] = (), looked_up: bool = False,
                      meanwhile: Callable[[], None] | None = None) -> np.ndarray:
        """Unit vectors for ``texts``, one row each, computing only what is not cached; then one row for each of
        ``if_cached``, read in the same lookup but never computed (NaN where nothing is cached). ``looked_up``:
        the caller has just missed ``texts`` in a lookup, so they go to the model without another.
        ``meanwhile``: the caller's own work, done on the event loop once the model's threads have begun (at
        once when nothing is to compute), so it overlaps the model's run instead of preceding it."""
        ...


# Where a masked copy's similarity (``context_similarity``) falls relative to the post's own similarity when
# ``calibration.json`` records no band: wider than a cosine difference can be, so nothing is ever settled.
_NO_BAND = (-2.0, 2.0)
_CONTEXT = FEATURES.index("context_similarity")


@dataclass(frozen=True)
class Calibration:
    weights: np.ndarray
    threshold: float
    # context_similarity - similarity for posts holding the filter's words, its whole range on the development
    # data (``bench/calibrate_open_vocab.py``): where a pair's decision is the same at both ends,
    # the masked copy cannot change it and is not computed (``settled_context``).
    context_band: tuple[float, float] = _NO_BAND

    @classmethod
    def load(cls, variant: str = "combined", path: Path = CALIBRATION_FILE) -> Calibration:
        """``combined`` (the matcher on rule-compiled concepts), ``combined_expanded`` (on concepts with a cloud
        expansion) or ``similarity_only`` (the embedding-only baseline of ``make eval``)."""
        data = json.loads(path.read_text())
        if tuple(data["features"]) != FEATURES:
            raise ValueError(f"{path} was fitted for features {data['features']}, the code has {FEATURES}")
        fit = data[variant]
        band = data.get("context_band", _NO_BAND)
        return cls(np.array(fit["weights"], dtype=np.float64), float(fit["threshold"]),
                   (float(band[0]), float(band[1])))

    def settled_context(self, evidence: Evidence) -> float | None:
        """A context similarity that decides ``evidence`` as any masked copy inside the band would (the band's
        middle), or None when the band straddles the threshold and only the masked copy can tell."""
        return self.settled_contexts([evidence])[0]

    def settled_contexts(self, evidence: Sequence[Evidence]) -> list[float | None]:
        """``settled_context`` for many pairs (plain Python: a page has a few dozen, too few for numpy to pay)."""
        weights = self._weight_list
        w = weights[_CONTEXT]
        out: list[float | None] = []
        for ev in evidence:
            x = ev.features()
            base = sum(a * b for a, b in zip(x, weights, strict=True)) - w * x[_CONTEXT]
            low, high = (ev.similarity + b for b in self.context_band)
            decided = [1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, base + w * c)))) >= self.threshold
                       for c in (low, high)]
            out.append((low + high) / 2 if decided[0] == decided[1] else None)
        return out

    @cached_property
    def _weight_list(self) -> list[float]:
        return self.weights.tolist()

    def probability(self, evidence: Evidence) -> float:
        return float(self.probabilities([evidence])[0])

    def probabilities(self, evidence: Sequence[Evidence]) -> np.ndarray:
        """One probability per item, from one matrix product (a page's pairs at once)."""
        if not evidence:
            return np.zeros(0)
        z = np.array([ev.features() for ev in evidence], dtype=np.float64) @ self.weights
        return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


def chosen_probabilities(evidence: Sequence[Evidence], calibrations: Sequence[Calibration],
                         chosen: Sequence[int]) -> np.ndarray:
    """One probability per item, each from the calibration ``chosen`` for it: one matrix product against every
    calibration's weights at once, then a pick per row."""
    if not evidence:
        return np.zeros(0)
    x = np.array([ev.features() for ev in evidence], dtype=np.float64)
    z = (x @ np.stack([c.weights for c in calibrations], axis=1))[np.arange(len(x)), np.asarray(chosen)]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


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
                 *, expanded_calibration: Calibration | None = None, lexicon_layer: bool = True) -> None:
        """``calibration`` scores filters compiled by rules alone, ``expanded_calibration`` filters with a cloud
        expansion (their concepts carry more descriptions and exclusions, so their scores run higher). By default
        both come from ``calibration.json``; a ``calibration`` given alone serves both (baselines, feature runs)."""
        self.source = source
        self.lexicon_layer = lexicon_layer
        self.words = words
        self.calibration = calibration or Calibration.load()
        self.expanded_calibration = expanded_calibration or (
            calibration if calibration is not None else Calibration.load("combined_expanded"))
        self.lexicon = LocalMatcher()

    async def judge(self, posts: list[Post], filters: list[Filter],
                    expansions: Expansions | None = None) -> dict[str, PostVerdict]:
        ids = [p.id for p in posts]
        if len(set(ids)) != len(ids):
            raise ProviderError("post ids must be unique within a page")
        active = [f for f in filters if f.is_active()]
        await self._compile(active, expansions)
        calibrations = (self.calibration, self.expanded_calibration)
        variant = {f.id: int(expansion_for(expansions, f.filter_text) is not None) for f in active}
        lexicon_decides = {f.id: self._lexicon_decides(f) for f in active}

        def settle(pending: list[tuple[Filter, Evidence]]) -> list[float | None]:
            out: list[float | None] = [None] * len(pending)
            for v, calibration in enumerate(calibrations):
                at = [i for i, (flt, _) in enumerate(pending) if variant[flt.id] == v]
                for i, value in zip(at, calibration.settled_contexts([pending[i][1] for i in at]), strict=True):
                    # Where the lexicon's verdict decides, the score only shades the confidence: never computed.
                    out[i] = sum(calibration.context_band) / 2 + pending[i][1].similarity \
                        if lexicon_decides[pending[i][0].id] else value
            return out

        evidence = await self.gather(posts, active, expansions, settle=settle)
        pairs = [(post, flt) for post in posts for flt in active]
        rows = [evidence[(p.id, f.id)] for p, f in pairs]
        probabilities = chosen_probabilities(rows, calibrations, [variant[f.id] for _, f in pairs]).tolist()
        matches: dict[str, list[Match]] = {post.id: [] for post in posts}
        for (post, flt), ev, p in zip(pairs, rows, probabilities, strict=True):
            threshold = calibrations[variant[flt.id]].threshold
            if (ev.lexicon if lexicon_decides[flt.id] else p >= threshold):
                matches[post.id].append(self._match(post, flt, ev, p, threshold))
        return {post.id: PostVerdict(post_id=post.id, matches=matches[post.id]) for post in posts}

    async def _compile(self, filters: list[Filter], expansions: Expansions | None) -> None:
        """Compile filters this process has not seen in a worker thread: compiling reads WordNet (up to ~25 ms
        for a broad word like "food"), which must not stall the event loop; later pages find them in
        ``concept_for``'s cache."""
        keys = {(f.filter_text, e) for f in filters for e in (None, expansion_for(expansions, f.filter_text))}
        new = [k for k in keys if k not in _compiled]
        if not new:
            return
        # Both call forms: lru_cache keys concept_for(text) and concept_for(text, None) apart.
        await asyncio.to_thread(lambda: [(concept_for(text), concept_for(text, expansion)) for text, expansion in new])
        if len(_compiled) > _COMPILED_REMEMBERED:  # concept_for's own cache is bounded too
            _compiled.clear()
        _compiled.update(new)

    def _lexicon_decides(self, flt: Filter) -> bool:
        """Whether the lexicon's verdict decides instead of the calibrated score: on a topic it was curated for
        (a precision layer).

        The combined score was fitted on filters the lexicon does not know, where its literal fallback
        is weak evidence; on curated topics it is the strongest evidence there is.
        """
        return self.lexicon_layer and curated(concept_for(flt.filter_text).topic)

    async def gather(self, posts: list[Post], filters: list[Filter], expansions: Expansions | None = None, *,
                     settle: Callable[[list[tuple[Filter, Evidence]]], list[float | None]] | None = None
                     ) -> dict[tuple[str, int], Evidence]:
        """Evidence for every (post id, filter id), with one call to the vector source for the page.

        The semantic numbers come from one matrix product (the page's texts against every text the page
        needs) and one for the vocabulary words, reduced once per concept; the per-pair work is picking.
        ``expansions`` (by normalised filter text) were read once for the page by the caller (the gateway).

        Without ``settle`` every masked copy is embedded (calibration, evaluation). With it, masked copies are
        only read if cached; for the pairs whose copy is not, ``settle`` gives the context similarity to use, or
        None where the copy must be computed (a second model call, for those copies only).
        """
        concepts = {f.id: concept_for(f.filter_text, expansion_for(expansions, f.filter_text)) for f in filters}
        # The lexicon reads only the filters on topics it was curated for (on the others its literal fallback
        # added nothing: its fitted weight was 0.16 of ~10, leave-one-filter-out F1 the same without it, and it
        # was a sixth of a cached page's time), and sees them without the user's exclusions (they are semantic).
        lexicon_filters = [Filter(id=f.id, filter_text=concepts[f.id].topic, content_type=f.content_type,
                                  intensity=f.intensity) for f in filters if curated(concepts[f.id].topic)]
        try:
            texts = [post_text(p.title, p.body) for p in posts]
            masks = _masked_texts(posts, texts, filters, concepts)
        except (TypeError, ValueError, AttributeError) as exc:  # malformed posts
            raise ProviderError(f"open-vocabulary matcher could not read the page: {exc}") from exc
        unit_texts = list(dict.fromkeys(t for t in texts + [p.image_alt for p in posts] if t))
        wanted = unit_texts + [t for c in concepts.values() for t in c.texts()] + list(BACKGROUND_TOPICS)
        if settle is None:
            wanted += list(masks.values())
        unique = list(dict.fromkeys(wanted))  # starts with unit_texts, in their order
        listed = set(unique)
        optional = [m for m in dict.fromkeys(masks.values()) if m not in listed] if settle else []
        fields: list[list[Tokens]] = []
        lexicon: dict[str, PostVerdict] = {}

        def read_posts() -> None:
            """Tokens (once, for the lexicon and for the literal and word evidence below) and the lexicon's
            verdicts: they need no vectors, so they are read while the model embeds the page's new texts."""
            try:
                fields.extend(post_fields(p) for p in posts)
            except (TypeError, ValueError, AttributeError) as exc:  # malformed posts
                raise ProviderError(f"open-vocabulary matcher could not read the page: {exc}") from exc
            if lexicon_filters:  # none on a topic it knows: nothing for it to read
                lexicon.update(self.lexicon.judge_sync(posts, lexicon_filters, fields))

        matrix = await self.source.vectors(unique, if_cached=optional, meanwhile=read_posts)
        # A post's text is its title and body (their tokens are those of the joined text: a line break
        # ends a clause); an image description is its own field.
        unit_fields = {text: [f for f in fs[:2] if len(f)] for text, fs in zip(texts, fields, strict=True) if text}
        unit_fields.update({p.image_alt: [fs[2]] for p, fs in zip(posts, fields, strict=True) if p.image_alt})
        row = {t: i for i, t in enumerate(unique)}
        row.update({m: len(unique) + i for i, m in enumerate(optional) if not np.isnan(matrix[len(unique) + i, 0])})
        sims = matrix[:len(unit_texts)] @ matrix.T  # unit x every text of the page
        topic_means = sims[:, [row[t] for t in BACKGROUND_TOPICS]].mean(axis=1).tolist()
        units = [_Unit(t, unit_fields[t], topic_means[i]) for i, t in enumerate(unit_texts)]
        unit_of = {t: i for i, t in enumerate(unit_texts)}
        distinct = list(dict.fromkeys(concepts.values()))
        per_concept = _concept_scores(distinct, units, sims, row, matrix, self.words, masks)
        scores = dict(zip(distinct, per_concept, strict=True))

        out: dict[tuple[str, int], Evidence] = {}
        # What each filter needs, looked up once rather than once per post (a concept hashes all its texts).
        per_filter = [(flt.id, concepts[flt.id], scores[concepts[flt.id]], flt.applies_to_text(),
                       flt.applies_to_images()) for flt in filters]
        for post, text in zip(posts, texts, strict=True):
            lex = lexicon.get(post.id)
            lex_spans = {m.filter_id: m.spans for m in lex.matches} if lex else {}
            text_unit = (unit_of[text], False) if text else None
            image_unit = (unit_of[post.image_alt], True) if post.image_alt else None
            for filter_id, concept, concept_scores, on_text, on_images in per_filter:
                seen: list[tuple[int, bool]] = []
                if on_text and text_unit:
                    seen.append(text_unit)
                if on_images and image_unit:
                    seen.append(image_unit)
                ev = _evidence(concept, seen, units, concept_scores, filter_id in lex_spans)
                ev.lexicon_spans = lex_spans.get(filter_id, [])
                out[(post.id, filter_id)] = ev
        if settle is not None:
            await self._settle_context(out, filters, concepts, matrix, row, settle)
        return out

    async def _settle_context(self, evidence: dict[tuple[str, int], Evidence], filters: list[Filter],
                              concepts: dict[int, FilterConcept], matrix: np.ndarray, row: dict[str, int],
                              settle: Callable[[list[tuple[Filter, Evidence]]], list[float | None]]) -> None:
        """Context similarity for the pairs whose masked copy was not cached: settled where it cannot change
        the decision, else computed (the needed copies in one more model call)."""
        by_id = {f.id: f for f in filters}
        pending = [(by_id[filter_id], ev) for (_, filter_id), ev in evidence.items() if ev.pending_mask is not None]
        needed: list[tuple[Evidence, FilterConcept, str]] = []
        for (flt, ev), settled in zip(pending, settle(pending), strict=True):
            if settled is None:
                needed.append((ev, concepts[flt.id], ev.pending_mask))
            else:
                ev.context_similarity = settled
            ev.pending_mask = None
        if not needed:
            return
        copies = list(dict.fromkeys(m for _, _, m in needed))
        vectors = await self.source.vectors(copies, looked_up=True)  # missed in the page's lookup just now
        at = {m: i for i, m in enumerate(copies)}
        for ev, concept, masked in needed:
            text_desc, image_desc = _description_names(concept)
            names = image_desc if ev.on_image else text_desc
            if names:  # as in ``_context``: no description of that kind, no context
                ev.context_similarity = float((matrix[[row[d] for d in names]] @ vectors[at[masked]]).max())

    def _match(self, post: Post, flt: Filter, ev: Evidence, probability: float, threshold: float) -> Match:
        spans = [s for s in (ev.lexicon_spans or ev.literal_spans or ev.related_spans)
                 if s in post.title or s in post.body]
        if not spans and not ev.on_image:
            spans = _carrying_sentence(post, ev.closest_word)
        if spans:
            words = " and ".join(f"'{s}'" for s in spans[:2])
            reason = f"mentions {words}, related to '{flt.filter_text}'"
        else:
            where = "image looks like" if ev.on_image else "reads like"
            reason = f"{where} '{ev.description}' (similarity {ev.similarity:.2f})"
        # How far above the threshold of the variant that decided (a lexicon-decided match is sure).
        above = (probability - threshold) / max(1 - threshold, 1e-6) if probability >= threshold else 1.0
        confidence = _CONFIDENCE_FLOOR + (_CONFIDENCE_CEILING - _CONFIDENCE_FLOOR) * above
        return Match(filter_id=flt.id, on="image" if ev.on_image and not spans else "text", reason=reason,
                     spans=spans, confidence=round(min(_CONFIDENCE_CEILING, confidence), 3))

class _Unit:
    """One text the model saw (a post's title and body, or its image description), prepared once per page."""

    __slots__ = ("fields", "stems", "text", "topic_mean", "words")

    def __init__(self, text: str, fields: list[Tokens], topic_mean: float) -> None:
        self.text, self.fields, self.topic_mean = text, fields, topic_mean
        self.stems = frozenset().union(*(f.stems for f in fields))
        self.words = [w for f in fields for w in f.words if w not in STOPWORDS]


@dataclass(frozen=True)
class _ConceptScores:
    """One concept against every unit of the page; each list is indexed by unit."""

    text_best: list[float]  # best cosine to a description posts' text is compared with
    text_nearest: list[str]
    image_best: list[float]  # the same for image descriptions
    image_nearest: list[str]
    exclusion: list[float]  # best cosine to an exclusion description
    user_exclusion: list[float]  # best cosine to a user exclusion (0 if none)
    word: list[float]  # the unit's vocabulary word closest to the subject ...
    word_nearest: list[str]  # ... and that word ("" if none is in the vocabulary)
    text_context: list[float | None]  # text_best with the filter's words masked (None: the unit has none)
    image_context: list[float | None]
    literal: list[tuple[list[str], bool]]  # the unit's un-negated mentions of the filter's words, any negated one
    pending: list[str | None]  # the masked copy, where the unit has one whose vector was not at hand


def _concept_scores(concepts: list[FilterConcept], units: list[_Unit], sims: np.ndarray, row: dict[str, int],
                    matrix: np.ndarray, words: WordVectors, masks: dict[tuple[str, str], str]) -> list[_ConceptScores]:
    known = [words.known(u.words) for u in units]
    subjects = matrix[[row[c.subject] for c in concepts]]
    word_sims = words.vectors([w for k in known for w in k]) @ subjects.T  # every unit's words x subjects
    word_best, word_at = _closest_words(known, word_sims)
    out = []
    for c, concept in enumerate(concepts):
        text_desc, image_desc = _description_names(concept)
        text_best, text_nearest = _best(sims, [row[d] for d in text_desc], text_desc)
        image_best, image_nearest = _best(sims, [row[d] for d in image_desc], image_desc)
        exclusion = sims[:, [row[d] for d in concept.exclusions]].max(axis=1).tolist()
        user = (sims[:, [row[d] for d in concept.user_exclusions]].max(axis=1).tolist() if concept.user_exclusions
                else [0.0] * len(units))
        text_context, image_context, pending = _context(concept, units, row, matrix, masks, text_desc, image_desc)
        stems = subject_stems(concept.topic)
        # Most units never use the filter's words: a set test spares the token-by-token scan.
        literal = [_NO_MENTION if stems.isdisjoint(u.stems) else literal_evidence(concept, u.fields) for u in units]
        out.append(_ConceptScores(text_best, text_nearest, image_best, image_nearest, exclusion, user,
                                  word_best[c], word_at[c], text_context, image_context, literal, pending))
    return out


def _closest_words(known: list[list[str]], word_sims: np.ndarray) -> tuple[list[list[float]], list[list[str]]]:
    """Per concept, per unit: the best similarity among the unit's known words (rows of ``word_sims``, unit after
    unit) and the first word reaching it; 0.0 and "" for a unit without known words.

    Segment reductions over the page's rows at once instead of numpy calls per unit; max and the first
    maximum are exact, so the values are those of a max and argmax per unit.
    """
    n_concepts = word_sims.shape[1]
    best = [[0.0] * len(known) for _ in range(n_concepts)]
    at = [[""] * len(known) for _ in range(n_concepts)]
    lengths = np.array([len(k) for k in known], dtype=np.intp)
    present = np.flatnonzero(lengths)
    if not len(present) or not n_concepts:
        return best, at
    starts = (np.cumsum(lengths) - lengths)[present]
    top = np.maximum.reduceat(word_sims, starts, axis=0)  # [unit with words, concept]
    rows = np.arange(len(word_sims))[:, None]
    reaching = np.where(word_sims == np.repeat(top, lengths[present], axis=0), rows, len(word_sims))
    first = np.minimum.reduceat(reaching, starts, axis=0) - starts[:, None]
    for c, (values, firsts) in enumerate(zip(top.T.tolist(), first.T.tolist(), strict=True)):
        for u, value, i in zip(present.tolist(), values, firsts, strict=True):
            best[c][u] = value
            at[c][u] = known[u][i]
    return best, at


_NO_MENTION: tuple[list[str], bool] = ([], False)  # read only (``_evidence`` copies the spans it keeps)


def _context(concept: FilterConcept, units: list[_Unit], row: dict[str, int], matrix: np.ndarray,
             masks: dict[tuple[str, str], str], text_desc: tuple[str, ...],
             image_desc: tuple[str, ...]) -> tuple[list[float | None], list[float | None], list[str | None]]:
    """Per unit: the best cosine of its masked copy (``without_subject``) to the text and image descriptions,
    None where the unit holds none of the filter's words."""
    text_ctx: list[float | None] = [None] * len(units)
    image_ctx: list[float | None] = [None] * len(units)
    pending: list[str | None] = [None] * len(units)
    text_rows = matrix[[row[d] for d in text_desc]] if text_desc else None
    image_rows = matrix[[row[d] for d in image_desc]] if image_desc else None
    for u, unit in enumerate(units):
        masked = masks.get((concept.topic, unit.text))
        if masked is None:
            continue
        if masked not in row:  # not cached: settled or computed per pair (``OpenVocabMatcher._settle_context``)
            pending[u] = masked
            continue
        vec = matrix[row[masked]]
        if text_rows is not None:
            text_ctx[u] = float((text_rows @ vec).max())
        if image_rows is not None:
            image_ctx[u] = float((image_rows @ vec).max())
    return text_ctx, image_ctx, pending


def _masked_texts(posts: list[Post], texts: list[str], filters: list[Filter],
                  concepts: dict[int, FilterConcept]) -> dict[tuple[str, str], str]:
    """(topic, text) -> the text with the filter's words masked, where it holds any and the filter sees it
    (``Evidence.context_similarity``)."""
    out: dict[tuple[str, str], str] = {}
    per_filter = [(concepts[f.id].topic, subject_stems(concepts[f.id].topic), f.applies_to_text(),
                   f.applies_to_images()) for f in filters]
    for post, text in zip(posts, texts, strict=True):
        fields = [(seen, word_stems(seen)) for seen in (text, post.image_alt)]
        for topic, stems, on_text, on_images in per_filter:
            for (seen, seen_stems), applies in zip(fields, (on_text, on_images), strict=True):
                # Most texts hold none of a filter's words: a set test, before ``without_subject``'s cache lookup.
                if (seen and applies and not stems.isdisjoint(seen_stems) and (topic, seen) not in out
                        and (masked := without_subject(topic, seen)) != seen):
                    out[(topic, seen)] = masked
    return out


def _best(sims: np.ndarray, columns: list[int], names: tuple[str, ...]) -> tuple[list[float], list[str]]:
    """Per unit: the highest cosine among ``columns`` and the name of that column."""
    if not columns:
        return [-math.inf] * len(sims), [""] * len(sims)
    block = sims[:, columns]
    at = block.argmax(axis=1)
    return block[np.arange(len(block)), at].tolist(), [names[i] for i in at]


def _carrying_sentence(post: Post, word: str) -> list[str]:
    """The sentence holding the post's word closest to the filter: blurred instead of the whole post."""
    sentences = [s.group(0).strip() for field_ in (post.title, post.body) for s in _SENTENCE.finditer(field_)
                 if s.group(0).strip()]
    if not sentences:
        return []
    carrying = [s for s in sentences if word and word in s.lower()]
    return [carrying[0] if carrying else sentences[0]]


@lru_cache(maxsize=4096)
def _description_names(concept: FilterConcept) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Descriptions a post's text is compared with, and those its image description is compared with."""
    text = tuple(d for d in concept.descriptions if not d.startswith("a photo of"))
    image = tuple(d for d in concept.descriptions if d.startswith("a photo of") or concept.visual)
    return text, image


def _evidence(concept: FilterConcept, seen: list[tuple[int, bool]], units: list[_Unit], scores: _ConceptScores,
              lexicon: bool) -> Evidence:
    spans, negated = _NO_MENTION  # a post's text is one unit and its image description another
    image_spans, image_negated = _NO_MENTION
    for u, is_image in seen:
        if is_image:
            image_spans, image_negated = scores.literal[u]
        else:
            spans, negated = scores.literal[u]
    ev = Evidence(similarity=0.0, exclusion=0.0, topic_mean=0.0, word_similarity=0.0,
                  closest_word="", user_exclusion=0.0, lexicon=lexicon,
                  literal=bool(spans or image_spans), negated=negated or image_negated,
                  information=concept.information, on_image=False, description=concept.topic,
                  literal_spans=list(spans))
    if concept.related:  # WordNet's other words for the subject and its kinds ("mako" for sharks)
        fields = [f for u, _ in seen if not concept.related_stems.isdisjoint(units[u].stems) for f in units[u].fields]
        ev.related_spans = related_evidence(concept.related, fields) if fields else []
    best = -1.0
    for u, is_image in seen:
        similarity = scores.image_best[u] if is_image else scores.text_best[u]
        if similarity > best:
            best = similarity
            ev.similarity = similarity
            ev.context_similarity = scores.image_context[u] if is_image else scores.text_context[u]
            ev.pending_mask = scores.pending[u]
            ev.exclusion = scores.exclusion[u]
            ev.user_exclusion = scores.user_exclusion[u]
            ev.topic_mean = units[u].topic_mean
            ev.on_image = is_image
            ev.description = scores.image_nearest[u] if is_image else scores.text_nearest[u]
    # The post's word closest to the subject, over the units seen (the first of equals, as one list would).
    for u, _ in seen:
        if scores.word_nearest[u] and (not ev.closest_word or scores.word[u] > ev.word_similarity):
            ev.word_similarity, ev.closest_word = scores.word[u], scores.word_nearest[u]
    return ev
