"""One image job, start to finish: fetch, decode, transform, encode, store."""

from __future__ import annotations

import base64
import logging
import time

import redis

from imaging import interventions
from imaging.errors import PermanentJobError, TransientJobError
from imaging.fetch import FetchRefused, FetchTransient, fetch_image
from imaging.images import ImageRejected, decode_image, encode_image
from shared import storage
from shared.config import Settings
from shared.events import ImageResult
from shared.imagejobs import ImageJob

log = logging.getLogger(__name__)


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


def transform(job: ImageJob, data: bytes, settings: Settings) -> tuple[bytes, str, str]:
    """Returns (encoded bytes, mime, intervention applied)."""
    try:
        img = decode_image(data, max_pixels=settings.max_image_pixels)
    except ImageRejected as exc:
        raise PermanentJobError(f"not a usable image: {exc}") from exc
    options = dict(job.options)
    boxes = options.pop("boxes", None)
    try:
        out = interventions.apply(
            job.intervention, img, boxes=boxes, filter_text=job.filter_text, intensity=job.intensity, options=options
        )
    except interventions.UnknownIntervention as exc:
        raise PermanentJobError(f"unknown intervention {job.intervention!r}") from exc
    encoded, mime = encode_image(out)
    return encoded, mime, job.intervention


def run(job: ImageJob, settings: Settings, client: redis.Redis) -> ImageResult:
    started = time.perf_counter()
    data = download(job, settings)
    encoded, mime, applied = transform(job, data, settings)
    blob_id = storage.put_blob(client, encoded, mime, settings.result_ttl_seconds)
    result: ImageResult = {
        "image_url": job.image_url,
        "filters": list(job.filters),
        "url": storage.public_url(settings.public_gateway_url, blob_id),
        "intervention": applied,
        "requested_intervention": job.intervention,
        "job_id": job.job_id,
    }
    if len(encoded) <= settings.inline_max_bytes:
        result["base64_url"] = f"data:{mime};base64,{base64.b64encode(encoded).decode()}"
    log.info("job %s: %s in %.0f ms (%d bytes)", job.job_id, applied, (time.perf_counter() - started) * 1000,
             len(encoded))
    return result
