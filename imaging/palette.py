"""The full intervention palette: local Pillow interventions, cloud ones, and the fallback between them.

Cloud interventions and who performs them:

* ``cartoonish_gpt_image``: OpenAI ``images.edit`` (gpt-image-1), a cartoon redraw;
* ``replacement``: Gemini replaces the filtered object with a harmless one (``options["replacement_object"]``);
* ``inpainting``: Gemini removes it and fills in the background;
* ``stylize``: Gemini repaints the image in ``options["style"]`` (see ``cloud.prompts.STYLES``;
  ``options["selective"]`` restyles only the object).

When the provider is not configured, refuses, or keeps failing after bounded retries, the closest
local intervention runs instead and the result says so: ``applied`` differs from the request and
``note`` gives the reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from PIL import Image

from imaging import interventions
from imaging.cloud import prompts
from imaging.cloud.calls import CloudError, CloudNotConfigured, CloudRefused
from imaging.decode import ImageRejected, decode_image, encode_image
from imaging.interventions.base import Box, downscale
from imaging.providers import Providers
from shared.imagejobs import ImageJob

log = logging.getLogger(__name__)

CLOUD_PROVIDER = {
    "cartoonish_gpt_image": "openai",
    "replacement": "gemini",
    "inpainting": "gemini",
    "stylize": "gemini",
}
UPLOAD_MAX_SIDE = 1536  # both providers work at about this size; larger uploads only cost time


@dataclass(frozen=True)
class Rendered:
    image: Image.Image
    applied: str
    note: str = ""


def fallback_for(name: str, options: dict[str, Any], boxes: tuple[Box, ...] | list[Any] | None) -> str:
    """The local intervention closest to cloud intervention ``name``."""
    if name == "cartoonish_gpt_image":
        return "cartoonish"
    if name == "stylize":
        return prompts.STYLES[prompts.style_name(options)].local
    return "blur" if boxes else "overlay"  # replacement, inpainting: hide the object, or warn about the image


def prompt_for(name: str, job: ImageJob, options: dict[str, Any]) -> str:
    if name == "cartoonish_gpt_image":
        return prompts.cartoon_prompt(job.filter_text)
    if name == "replacement":
        return prompts.replacement_prompt(job.filter_text, options)
    if name == "inpainting":
        return prompts.inpainting_prompt(job.filter_text)
    return prompts.stylize_prompt(job.filter_text, options)


class Palette:
    def __init__(self, providers: Providers, *, max_pixels: int) -> None:
        self.providers = providers
        self.max_pixels = max_pixels

    def render(
        self, job: ImageJob, img: Image.Image, boxes: tuple[Box, ...] | list[Any] | None, *, deadline: float
    ) -> Rendered:
        """Apply ``job.intervention`` (raises ``interventions.UnknownIntervention`` for unknown names)."""
        options = {k: v for k, v in job.options if k != "boxes"}
        name = job.intervention
        if name not in CLOUD_PROVIDER:
            return Rendered(self.local(name, job, img, boxes, options), name)
        try:
            return Rendered(self.cloud(name, job, img, options, deadline=deadline), name)
        except CloudError as exc:
            local = fallback_for(name, options, boxes)
            log.info("job %s: %s unavailable (%s), falling back to %s", job.job_id, name, exc.reason, local)
            return Rendered(self.local(local, job, img, boxes, options), local, f"fallback to {local}: {exc.reason}")

    @staticmethod
    def local(
        name: str, job: ImageJob, img: Image.Image, boxes: tuple[Box, ...] | list[Any] | None, options: dict[str, Any]
    ) -> Image.Image:
        return interventions.apply(
            name, img, boxes=boxes, filter_text=job.filter_text, intensity=job.intensity, options=options
        )

    def cloud(
        self, name: str, job: ImageJob, img: Image.Image, options: dict[str, Any], *, deadline: float
    ) -> Image.Image:
        provider = CLOUD_PROVIDER[name]
        upload, mime = encode_image(downscale(img, UPLOAD_MAX_SIDE), prefer="jpeg", quality=90)
        prompt = prompt_for(name, job, options)
        if provider == "openai":
            if self.providers.openai is None:
                raise CloudNotConfigured("openai is not configured")
            data = self.providers.openai.edit(upload, mime, prompt, deadline=deadline)
        else:
            if self.providers.gemini is None:
                raise CloudNotConfigured("gemini is not configured")
            data, _ = self.providers.gemini.generate(upload, mime, prompt, deadline=deadline)
        try:
            out = decode_image(data, max_pixels=self.max_pixels)
        except ImageRejected as exc:
            raise CloudRefused(f"{provider}: unusable image ({exc.reason})") from exc
        if out.size != img.size:  # the page reserved the original's box; keep its size
            out = out.resize(img.size, Image.Resampling.LANCZOS)
        return out
