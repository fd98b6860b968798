"""The trust boundary for a cloud moderation reply: nothing the model says reaches the feed unchecked.

The reply is untrusted (the model may hallucinate ids, paraphrase spans, or have been steered by a post),
so every result is checked against the posts and filters we actually sent (``page_prompt``).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from gateway.moderation.page_prompt import MAX_BODY_CHARS, MAX_TITLE_CHARS, REWRITE_MIN_INTENSITY
from shared.models import Filter
from shared.moderation.types import Match, Post, PostVerdict, ProviderError

log = logging.getLogger(__name__)

MAX_REASON_CHARS = 200
MAX_SPANS_PER_MATCH = 20

_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.DOTALL)


def _load(raw_json: str) -> list[Any]:
    if not isinstance(raw_json, str) or not raw_json.strip():
        raise ProviderError("empty model reply")
    # Structured output should never be fenced, but a fenced reply is still unambiguous.
    fenced = _FENCE.match(raw_json)
    text = fenced.group(1) if fenced else raw_json
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise ProviderError(f"model reply is not JSON: {raw_json[:120]!r}") from exc
    results = data.get("results") if isinstance(data, dict) else None
    if not isinstance(results, list):
        raise ProviderError(f"model reply has no 'results' list: {raw_json[:120]!r}")
    return results


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _confidence(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        return None
    return min(1.0, max(0.0, float(value)))


def _locate(span: str, post: Post) -> str | None:
    """``span`` as it appears in the title or body, or None if it does not.

    An exact hit wins. Failing that, a case-insensitive hit is accepted and the original casing returned,
    because models often re-capitalise a quote; the result is still an exact substring of what we sent.
    """
    if not span.strip():
        return None
    for text in (post.title, post.body):
        if span in text:
            return span
    needle = span.lower()
    for text in (post.title, post.body):
        hay = text.lower()
        if len(hay) != len(text):  # a few characters change length when lower-cased; offsets would drift
            continue
        at = hay.find(needle)
        if at >= 0:
            return text[at : at + len(span)]
    return None


def _parse_match(item: Any, post: Post, filters: Mapping[int, Filter]) -> Match | None:
    if not isinstance(item, dict):
        return None
    fid = _as_int(item.get("filter_id"))
    flt = filters.get(fid) if fid is not None else None
    on = item.get("on")
    confidence = _confidence(item.get("confidence"))
    if flt is None or on not in ("text", "image") or confidence is None:
        return None
    # content_type gating, enforced here too: the model may have looked where it should not.
    if on == "text" and not (flt.applies_to_text() and (post.title or post.body)):
        return None
    if on == "image" and not (flt.applies_to_images() and post.image_alt.strip()):
        return None
    spans: list[str] = []
    raw_spans = item.get("spans")
    if on == "text" and isinstance(raw_spans, list):
        for raw in raw_spans:
            found = _locate(raw, post) if isinstance(raw, str) else None
            if found is not None and found not in spans:
                spans.append(found)
            if len(spans) >= MAX_SPANS_PER_MATCH:
                break
    reason = item.get("reason")
    reason = reason.strip()[:MAX_REASON_CHARS] if isinstance(reason, str) else ""
    return Match(filter_id=flt.id, on=on, reason=reason, spans=spans, confidence=confidence)


def _merge(verdict: PostVerdict, match: Match) -> None:
    """One match per (filter, source): a model that repeats itself must not double-count."""
    for existing in verdict.matches:
        if existing.filter_id == match.filter_id and existing.on == match.on:
            existing.spans.extend(s for s in match.spans if s not in existing.spans)
            existing.confidence = max(existing.confidence, match.confidence)
            existing.reason = existing.reason or match.reason
            return
    verdict.matches.append(match)


def _rewrite(value: Any, original: str, cap: int) -> str | None:
    """A usable rewrite of one field, or None (field empty, truncated for the model, or not changed)."""
    if not isinstance(value, str) or not value.strip() or not original or len(original) > cap:
        return None
    return None if value == original else value


def parse_results(raw_json: str, posts: list[Post], filters: list[Filter]) -> dict[str, PostVerdict]:
    """Check a model reply against what was sent; one verdict per input post.

    Unknown post and filter ids, malformed entries, spans that are not substrings of the post, matches on a
    field the filter may not see, and rewrites nobody asked for are dropped silently (logged at debug); a
    reply that is not the expected document at all raises ``ProviderError``.
    """
    results = _load(raw_json)
    by_id = {p.id: p for p in posts}
    by_filter = {f.id: f for f in filters}
    verdicts = {p.id: PostVerdict(post_id=p.id) for p in posts}
    rewrites: dict[str, tuple[Any, Any]] = {}
    for item in results:
        post_id = item.get("post_id") if isinstance(item, dict) else None
        post = by_id.get(post_id) if isinstance(post_id, str) else None
        if post is None:
            log.debug("dropping result for unknown post: %.200r", item)
            continue
        raw_matches = item.get("matches")
        for raw in raw_matches if isinstance(raw_matches, list) else []:
            match = _parse_match(raw, post, by_filter)
            if match is None:
                log.debug("dropping invalid match for post %s: %.200r", post.id, raw)
            else:
                _merge(verdicts[post.id], match)
        if item.get("rewritten_title") is not None or item.get("rewritten_body") is not None:
            rewrites[post.id] = (item.get("rewritten_title"), item.get("rewritten_body"))
    for post_id, (title, body) in rewrites.items():
        verdict, post = verdicts[post_id], by_id[post_id]
        wanted = any(
            m.on == "text" and by_filter[m.filter_id].intensity >= REWRITE_MIN_INTENSITY for m in verdict.matches
        )
        if wanted:
            verdict.rewritten_title = _rewrite(title, post.title, MAX_TITLE_CHARS)
            verdict.rewritten_body = _rewrite(body, post.body, MAX_BODY_CHARS)
    return verdicts
