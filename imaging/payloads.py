"""Message arguments to jobs: our payload dict, or the original system's JSON string.

The original's tasks took ``json.dumps({"url", "filter", "user_id"})``; its actor names are declared
too (``jobqueue.LEGACY_IMAGE_ACTORS``), each running the intervention its name stands for. Such a
message names the user to notify itself, where ours rely on the gateway having registered waiters.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import orjson

from shared.imagejobs import ImageJob
from shared.jobqueue import INTERVENTION_ALIASES, LEGACY_IMAGE_ACTORS

LEGACY_INTERVENTIONS: dict[str, str] = {name: INTERVENTION_ALIASES[name] for name in LEGACY_IMAGE_ACTORS}


class BadPayload(ValueError):
    """The message cannot be turned into a job."""


@dataclass(frozen=True)
class ParsedJob:
    job: ImageJob
    user_id: str | None = None  # someone to notify besides the registered waiters


def parse(actor_name: str, arg: Any) -> ParsedJob:
    """The job in ``arg`` for ``actor_name``; a legacy actor imposes its own intervention."""
    if isinstance(arg, str | bytes):
        try:
            arg = orjson.loads(arg)
        except orjson.JSONDecodeError as exc:
            raise BadPayload("payload is not JSON") from exc
    if not isinstance(arg, dict):
        raise BadPayload("payload is not an object")
    forced = LEGACY_INTERVENTIONS.get(actor_name)
    user = arg.get("user_id")
    user_id = str(user) if isinstance(user, str | int) and str(user) else None
    try:
        if "image_url" in arg:
            job = ImageJob.from_message({"intervention": forced or "", **arg})
        else:
            job = _from_original(arg, forced or str(arg.get("intervention") or ""))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadPayload(f"malformed payload ({type(exc).__name__}: {exc})") from exc
    if forced:
        job = replace(job, intervention=forced)
    if not job.image_url or not job.intervention:
        raise BadPayload("payload lacks an image URL or an intervention")
    return ParsedJob(job, user_id)


def _from_original(arg: dict[str, Any], intervention: str) -> ImageJob:
    """``{"url", "filter", "user_id"}``: the filter is a text (or, leniently, a list of texts)."""
    raw = arg["url"]
    flt = arg.get("filter") or ""
    filters = [str(f) for f in flt] if isinstance(flt, list) else [str(flt)] if flt else []
    return ImageJob(
        image_url=str(raw),
        filters=tuple(filters),
        intervention=intervention,
        filter_text=", ".join(filters),
    )
