"""One image job, start to finish: fetch, decode, judge, transform, encode, store."""

from __future__ import annotations

import base64
import logging
import time
from dataclasses import dataclass

import redis
from PIL import Image

from imaging import interventions
from imaging.decode import ImageRejected, decode_image, encode_image
from imaging.fetch import FetchRefused, FetchTransient, fetch_image
from imaging.job_errors import PermanentJobError, TransientJobError
from imaging.judging import ImageJudge, Verdict
from imaging.palette import Palette
from imaging.providers import Providers, build_providers
from imaging.verdicts import VerdictCache
from shared import storage
from shared.config import Settings
from shared.events import ImageResult
from shared.imagejobs import ImageJob

log = logging.getLogger(__name__)

# Kept free at the end of a job's time limit for what follows a cloud call: a local fallback,
# encoding and storing. Cloud calls (judging, edits) stop retrying before it.
RESERVE_SECONDS = 10.0


@dataclass
class Services:
    """What jobs share within a worker process: provider clients, the judge, the palette."""

    providers: Providers
    judge: ImageJudge
    palette: Palette


def build_services(settings: Settings, client: redis.Redis) -> Services:
    providers = build_providers(settings)
    cache = VerdictCache(client, settings.image_verdict_ttl_seconds) if providers.vision else None
    return Services(
        providers=providers,
        judge=ImageJudge(providers.vision, cache, timeout=settings.image_vision_timeout_seconds),
        palette=Palette(providers, max_pixels=settings.max_image_pixels),
    )


def download(job: ImageJob, settings: Settings) -> bytes:
    try:
        fetched = fetch_image(
            job.image_url,
            max_bytes=settings.fetch_max_bytes,
            timeout=settings.fetch_timeout_seconds,
            max_redirects=settings.fetch_max_redirects,
            allow=settings.fetch_allow_list,
        )
    except FetchRefused as exc:
        raise PermanentJobError(f"image refused: {exc}") from exc
    except FetchTransient as exc:
        raise TransientJobError(f"image download failed: {exc}") from exc
    return fetched.data


def decode(data: bytes, settings: Settings) -> Image.Image:
    try:
        return decode_image(data, max_pixels=settings.max_image_pixels)
    except ImageRejected as exc:
        raise PermanentJobError(f"not a usable image: {exc}") from exc


def unchanged(job: ImageJob, verdict: Verdict) -> ImageResult:
    """The image stays as it is: the result points at the original, so the client's swap is a no-op."""
    return {
        "image_url": job.image_url,
        "filters": list(job.filters),
        "url": job.image_url,
        "intervention": "none",
        "requested_intervention": job.intervention,
        "note": verdict.note or "unchanged",
        "job_id": job.job_id,
    }


def run(job: ImageJob, settings: Settings, client: redis.Redis, services: Services, *, deadline: float) -> ImageResult:
    """``deadline`` is the ``time.monotonic()`` by which the job must be done (its time limit)."""
    started = time.perf_counter()
    data = download(job, settings)
    img = decode(data, settings)
    work_deadline = deadline - RESERVE_SECONDS
    verdict = services.judge.judge(job, data, img, deadline=work_deadline)
    if not verdict.apply:
        log.info("job %s: %s in %.0f ms", job.job_id, verdict.note, (time.perf_counter() - started) * 1000)
        return unchanged(job, verdict)
    boxes = dict(job.options).get("boxes") or verdict.boxes
    try:
        rendered = services.palette.render(job, img, boxes, deadline=work_deadline)
    except interventions.UnknownIntervention as exc:
        raise PermanentJobError(f"unknown intervention {job.intervention!r}") from exc
    encoded, mime = encode_image(rendered.image)
    blob_id = storage.put_blob(client, encoded, mime, settings.result_ttl_seconds)
    result: ImageResult = {
        "image_url": job.image_url,
        "filters": list(job.filters),
        "url": storage.public_url(settings.public_gateway_url, blob_id),
        "intervention": rendered.applied,
        "requested_intervention": job.intervention,
        "job_id": job.job_id,
    }
    note = "; ".join(n for n in (verdict.note, rendered.note) if n)
    if note:
        result["note"] = note
    if len(encoded) <= settings.inline_max_bytes:
        result["base64_url"] = f"data:{mime};base64,{base64.b64encode(encoded).decode()}"
    log.info("job %s: %s in %.0f ms (%d bytes, judged by %s)", job.job_id, rendered.applied,
             (time.perf_counter() - started) * 1000, len(encoded), verdict.judged_by or "nobody")
    return result
