"""Types and small helpers shared by every local intervention.

Kept separate from the registry so intervention modules import from here and the registry imports
them: arrows run one way.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from PIL import Image, ImageColor, ImageFilter

Box = tuple[int, int, int, int]  # (left, top, right, bottom) in pixels; right/bottom exclusive
RGB = tuple[int, int, int]

MIN_INTENSITY, MAX_INTENSITY = 1, 5


@dataclass(frozen=True, slots=True)
class Params:
    """What an intervention gets besides the image. ``boxes`` are already clipped to the image."""

    boxes: tuple[Box, ...] = ()
    filter_text: str = ""
    intensity: int = 3
    options: Mapping[str, Any] = field(default_factory=dict)

    def pick(self, table: Mapping[int, float]) -> float:
        """The value for this intensity from a 1..5 table."""
        return table[self.intensity]


@dataclass(frozen=True, slots=True)
class Intervention:
    name: str
    description: str
    run: Callable[[Image.Image, Params], Image.Image]  # gets RGB, returns RGB of the same size
    uses_boxes: bool  # False: boxes are ignored and the whole image is transformed
    keeps_alpha: bool  # False: transparency is flattened first (the output must be opaque to hide)


# --------------------------------------------------------------------------- boxes


def clip_boxes(boxes: Iterable[Sequence[float]] | None, size: tuple[int, int]) -> tuple[Box, ...]:
    """Order corners, clip to the image, drop empty or malformed boxes.

    Boxes come from detectors, LLMs and job options, so sloppy input is expected, not exceptional.
    """
    if not boxes:
        return ()
    width, height = size
    out: list[Box] = []
    for box in boxes:
        try:
            x1, y1, x2, y2 = (round(float(v)) for v in box)
        except (TypeError, ValueError, OverflowError):
            continue
        x1, x2 = sorted((max(0, min(width, x1)), max(0, min(width, x2))))
        y1, y2 = sorted((max(0, min(height, y1)), max(0, min(height, y2))))
        if x2 - x1 >= 1 and y2 - y1 >= 1:
            out.append((x1, y1, x2, y2))
    return tuple(out)


def pad_box(box: Box, fraction: float, size: tuple[int, int]) -> Box:
    """Grow ``box`` by ``fraction`` of its longer side on every edge, clipped to ``size``."""
    x1, y1, x2, y2 = box
    pad = round(fraction * max(x2 - x1, y2 - y1))
    return (max(0, x1 - pad), max(0, y1 - pad), min(size[0], x2 + pad), min(size[1], y2 + pad))


def for_each_region(img: Image.Image, params: Params, transform: Callable[[Image.Image], Image.Image]) -> Image.Image:
    """Apply ``transform`` to every box (or to the whole image when there are none)."""
    if not params.boxes:
        return transform(img)
    out = img.copy()
    for box in params.boxes:
        out.paste(transform(img.crop(box)), box[:2])
    return out


# --------------------------------------------------------------------------- options


def opt_float(options: Mapping[str, Any], key: str, default: float, lo: float, hi: float) -> float:
    """A numeric option clamped to [lo, hi]; junk falls back to the default (options come from users)."""
    try:
        value = float(options.get(key, default))
    except (TypeError, ValueError):
        return default
    return default if math.isnan(value) else max(lo, min(hi, value))


def opt_colour(options: Mapping[str, Any], key: str, default: RGB) -> RGB:
    raw = options.get(key)
    if not isinstance(raw, str):
        return default
    try:
        rgb = ImageColor.getrgb(raw.strip())
    except ValueError:
        return default
    return (rgb[0], rgb[1], rgb[2])


# --------------------------------------------------------------------------- fast primitives


def long_side(img: Image.Image) -> int:
    return max(img.size)


def downscale(img: Image.Image, max_side: int) -> Image.Image:
    """Shrink so the longer side is at most ``max_side`` (BOX: fast and alias-free); never enlarge."""
    w, h = img.size
    scale = max_side / max(w, h)
    if scale >= 1:
        return img
    return img.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BOX)


def fast_blur(img: Image.Image, radius: float) -> Image.Image:
    """Gaussian blur whose cost does not grow with the radius.

    A large radius is applied to a copy shrunk so the radius becomes ~4 px, then scaled back with a
    smooth filter: visually the same as a full-resolution blur, an order of magnitude cheaper.
    """
    if radius <= 0:
        return img.copy()
    factor = int(radius // 4)
    if factor < 2:
        return img.filter(ImageFilter.GaussianBlur(radius))
    w, h = img.size
    small_size = (max(1, math.ceil(w / factor)), max(1, math.ceil(h / factor)))
    small = img.resize(small_size, Image.Resampling.BOX)
    small = small.filter(ImageFilter.GaussianBlur(radius / factor))
    return small.resize((w, h), Image.Resampling.BICUBIC)
