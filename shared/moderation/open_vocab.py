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
import hashlib
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
from shared.moderation.embedder import RUNTIME_VERSION
from shared.moderation.evidence import FEATURES, Evidence, masked_copy, post_text, subject_stems
from shared.moderation.expansion import Expansions, FilterExpansion, expansion_for
from shared.moderation.local import LEXICON_VERSION, LocalMatcher, post_fields
from shared.moderation.page_scores import PageEvidence, Unit, concept_scores, description_names
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


def chosen_probabilities(features: np.ndarray, calibrations: Sequence[Calibration],
                         chosen: np.ndarray) -> np.ndarray:
    """One probability per row of ``features``, each from the calibration ``chosen`` for it: one matrix product
    against every calibration's weights at once, then a pick per row."""
    if not len(features):
        return np.zeros(0)
    z = (features @ np.stack([c.weights for c in calibrations], axis=1))[np.arange(len(features)), chosen]
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50.0, 50.0)))


@lru_cache(maxsize=4096)
def curated(topic: str) -> bool:
    """Whether the hand-curated lexicon knows this topic (rather than falling back to its literal words)."""
    return any(not c.id.startswith(("literal:", "spoiler:")) for c in plan_filter(topic).concepts)


@lru_cache(maxsize=4096)
def concept_for(filter_text: str, expansion: FilterExpansion | None = None) -> FilterConcept:
    """The rule-compiled concept, merged with a cloud model's expansion of the same text when one is cached."""
    return compile_concept(filter_text).with_expansion(expansion)


def matcher_version(*calibrations: Calibration) -> str:
    """The matcher's ``ModerationProvider.version``: the model's runtime, the lexicon's version and the fitted
    weights, thresholds and bands (every change that moves a decision has come with a refit)."""
    digest = hashlib.sha256(f"{RUNTIME_VERSION}|{LEXICON_VERSION}".encode())
    for c in calibrations:
        digest.update(c.weights.astype(np.float64).tobytes())
        digest.update(repr((c.threshold, c.context_band)).encode())
    return f"{RUNTIME_VERSION}-{digest.hexdigest()[:12]}"


class OpenVocabMatcher:
    name = "local"
    version: str
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
        self.version = matcher_version(self.calibration, self.expanded_calibration)

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

        page = await self._page(posts, active, expansions, settle=settle)
        # Rows are (post, filter) pairs, post after post: the filter of row r is active[r % len(active)].
        per_filter = np.array([variant[f.id] for f in active], dtype=np.intp)
        chosen = np.tile(per_filter, len(posts))
        probabilities = chosen_probabilities(page.features, calibrations, chosen)
        thresholds = np.array([c.threshold for c in calibrations])[chosen]
        by_lexicon = np.tile(np.array([lexicon_decides[f.id] for f in active], dtype=bool), len(posts))
        matched = np.where(by_lexicon, page.lexicon, probabilities >= thresholds)
        matches: dict[str, list[Match]] = {post.id: [] for post in posts}
        for r in np.flatnonzero(matched).tolist():
            post, flt = posts[r // len(active)], active[r % len(active)]
            matches[post.id].append(self._match(post, flt, page.evidence(r), float(probabilities[r]),
                                                float(thresholds[r])))
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
        """Evidence for every (post id, filter id) (calibration, evaluation, tests): ``_page``'s, every pair built."""
        page = await self._page(posts, filters, expansions, settle=settle)
        return {(post.id, flt.id): page.evidence(p * len(filters) + f)
                for p, post in enumerate(posts) for f, flt in enumerate(filters)}

    async def _page(self, posts: list[Post], filters: list[Filter], expansions: Expansions | None = None, *,
                    settle: Callable[[list[tuple[Filter, Evidence]]], list[float | None]] | None = None
                    ) -> PageEvidence:
        """Every (post, filter) pair's features, with one call to the vector source for the page.

        The semantic numbers come from one matrix product (the page's texts against every text the page
        needs) and one for the vocabulary words, reduced once per concept; the pairs' rows are picked from
        those arrays at once (``page_scores``).
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
            # Tokens (once, for the masked copies, the literal and word evidence and the lexicon).
            fields = [post_fields(p) for p in posts]
        except (TypeError, ValueError, AttributeError) as exc:  # malformed posts
            raise ProviderError(f"open-vocabulary matcher could not read the page: {exc}") from exc
        masks = _masked_texts(posts, texts, fields, filters, concepts)
        unit_texts = list(dict.fromkeys(t for t in texts + [p.image_alt for p in posts] if t))
        wanted = unit_texts + [t for c in concepts.values() for t in c.texts()] + list(BACKGROUND_TOPICS)
        if settle is None:
            wanted += list(masks.values())
        unique = list(dict.fromkeys(wanted))  # starts with unit_texts, in their order
        listed = set(unique)
        optional = [m for m in dict.fromkeys(masks.values()) if m not in listed] if settle else []
        lexicon: dict[str, PostVerdict] = {}

        def read_lexicon() -> None:
            """The lexicon's verdicts need no vectors: read while the model embeds the page's new texts."""
            lexicon.update(self.lexicon.judge_sync(posts, lexicon_filters, fields))

        # With no filter on a topic the lexicon knows, it has nothing to read.
        matrix = await self.source.vectors(unique, if_cached=optional,
                                           meanwhile=read_lexicon if lexicon_filters else None)
        # A post's text is its title and body (their tokens are those of the joined text: a line break
        # ends a clause); an image description is its own field.
        unit_fields = {text: [f for f in fs[:2] if len(f)] for text, fs in zip(texts, fields, strict=True) if text}
        unit_fields.update({p.image_alt: [fs[2]] for p, fs in zip(posts, fields, strict=True) if p.image_alt})
        row = {t: i for i, t in enumerate(unique)}
        row.update({m: len(unique) + i for i, m in enumerate(optional) if not np.isnan(matrix[len(unique) + i, 0])})
        sims = matrix[:len(unit_texts)] @ matrix.T  # unit x every text of the page
        topic_mean = sims[:, [row[t] for t in BACKGROUND_TOPICS]].mean(axis=1)
        units = [Unit(t, unit_fields[t]) for t in unit_texts]
        distinct = list(dict.fromkeys(concepts.values()))
        scores = concept_scores(distinct, units, sims, topic_mean, row, matrix, self.words, masks)
        unit_of = {t: i for i, t in enumerate(unit_texts)}
        none = len(units)  # the "no unit" column
        at = {flt.id: f for f, flt in enumerate(filters)}
        lexicon_spans = {(p, at[m.filter_id]): m.spans for p, post in enumerate(posts)
                         if (verdict := lexicon.get(post.id)) for m in verdict.matches}
        concept_at = {c: i for i, c in enumerate(distinct)}
        page = PageEvidence(scores, distinct, filters, [concept_at[concepts[f.id]] for f in filters],
                            np.array([unit_of[t] if t else none for t in texts], dtype=np.intp),
                            np.array([unit_of[p.image_alt] if p.image_alt else none for p in posts], dtype=np.intp),
                            lexicon_spans)
        if settle is not None:
            await self._settle_context(page, filters, matrix, row, settle)
        return page

    async def _settle_context(self, page: PageEvidence, filters: list[Filter], matrix: np.ndarray,
                              row: dict[str, int],
                              settle: Callable[[list[tuple[Filter, Evidence]]], list[float | None]]) -> None:
        """Context similarity for the pairs whose masked copy was not cached: settled where it cannot change
        the decision, else computed (the needed copies in one more model call)."""
        rows = page.pending_rows()
        if not rows:
            return
        pending = [(filters[r % len(filters)], page.evidence(r)) for r in rows]
        needed: list[tuple[int, Evidence, str]] = []
        for r, (_, ev), settled in zip(rows, pending, settle(pending), strict=True):
            if settled is None:
                needed.append((r, ev, ev.pending_mask))  # type: ignore[arg-type]  # pending: a mask is set
            else:
                ev.context_similarity = settled
            ev.pending_mask = None
        if needed:
            copies = list(dict.fromkeys(m for _, _, m in needed))
            vectors = await self.source.vectors(copies, looked_up=True)  # missed in the page's lookup just now
            index = {m: i for i, m in enumerate(copies)}
            for r, ev, masked in needed:
                text_desc, image_desc = description_names(page.concept(r))
                names = image_desc if ev.on_image else text_desc
                if names:  # as in ``page_scores._context``: no description of that kind, no context
                    ev.context_similarity = float((matrix[[row[d] for d in names]] @ vectors[index[masked]]).max())
        for r in rows:
            page.settle(r, page.evidence(r))

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

def _masked_texts(posts: list[Post], texts: list[str], fields: list[list[Tokens]], filters: list[Filter],
                  concepts: dict[int, FilterConcept]) -> dict[tuple[str, str], str]:
    """(topic, text) -> the text with the filter's words masked (``without_subject``, built from the post's
    tokens), where it holds any and the filter sees it (``Evidence.context_similarity``)."""
    out: dict[tuple[str, str], str] = {}
    per_filter = [(concepts[f.id].topic, subject_stems(concepts[f.id].topic), f.applies_to_text(),
                   f.applies_to_images()) for f in filters]
    for post, text, (title, body, image) in zip(posts, texts, fields, strict=True):
        text_stems = set(title.stems).union(body.stems)
        for topic, stems, on_text, on_images in per_filter:
            # Most texts hold none of a filter's words: a set test spares the copy.
            if on_text and text and (topic, text) not in out and not stems.isdisjoint(text_stems):
                # Title and body masked apart and joined as the model sees them: the copy of the joined text.
                masked = post_text(masked_copy(stems, title), masked_copy(stems, body))
                if masked != text:
                    out[(topic, text)] = masked
            alt = post.image_alt
            if on_images and alt and (topic, alt) not in out and not stems.isdisjoint(image.stems):
                masked = masked_copy(stems, image)
                if masked != alt:
                    out[(topic, alt)] = masked
    return out


def _carrying_sentence(post: Post, word: str) -> list[str]:
    """The sentence holding the post's word closest to the filter: blurred instead of the whole post."""
    sentences = [s.group(0).strip() for field_ in (post.title, post.body) for s in _SENTENCE.finditer(field_)
                 if s.group(0).strip()]
    if not sentences:
        return []
    carrying = [s for s in sentences if word and word in s.lower()]
    return [carrying[0] if carrying else sentences[0]]
