"""Interventions that hide or weaken content: blur, pixelate, occlusion, overlay, shrink."""

from __future__ import annotations

import math
import re

from PIL import Image, ImageDraw, ImageEnhance, ImageFont

from .base import (
    RGB,
    Params,
    downscale,
    fast_blur,
    for_each_region,
    long_side,
    opt_colour,
    opt_float,
    pad_box,
)

NEUTRAL: RGB = (196, 196, 196)  # light grey canvas: reads as "empty", not as part of the picture

# Strength tables, indexed by intensity 1..5.
_BLUR_FRACTION = {1: 0.008, 2: 0.015, 3: 0.025, 4: 0.04, 5: 0.06}  # of the image's longer side
_PIXEL_CELLS_IMAGE = {1: 64, 2: 40, 3: 26, 4: 16, 5: 10}  # cells across the image's longer side
_PIXEL_CELLS_BOX = {1: 20, 2: 14, 3: 10, 4: 7, 5: 5}  # cells across a box's longer side
_OCCLUSION_PAD = {1: 0.0, 2: 0.02, 3: 0.04, 4: 0.06, 5: 0.08}  # of a box's longer side
_OVERLAY_BLUR = {1: 0.025, 2: 0.035, 3: 0.05, 4: 0.065, 5: 0.08}
_OVERLAY_DIM = {1: 0.9, 2: 0.85, 3: 0.8, 4: 0.72, 5: 0.65}  # brightness factor under the label
_SHRINK_FACTOR = {1: 0.7, 2: 0.55, 3: 0.42, 4: 0.32, 5: 0.22}  # new side / old side


# --------------------------------------------------------------------------- blur


def blur(img: Image.Image, params: Params) -> Image.Image:
    """Gaussian blur of the whole image, or of each box.

    Options: ``radius`` (px) overrides the intensity table. A box is blurred at least as strongly as
    a whole image of 2.5x its size would be, so small boxes still become unrecognisable.
    """
    fraction = params.pick(_BLUR_FRACTION)
    if not params.boxes:
        return fast_blur(img, opt_float(params.options, "radius", fraction * long_side(img), 0.5, 400))
    out = img.copy()
    for box in params.boxes:
        box_long = max(box[2] - box[0], box[3] - box[1])
        default = max(fraction * long_side(img), 2.5 * fraction * box_long, 1.0)
        radius = opt_float(params.options, "radius", default, 0.5, 400)
        # Blur with the surroundings in view: cropping first would smear the box's own edge pixels
        # inwards (the filter clamps at the crop border), which looks like a frame.
        grow = int(2 * radius)
        margin = (
            max(0, box[0] - grow),
            max(0, box[1] - grow),
            min(img.width, box[2] + grow),
            min(img.height, box[3] + grow),
        )
        blurred = fast_blur(img.crop(margin), radius)
        inner = (box[0] - margin[0], box[1] - margin[1], box[2] - margin[0], box[3] - margin[1])
        out.paste(blurred.crop(inner), box[:2])
    return out


# --------------------------------------------------------------------------- pixelate


def _pixelate(region: Image.Image, cells: float) -> Image.Image:
    w, h = region.size
    block = max(2, math.ceil(max(w, h) / cells))
    cols, rows = math.ceil(w / block), math.ceil(h / block)
    small = region.resize((cols, rows), Image.Resampling.BOX)  # block average
    return small.resize((cols * block, rows * block), Image.Resampling.NEAREST).crop((0, 0, w, h))


def pixelate(img: Image.Image, params: Params) -> Image.Image:
    """Mosaic of square blocks over the whole image or each box. Option ``cells``: blocks across."""
    table = _PIXEL_CELLS_BOX if params.boxes else _PIXEL_CELLS_IMAGE
    cells = opt_float(params.options, "cells", params.pick(table), 2, 512)
    return for_each_region(img, params, lambda region: _pixelate(region, cells))


# --------------------------------------------------------------------------- occlusion


def occlusion(img: Image.Image, params: Params) -> Image.Image:
    """Solid rectangles over each box (padded more at higher intensity); whole image without boxes.

    Option ``color``: any Pillow colour string (default black).
    """
    colour = opt_colour(params.options, "color", (0, 0, 0))
    if not params.boxes:
        return Image.new("RGB", img.size, colour)
    out = img.copy()
    draw = ImageDraw.Draw(out)
    pad = params.pick(_OCCLUSION_PAD)
    for box in params.boxes:
        x1, y1, x2, y2 = pad_box(box, pad, img.size)
        draw.rectangle((x1, y1, x2 - 1, y2 - 1), fill=colour)  # rectangle() includes its end pixel
    return out


# --------------------------------------------------------------------------- overlay

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_MAX_LABEL_CHARS = 90


def warning_label(filter_text: str, override: object = None) -> str:
    """The label text: user/LLM supplied, so control characters go and the length is capped."""
    if isinstance(override, str) and override.strip():
        text = override
    else:
        topic = " ".join(_CONTROL.sub(" ", filter_text).split()).rstrip(".")
        text = f"Content warning: {topic}" if topic else "Content warning"
    text = " ".join(_CONTROL.sub(" ", text).split())
    return text if len(text) <= _MAX_LABEL_CHARS else text[: _MAX_LABEL_CHARS - 1].rstrip() + "…"


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, max_width: float) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if not line or draw.textlength(candidate, font=font) <= max_width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def _layout(
    draw: ImageDraw.ImageDraw, text: str, size: tuple[int, int]
) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[str], int]:
    """Largest font (from ~1/14 of the shorter side down) whose wrapped text fits the panel."""
    w, h = size
    max_width, max_height = 0.84 * w, 0.6 * h
    font_size = max(9, round(min(w, h) / 14))
    while True:
        font = ImageFont.load_default(size=font_size)
        lines = _wrap(draw, text, font, max_width)  # type: ignore[arg-type]
        line_height = round(font_size * 1.25)
        fits = all(draw.textlength(ln, font=font) <= max_width for ln in lines)
        if (fits and line_height * len(lines) <= max_height) or font_size <= 9:
            return font, lines, line_height
        font_size = max(9, int(font_size * 0.85))


def overlay(img: Image.Image, params: Params) -> Image.Image:
    """The whole image blurred and dimmed, with a centred "Content warning: <filter_text>" panel.

    Boxes are ignored: the warning is about the picture as a whole. Option ``warning_text`` replaces
    the label.
    """
    radius = params.pick(_OVERLAY_BLUR) * long_side(img)
    out = ImageEnhance.Brightness(fast_blur(img, radius)).enhance(params.pick(_OVERLAY_DIM))
    text = warning_label(params.filter_text, params.options.get("warning_text"))
    draw = ImageDraw.Draw(out, "RGBA")
    font, lines, line_height = _layout(draw, text, out.size)
    text_w = max(draw.textlength(ln, font=font) for ln in lines)
    text_h = line_height * len(lines)
    pad = max(6, line_height // 2)
    cx, cy = out.width / 2, out.height / 2
    panel = (cx - text_w / 2 - pad, cy - text_h / 2 - pad, cx + text_w / 2 + pad, cy + text_h / 2 + pad)
    draw.rounded_rectangle(panel, radius=pad, fill=(0, 0, 0, 170))
    for i, ln in enumerate(lines):
        y = cy - text_h / 2 + (i + 0.5) * line_height
        draw.text((cx, y), ln, font=font, fill=(255, 255, 255, 255), anchor="mm")
    return out


# --------------------------------------------------------------------------- shrink


def _shrunk_onto(region: Image.Image, factor: float, background: Image.Image) -> Image.Image:
    w, h = region.size
    new = (max(1, round(w * factor)), max(1, round(h * factor)))
    small = region.resize(new, Image.Resampling.LANCZOS, reducing_gap=2.0)
    background.paste(small, ((w - new[0]) // 2, (h - new[1]) // 2))
    return background


def shrink(img: Image.Image, params: Params) -> Image.Image:
    """Scale the picture down and centre it on a neutral canvas of the original size.

    With boxes, each box's content is shrunk in place over a heavily blurred copy of itself, so the
    rest of the picture stays intact. Options: ``factor`` (0.05-0.95), ``background`` colour.
    """
    factor = opt_float(params.options, "factor", params.pick(_SHRINK_FACTOR), 0.05, 0.95)
    if not params.boxes:
        canvas = Image.new("RGB", img.size, opt_colour(params.options, "background", NEUTRAL))
        return _shrunk_onto(img, factor, canvas)

    def shrink_region(region: Image.Image) -> Image.Image:
        # Blurring a thumbnail is cheap and the result is a featureless wash anyway.
        wash = fast_blur(downscale(region, 64), 8).resize(region.size, Image.Resampling.BILINEAR)
        return _shrunk_onto(region, factor, wash)

    return for_each_region(img, params, shrink_region)
