"""``LocalMatcher``: the offline provider, built on the lexicon and the matching engine.

It needs no network and no model, judges a 25-post page against 15 filters in a few milliseconds,
and is what runs when no cloud provider is configured (or as a fallback when one fails). It cannot
rewrite text; callers blur the returned ``spans`` instead. ``Filter.intensity`` does not change what
matches (it is the caller's threshold and choice of intervention), only how sure ``confidence`` is.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from shared.models import Filter
from shared.moderation.expansion import Expansions
from shared.moderation.scoring import IMAGE, Hit, UnitScore, compile_filters, score_post
from shared.moderation.text import Tokens, tokenize
from shared.moderation.types import Match, Post, PostVerdict, ProviderError

# Part of the verdict cache's key (``ModerationProvider.version``): change it with any change to the lexicon's
# decisions (its concepts, cues or scoring).
LEXICON_VERSION = "lexicon-1"
_CONFIDENCE_FLOOR, _CONFIDENCE_CEILING = 0.8, 0.99


def _confidence(score: float) -> float:
    """0.8 at the match threshold, rising towards 0.99 as evidence piles up.

    The floor sits at the strictest per-intensity threshold callers apply (0.8), so every match the
    matcher reports survives it; stronger evidence still ranks higher.
    """
    return round(min(_CONFIDENCE_CEILING, _CONFIDENCE_FLOOR + 0.19 * (1 - 1 / max(score, 1.0))), 3)


class LocalMatcher:
    name = "local"
    version = LEXICON_VERSION
    can_rewrite = False

    async def judge(self, posts: list[Post], filters: list[Filter],
                    expansions: Expansions | None = None) -> dict[str, PostVerdict]:
        """``expansions`` are not used: the lexicon matches the words it was curated for."""
        return self.judge_sync(posts, filters)

    def judge_sync(self, posts: list[Post], filters: list[Filter],
                   tokenized: Sequence[list[Tokens]] | None = None) -> dict[str, PostVerdict]:
        """The work of :meth:`judge`; it never awaits, so synchronous callers may use it directly.

        ``tokenized``: each post's title, body and image description already tokenized (a caller
        that needs the tokens too tokenizes once).
        """
        ids = [p.id for p in posts]
        if len(set(ids)) != len(ids):
            raise ProviderError("post ids must be unique within a page")
        try:
            active = [f for f in filters if f.is_active()]  # expired temporary filters no longer apply
            compiled = compile_filters(tuple((f.filter_text, f.content_type) for f in active))
            verdicts: dict[str, PostVerdict] = {}
            for n, post in enumerate(posts):
                fields = tokenized[n] if tokenized is not None else post_fields(post)
                matches = [
                    _to_match(active[pos], scores, fields)
                    for pos, scores in sorted(score_post(compiled, fields).items())
                ]
                verdicts[post.id] = PostVerdict(post_id=post.id, matches=matches)
        except (TypeError, ValueError, AttributeError) as exc:  # malformed posts or filters
            raise ProviderError(f"local matcher could not judge the page: {exc}") from exc
        return verdicts


def post_fields(post: Post) -> list[Tokens]:
    """What the lexicon reads of a post: its title, body and image description."""
    return [tokens_of(post.title or ""), tokens_of(post.body or ""), tokens_of(post.image_alt or "")]


@lru_cache(maxsize=512)  # several pages' fields; a 3,000-character post's tokens take ~35 KB
def tokens_of(text: str) -> Tokens:
    """``tokenize`` remembered per text: the same post reaches a process for many users and pages.

    The ``Tokens`` are shared between callers, which only read them.
    """
    return tokenize(text)


def _spans(scores: list[UnitScore], fields: list[Tokens]) -> list[str]:
    """Text evidence as exact substrings, outermost first, without ranges nested in another.

    Callers wrap every occurrence with ``str.replace``, so nested spans ("blood" inside "blood draw")
    would produce nested markers; only the enclosing one is kept.
    """
    ranges = sorted(
        {
            (h.field, fields[h.field].starts[h.start], fields[h.field].ends[h.end - 1])
            for s in scores
            for h in s.evidence
            if h.field != IMAGE
        },
        key=lambda r: (r[0], r[1], -r[2]),
    )
    spans: list[str] = []
    kept_field, kept_end = -1, -1
    for fld, start, end in ranges:
        if fld == kept_field and end <= kept_end:
            continue
        kept_field, kept_end = fld, end
        text = fields[fld].text[start:end]
        if text not in spans:
            spans.append(text)
    return spans


def _surface(hit: Hit, fields: list[Tokens]) -> str:
    return fields[hit.field].span(hit.start, hit.end - 1)


def _to_match(flt: Filter, scores: list[UnitScore], fields: list[Tokens]) -> Match:
    best = max(scores, key=lambda s: s.score)
    on_text = any(s.on_text for s in scores)
    shown: list[str] = []
    for hit in best.evidence:
        if on_text and hit.field == IMAGE:
            continue
        word = _surface(hit, fields)
        if word not in shown:
            shown.append(word)
        if len(shown) == 2:
            break
    quoted = " and ".join(f"'{w}'" for w in shown)
    verb = "mentions" if on_text else "image shows"
    return Match(
        filter_id=flt.id,
        on="text" if on_text else "image",
        reason=f"{verb} {quoted}, related to '{flt.filter_text}'",
        spans=_spans(scores, fields),
        confidence=_confidence(best.score),
    )
