"""From verdicts to interventions: what a user's filters ask to be done to a post.

Text, by the highest intensity among the matching text filters: 1-2 blur the matching words,
3 overlay a warning that names the concern, 4-5 rewrite (when the provider can; otherwise overlay,
and say so). Images, by the highest intensity among the matching image filters: 1-2 blur,
3 overlay, 4-5 cartoonish, unless the filter's metadata names an ``image_intervention``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.feeds import Blur, Overlay, Rewrite, TextEdit
from gateway.feeds.markers import sanitize_warning
from shared.jobqueue import canonical_intervention
from shared.models import Filter
from shared.moderation.types import Match, PostVerdict

MAX_WARNING_CONCERN = 80


def warning_for(filter_: Filter) -> str:
    concern = filter_.filter_text.strip()
    if len(concern) > MAX_WARNING_CONCERN:
        concern = concern[: MAX_WARNING_CONCERN - 1].rstrip() + "…"
    return sanitize_warning(f"Content warning: {concern}")


def image_intervention_for(filter_: Filter) -> str:
    chosen = filter_.filter_metadata.get("image_intervention")
    if isinstance(chosen, str) and canonical_intervention(chosen):
        return canonical_intervention(chosen) or "blur"
    if filter_.intensity <= 2:
        return "blur"
    if filter_.intensity == 3:
        return "overlay"
    return "cartoonish"


@dataclass
class PostPlan:
    title: TextEdit | None = None
    body: TextEdit | None = None
    text_intervention: str | None = None
    text_filter: Filter | None = None
    image_filter: Filter | None = None
    image_intervention: str | None = None
    matches: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _strongest(matches: list[Match], filters: dict[int, Filter]) -> Filter | None:
    candidates = [filters[m.filter_id] for m in matches if m.filter_id in filters]
    if not candidates:
        return None
    return max(candidates, key=lambda f: (f.intensity, -f.id))


def plan_post(verdict: PostVerdict, filters: dict[int, Filter], *, can_rewrite: bool, has_images: bool) -> PostPlan:
    plan = PostPlan()
    text_matches = [m for m in verdict.matches
                    if m.on == "text" and m.filter_id in filters and filters[m.filter_id].applies_to_text()]
    image_matches = [m for m in verdict.matches
                     if m.filter_id in filters and filters[m.filter_id].applies_to_images()]
    plan.matches = [
        {"filter_id": m.filter_id, "filter_text": filters[m.filter_id].filter_text, "on": m.on,
         "reason": m.reason, "confidence": m.confidence}
        for m in verdict.matches if m.filter_id in filters
    ]

    top = _strongest(text_matches, filters)
    if top is not None:
        plan.text_filter = top
        spans = sorted({s for m in text_matches for s in m.spans if s.strip()}, key=len, reverse=True)
        if top.intensity <= 2 and spans:
            plan.title = plan.body = Blur(spans)
            plan.text_intervention = "blur"
        elif top.intensity >= 4 and can_rewrite and (verdict.rewritten_title or verdict.rewritten_body):
            plan.title = Rewrite(verdict.rewritten_title) if verdict.rewritten_title is not None else None
            plan.body = Rewrite(verdict.rewritten_body) if verdict.rewritten_body is not None else None
            plan.text_intervention = "rewrite"
        else:
            plan.title = plan.body = Overlay(warning_for(top))
            plan.text_intervention = "overlay"
            if top.intensity <= 2:
                plan.notes.append("no exact words to blur; overlaid instead")
            elif top.intensity >= 4:
                plan.notes.append("this provider cannot rewrite; overlaid instead" if not can_rewrite
                                  else "no rewrite returned; overlaid instead")

    top_image = _strongest(image_matches, filters) if has_images else None
    if top_image is not None:
        plan.image_filter = top_image
        plan.image_intervention = image_intervention_for(top_image)
    return plan
