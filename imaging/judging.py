"""Does this image show what the job's filters describe, and where? Decided before anything is changed.

* With a vision provider: one call per image answers for every filter of the job (present or not,
  plus boxes), cached by the image's content hash (``verdicts.py``), so the same picture is judged
  once. If the provider fails, the post text decides for the filters it could not answer.
* Without one: the post text and alt text (``job.context_text``) go through the offline text matcher.
  A context of some substance that matches none of the filters leaves the image unchanged; with no
  context at all the image is changed, because the gateway queues image jobs only for posts it has
  already judged as matching.

The filters judged are ``options["image_filters"]`` (all of the user's image filters, when the
gateway passes them), else the job's filters, else its ``filter_text``. ``options["judge"] = false``
skips judging (an explicit request for this very image).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imaging.cloud import vision
from imaging.cloud.calls import CloudError
from imaging.cloud.prompts import clean_text
from imaging.decode import encode_image
from imaging.interventions.base import Box, downscale
from imaging.providers import VisionClient
from imaging.verdicts import VerdictCache, content_hash
from shared.imagejobs import ImageJob
from shared.models import Filter
from shared.moderation.local import LocalMatcher
from shared.moderation.types import Post, ProviderError

log = logging.getLogger(__name__)

MAX_FILTERS = 16
VISION_MAX_SIDE = 1024  # what the providers look at anyway; smaller uploads answer sooner
MIN_CONTEXT_WORDS = 4  # fewer words than this say too little for "does not match" to mean anything


@dataclass(frozen=True)
class Verdict:
    apply: bool
    boxes: tuple[Box, ...] = ()  # pixels; empty: the whole image
    note: str = ""
    judged_by: str = ""  # "gemini", "openai", "cache", "post text", "" (not judged)


def judge_filters(job: ImageJob) -> list[str]:
    options = dict(job.options)
    listed = options.get("image_filters")
    if isinstance(listed, list | tuple):
        texts = [clean_text(t, 200) for t in listed if isinstance(t, str)]
    else:
        texts = [clean_text(t, 200) for t in job.filters if not t.startswith("custom_")]
    texts = [t for t in texts if t] or [t for t in [clean_text(job.filter_text, 200)] if t]
    return list(dict.fromkeys(texts))[:MAX_FILTERS]


def describe(filters: Sequence[str]) -> str:
    return " or ".join(filters) if len(filters) <= 3 else ", ".join(filters[:3]) + " or other filtered content"


class ImageJudge:
    def __init__(self, vision_client: VisionClient | None, cache: VerdictCache | None, *, timeout: float) -> None:
        self.vision = vision_client
        self.cache = cache
        self.timeout = timeout
        self._matcher = LocalMatcher()

    def judge(self, job: ImageJob, data: bytes, img: Image.Image, *, deadline: float) -> Verdict:
        filters = judge_filters(job)
        options: dict[str, Any] = dict(job.options)
        if not filters or options.get("judge") is False:
            return Verdict(True)
        if self.vision is None:
            return self.by_text(filters, job.context_text)
        return self.by_vision(filters, data, img, job.context_text, deadline=deadline)

    def by_vision(
        self, filters: list[str], data: bytes, img: Image.Image, context: str, *, deadline: float
    ) -> Verdict:
        assert self.vision is not None
        digest = content_hash(data)
        known = self.cache.get(digest, filters) if self.cache else {}
        judged_by, note = "cache", ""
        missing = [f for f in filters if f not in known]
        if missing:
            judged_by = self.vision.name
            answered, note = self._answer(digest, img, missing, until=min(deadline, time.monotonic() + self.timeout))
            known.update(answered)
        present = [known[f] for f in filters if f in known and known[f].present]
        if present:
            whole = any(not f.boxes for f in present)
            boxes = () if whole else vision.to_pixels([b for f in present for b in f.boxes], img.size)
            return Verdict(True, boxes=boxes, note=note, judged_by=judged_by)
        unknown = [f for f in filters if f not in known]
        if not unknown:
            return Verdict(False, note=f"unchanged: image does not show {describe(filters)}", judged_by=judged_by)
        by_text = self.by_text(unknown, context)
        return Verdict(by_text.apply, note="; ".join(n for n in (note, by_text.note) if n), judged_by="post text")

    def _answer(
        self, digest: str, img: Image.Image, missing: list[str], *, until: float
    ) -> tuple[dict[str, vision.Finding], str]:
        """Findings for ``missing`` (from a concurrent job's call, or our own) and a note on failure."""
        token = self.cache.try_lock(digest, self.timeout) if self.cache else None
        try:
            found: dict[str, vision.Finding] = {}
            if self.cache is not None:
                # Locked by another job: wait for its answer. Ours: look again, a job that held the
                # lock a moment ago may have answered since our first look.
                found = self.cache.wait(digest, missing, until) if token is None else self.cache.get(digest, missing)
            rest = [f for f in missing if f not in found]
            if not rest:
                return found, ""
            try:
                answered = self._ask(img, rest, deadline=until)
            except CloudError as exc:
                log.warning("vision judging failed, post text decides: %s", exc.reason)
                return found, f"image not judged ({exc.reason})"
            if self.cache is not None:
                self.cache.put(digest, answered)
            return {**found, **answered}, ""
        finally:
            if token is not None and self.cache is not None:
                self.cache.unlock(digest, token)

    def _ask(self, img: Image.Image, filters: list[str], *, deadline: float) -> dict[str, vision.Finding]:
        assert self.vision is not None
        encoded, mime = encode_image(downscale(img, VISION_MAX_SIDE), prefer="jpeg", quality=85)
        text = self.vision.judge(encoded, mime, filters, deadline=deadline)
        found = vision.parse_reply(text, len(filters))
        return {filters[i]: finding for i, finding in found.items()}

    def by_text(self, filters: list[str], context: str) -> Verdict:
        if len(context.split()) < MIN_CONTEXT_WORDS:
            return Verdict(True)  # nothing to go by: trust the gateway's match
        specs = [Filter(id=i, filter_text=f, content_type="all") for i, f in enumerate(filters)]
        try:
            verdict = self._matcher.judge_sync([Post(id="image", body=context)], specs)["image"]
        except ProviderError as exc:
            log.warning("text judging failed, image changed anyway: %s", exc)
            return Verdict(True)
        if verdict.matches:
            return Verdict(True, judged_by="post text")
        return Verdict(False, note=f"unchanged: the post does not mention {describe(filters)}", judged_by="post text")
