"""Local, offline image interventions (Pillow only), and the registry the worker dispatches on.

``apply(name, img, ...)`` is the one entry point: it normalises the image mode, clamps intensity to
1..5, clips boxes to the image, handles transparency, and guarantees the output has the input's size.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from PIL import Image

from imaging.decode import normalise_mode

from .base import MAX_INTENSITY, MIN_INTENSITY, Box, Intervention, Params, clip_boxes
from .obscure import NEUTRAL, blur, occlusion, overlay, pixelate, shrink
from .stylize import cartoonish, impressionism, pointillism

__all__ = ["INTERVENTIONS", "Box", "Intervention", "Params", "UnknownIntervention", "apply"]

INTERVENTIONS: dict[str, Intervention] = {
    i.name: i
    for i in (
        Intervention("blur", "Gaussian blur of the image or of each box", blur, True, True),
        Intervention("pixelate", "mosaic of coarse blocks over the image or each box", pixelate, True, True),
        Intervention("occlusion", "solid rectangles over each box, or the whole image", occlusion, True, False),
        Intervention("overlay", "blurred image with a 'Content warning' label", overlay, False, False),
        Intervention("shrink", "image (or each box) scaled down on a neutral background", shrink, True, False),
        Intervention("cartoonish", "flat colours and dark outlines", cartoonish, False, True),
        Intervention("pointillism", "coloured dots on a light canvas", pointillism, False, True),
        Intervention("impressionism", "short brush strokes along the contours", impressionism, False, True),
    )
}


class UnknownIntervention(KeyError):
    """No local intervention has this name."""


def _clamp_intensity(value: object, default: int = 3) -> int:
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return default
    return max(MIN_INTENSITY, min(MAX_INTENSITY, number))


def apply(
    name: str,
    img: Image.Image,
    *,
    boxes: Iterable[Sequence[float]] | None,
    filter_text: str,
    intensity: int,
    options: Mapping[str, Any],
) -> Image.Image:
    """Run intervention ``name`` on ``img`` and return a new image of the same size.

    ``boxes`` are (left, top, right, bottom) pixels; None or empty means the whole image.
    Interventions whose ``uses_boxes`` is False ignore them. ``intensity`` is clamped to 1..5.
    The output is RGB, or RGBA when the input had transparency and the intervention keeps it.
    """
    try:
        intervention = INTERVENTIONS[name]
    except KeyError:
        raise UnknownIntervention(name) from None
    img = normalise_mode(img)
    params = Params(
        boxes=clip_boxes(boxes, img.size) if intervention.uses_boxes else (),
        filter_text=filter_text or "",
        intensity=_clamp_intensity(intensity),
        options=options or {},
    )
    alpha: Image.Image | None = None
    if img.mode == "RGBA":
        if intervention.keeps_alpha:
            alpha = img.getchannel("A")
            img = img.convert("RGB")
        else:
            # Flatten: an occluding box or label must stay visible where the source was transparent.
            flat = Image.new("RGB", img.size, NEUTRAL)
            flat.paste(img, mask=img.getchannel("A"))
            img = flat
    out = intervention.run(img, params)
    if out.size != img.size:  # an intervention bug must not break the page layout
        out = out.resize(img.size, Image.Resampling.BICUBIC)
    if alpha is not None:
        out = out.convert("RGB")
        out.putalpha(alpha)
    return out
