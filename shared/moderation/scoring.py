"""The offline matching engine: compile a filter set once, then score posts against it.

All phrases of all filters go into one table keyed by their first stem, so a post is scanned once
per field whatever the number of filters. Within one concept the longest phrase starting at a word
wins, which is how idioms ("Spider-Man", "blood orange") shadow the words inside them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from shared.moderation.lexicon import DISTANCE_CUES, Concept, PairRule
from shared.moderation.parse import included, plan_filter
from shared.moderation.text import EXACT, NUM, WILD, Tokens, phrase_pattern

TITLE, BODY, IMAGE = 0, 1, 2
TEXT_FIELDS = (TITLE, BODY)
THRESHOLD = 1.0
CUE_CAP = 0.6  # context alone can add this much at most
REPEAT_BONUS, REPEAT_CAP = 0.2, 0.4  # the same term again suggests it is the subject of the post
VETO_WINDOW = 12  # tokens between a veto word and the hit it cancels
NEGATION_WINDOW = 3


_NEGATORS = frozenset(
    "no not zero never without none nobody nothing neither nor 0 cannot cant dont doesnt didnt isnt wasnt "
    "arent werent wont hasnt havent hadnt couldnt wouldnt shouldnt".split()
)
# Words after a negator that make it a figure of speech: "no doubt a spider", "not only pregnant".
_PSEUDO_NEGATION: tuple[tuple[str, ...], ...] = tuple(
    tuple(p.split())
    for p in (
        "only", "just", "doubt", "a doubt", "wonder", "matter", "joke", "kidding", "lie", "gonna lie",
        "going to lie", "to mention", "sure", "exaggerating", "one", "less", "even kidding",
        # "can't believe/stop/stand ...": surprise and dislike, not absence
        "believe", "wait", "stop", "help", "get over", "stand", "handle", "deal with", "unsee", "forget", "over",
    )
)


@dataclass(slots=True, eq=False)
class Role:
    """What one phrase means to one unit: a term, a cue, one side of a pair, or (none) an idiom."""

    unit: int
    pattern: tuple[str, ...]
    label: str
    term: float = 0.0
    cue: float = 0.0
    pair: list[tuple[int, int]] = field(default_factory=list)  # (pair rule index, 0 left / 1 right)

    @property
    def is_exclusion(self) -> bool:
        return not (self.term or self.cue or self.pair)


@dataclass(frozen=True, slots=True)
class Unit:
    """One concept of one filter, with the post fields that filter may see."""

    filter_pos: int
    concept_id: str
    pairs: tuple[PairRule, ...]
    require_cue: bool
    closeup: bool
    fields: frozenset[int]


@dataclass(slots=True)
class Hit:
    role: Role
    field: int
    start: int
    end: int  # exclusive token index


@dataclass(slots=True)
class Veto:
    unit: int
    field: int
    start: int
    end: int
    targets: frozenset[tuple[str, ...]] | None  # patterns it cancels; None cancels every hit


@dataclass(slots=True)
class UnitScore:
    score: float
    evidence: list[Hit]  # hits that justify the match, strongest first
    on_text: bool


@dataclass
class CompiledFilters:
    units: list[Unit]
    table: dict[str, list[Role]]
    vetoes: dict[str, list[tuple[tuple[str, ...], int, frozenset[tuple[str, ...]] | None]]]
    distance: dict[str, list[tuple[str, ...]]]
    needs_distance: bool

    @cached_property
    def first_words(self) -> tuple[frozenset[str], frozenset[str]]:
        """The stems any role, veto or distance cue starts with, and the surface words exact roles start with."""
        stems = {k for k in self.table if not k.startswith(EXACT)} | set(self.vetoes) | set(self.distance)
        exact = {k[len(EXACT):] for k in self.table if k.startswith(EXACT)}
        return frozenset(stems), frozenset(exact)


def _fields_for(content_type: str) -> frozenset[int]:
    if content_type == "text":
        return frozenset(TEXT_FIELDS)
    if content_type == "image":
        return frozenset({IMAGE})
    return frozenset({TITLE, BODY, IMAGE})


def _add_unit(
    compiled: CompiledFilters, filter_pos: int, concept: Concept, closeup: bool, fields: frozenset[int]
) -> None:
    unit_index = len(compiled.units)
    roles: dict[tuple[str, ...], Role] = {}

    def role(phrase: str) -> Role:
        pattern = phrase_pattern(phrase)
        if not pattern or pattern[0] in (WILD, NUM):
            raise ValueError(f"lexicon phrase cannot start with a wildcard: {phrase!r}")
        if pattern not in roles:
            roles[pattern] = Role(unit_index, pattern, phrase)
        return roles[pattern]

    pairs: list[PairRule] = []
    members = included(concept)
    for member in members:
        for phrase, weight in member.terms.items():
            r = role(phrase)
            r.term = max(r.term, weight)
        for phrase, weight in member.cues.items():
            r = role(phrase)
            r.cue = max(r.cue, weight)
        for rule in member.pairs:
            for side, words in enumerate((rule.left, rule.right)):
                for phrase in words:
                    r = role(phrase)
                    if (len(pairs), side) not in r.pair:
                        r.pair.append((len(pairs), side))
            pairs.append(rule)
        for phrase in member.exclude:
            role(phrase)  # no weight: an idiom that shadows the terms inside it
        for phrase in member.veto:
            pattern = phrase_pattern(phrase)
            compiled.vetoes.setdefault(pattern[0], []).append((pattern, unit_index, None))
        for phrase, words in member.term_veto.items():
            target = frozenset({phrase_pattern(phrase)})
            for word in words:
                pattern = phrase_pattern(word)
                compiled.vetoes.setdefault(pattern[0], []).append((pattern, unit_index, target))
    for pattern, r in roles.items():
        compiled.table.setdefault(pattern[0], []).append(r)
    compiled.units.append(
        Unit(
            filter_pos=filter_pos,
            concept_id=concept.id,
            pairs=tuple(pairs),
            require_cue=concept.require_cue or any(m.require_cue for m in members),
            closeup=closeup,
            fields=fields,
        )
    )
    compiled.needs_distance = compiled.needs_distance or (closeup and IMAGE in fields)


@lru_cache(maxsize=256)
def compile_filters(specs: tuple[tuple[str, str], ...]) -> CompiledFilters:
    """Compile ``(filter_text, content_type)`` pairs; results are cached, filter sets repeat a lot."""
    compiled = CompiledFilters(units=[], table={}, vetoes={}, distance={}, needs_distance=False)
    for pos, (text, content_type) in enumerate(specs):
        plan = plan_filter(text)
        for concept in plan.concepts:
            _add_unit(compiled, pos, concept, plan.closeup, _fields_for(content_type))
    for phrase in DISTANCE_CUES:
        pattern = phrase_pattern(phrase)
        compiled.distance.setdefault(pattern[0], []).append(pattern)
    return compiled


def _matches_at(pattern: tuple[str, ...], tokens: Tokens, i: int) -> bool:
    stems = tokens.stems
    if i + len(pattern) > len(stems):
        return False
    for k in range(1, len(pattern)):
        p, s = pattern[k], stems[i + k]
        if p == WILD:
            continue
        if p == NUM:
            if not s.isdigit():
                return False
        elif p[0] == EXACT:
            if p[1:] != tokens.words[i + k]:
                return False
        elif p != s:
            return False
    return True


def _negated(tokens: Tokens, start: int, window: int = NEGATION_WINDOW) -> bool:
    """A negator shortly before the hit, in the same clause: "no spiders", "not pregnant"."""
    clause = tokens.clauses[start]
    for k in range(start - 1, max(-1, start - 1 - window), -1):
        if tokens.clauses[k] != clause:
            break
        word = tokens.words[k].replace("'", "")
        if word in _NEGATORS or tokens.words[k].endswith("n't"):
            if word == "never" and start - k > 2:
                continue  # "never seen a spider this big" is not a denial
            if any(tuple(tokens.words[k + 1 : k + 1 + len(p)]) == p for p in _PSEUDO_NEGATION):
                continue
            return True
    return False


def _scan(compiled: CompiledFilters, tokens: Tokens, fld: int, hits: list[Hit], vetoes: list[Veto]) -> bool:
    """Collect hits and vetoes of one field; returns whether it reads as a distant shot."""
    stems = tokens.stems
    first_stems, first_exact = compiled.first_words
    if first_stems.isdisjoint(stems) and first_exact.isdisjoint(tokens.words):
        return False  # no pattern can start anywhere in the field: the scan below would find nothing
    busy: dict[int, int] = {}
    distant = False
    check_distance = compiled.needs_distance and fld == IMAGE
    for i, first in enumerate(stems):
        roles = compiled.table.get(first, [])
        exact = compiled.table.get(EXACT + tokens.words[i])
        if exact:
            roles = roles + exact
        if roles:
            best: dict[int, Role] = {}
            for r in roles:
                if busy.get(r.unit, 0) > i or not _matches_at(r.pattern, tokens, i):
                    continue
                current = best.get(r.unit)
                if (
                    current is None
                    or len(r.pattern) > len(current.pattern)
                    or (len(r.pattern) == len(current.pattern) and r.is_exclusion)
                ):
                    best[r.unit] = r
            for unit, r in best.items():
                busy[unit] = i + len(r.pattern)
                if not r.is_exclusion:
                    hits.append(Hit(r, fld, i, i + len(r.pattern)))
        for pattern, unit, targets in compiled.vetoes.get(first, ()):
            if _matches_at(pattern, tokens, i):
                vetoes.append(Veto(unit, fld, i, i + len(pattern), targets))
        if check_distance and not distant:
            distant = any(_matches_at(p, tokens, i) for p in compiled.distance.get(first, ()))
    return distant


def _gap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    return max(0, b_start - a_end, a_start - b_end)


def _vetoes(v: Veto, h: Hit) -> bool:
    if v.field == h.field and v.start < h.end and h.start < v.end:
        return False  # a veto word inside the hit itself ("buns" in "bun in the oven") is no context
    if v.targets is not None:
        return h.role.pattern in v.targets  # term vetoes reach the whole post
    return v.field == h.field and _gap(v.start, v.end, h.start, h.end) <= VETO_WINDOW


def _score_unit(
    unit: Unit, hits: list[Hit], vetoes: list[Veto], distant_image: bool, fields: Sequence[Tokens]
) -> UnitScore | None:
    valid: list[Hit] = []
    for h in hits:
        if h.field not in unit.fields or (unit.closeup and h.field == IMAGE and distant_image):
            continue
        if any(_vetoes(v, h) for v in vetoes):
            continue
        if _negated(fields[h.field], h.start):
            continue
        valid.append(h)

    # Distinct terms add up; a repeated term adds a little (it is probably the subject).
    terms: dict[tuple[str, ...], list[Hit]] = defaultdict(list)
    for h in valid:
        if h.role.term:
            terms[h.role.pattern].append(h)
    term_total = sum(hs[0].role.term for hs in terms.values())
    strong_total = sum(hs[0].role.term for hs in terms.values() if hs[0].role.term >= THRESHOLD)
    repeats = min(REPEAT_CAP, REPEAT_BONUS * sum(1 for hs in terms.values() if len(hs) > 1))
    evidence = [hs[0] for hs in sorted(terms.values(), key=lambda hs: -hs[0].role.term)]
    evidence += [h for hs in terms.values() for h in hs[1:]]

    pair_total = 0.0
    for index, rule in enumerate(unit.pairs):
        lefts = [h for h in valid if (index, 0) in h.role.pair]
        rights = [h for h in valid if (index, 1) in h.role.pair]
        found = [
            (a, b)
            for a in lefts
            for b in rights
            if a.field == b.field
            and a is not b
            and _gap(a.start, a.end, b.start, b.end) <= rule.window
            and (not rule.right_first or b.end <= a.start)
        ]
        if found:
            # Independent co-occurrences ("kid" near "channel", "children" near "sponsored") add up.
            combos = len({(a.role.pattern, b.role.pattern) for a, b in found})
            pair_total += max(rule.weight, min(THRESHOLD, rule.weight * (1 + 0.5 * (combos - 1))))
            for a, b in found:
                evidence += [a, b]

    base = term_total + pair_total
    if base <= 0:
        return None
    used = {id(h) for h in evidence}  # a word already counted as a term or pair side is not context too
    cue_hits = [h for h in valid if h.role.cue and not h.role.term and id(h) not in used]
    cues = min(CUE_CAP, sum({h.role.pattern: h.role.cue for h in cue_hits}.values()))
    if unit.require_cue:
        # Names alone are not the concern (a character mentioned is not a spoiler); an event is.
        if not cue_hits:
            score = strong_total
        else:
            score = base + repeats + cues
            evidence += cue_hits
    else:
        score = base + repeats + cues
    if score < THRESHOLD - 1e-9:
        return None
    on_text = any(h.field in TEXT_FIELDS for h in evidence)
    return UnitScore(score=score, evidence=evidence, on_text=on_text)


def score_post(compiled: CompiledFilters, fields: Sequence[Tokens]) -> dict[int, list[UnitScore]]:
    """Matching units of one post, grouped by filter position."""
    hits: list[Hit] = []
    vetoes: list[Veto] = []
    distant = False
    for fld, tokens in enumerate(fields):
        if len(tokens):
            distant = _scan(compiled, tokens, fld, hits, vetoes) or distant
    by_unit: dict[int, list[Hit]] = defaultdict(list)
    for h in hits:
        by_unit[h.role.unit].append(h)
    vetoes_by_unit: dict[int, list[Veto]] = defaultdict(list)
    for v in vetoes:
        vetoes_by_unit[v.unit].append(v)
    result: dict[int, list[UnitScore]] = defaultdict(list)
    for unit_index, unit_hits in by_unit.items():
        unit = compiled.units[unit_index]
        scored = _score_unit(unit, unit_hits, vetoes_by_unit.get(unit_index, []), distant, fields)
        if scored is not None:
            result[unit.filter_pos].append(scored)
    return result
