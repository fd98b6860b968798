"""Painterly restyling with Pillow alone: cartoonish, pointillism, impressionism.

All three abstract detail away, so they work on a copy shrunk to about a megapixel or less and scale
the result back: the look survives and the cost stays flat as inputs grow. Randomness is seeded from
the image size, so the same input always gives the same output (results are cached by URL).
"""

from __future__ import annotations

import math
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageFilter

from .base import Params, downscale, fast_blur, opt_float

# --------------------------------------------------------------------------- cartoonish

_CARTOON_SIDE = {1: 900, 2: 800, 3: 700, 4: 600, 5: 520}  # working resolution: lower = flatter
_CARTOON_COLOURS = {1: 32, 2: 24, 3: 18, 4: 14, 5: 10}
# Edge strength needed for ink. Rises with intensity because the smaller working image of a higher
# intensity concentrates gradients, and a stronger abstraction wants fewer, bolder lines.
_CARTOON_EDGE_THRESHOLD = {1: 15, 2: 16, 3: 17, 4: 19, 5: 21}
_INK = (28, 24, 22)


def cartoonish(img: Image.Image, params: Params) -> Image.Image:
    """Flat colour regions with dark outlines.

    The image is reduced to a few hundred pixels across (which already removes fine texture), a
    median filter flattens what is left while keeping boundaries (edge-preserving), octree
    quantisation makes the flat cel colours, and a thresholded edge map of the smoothed image gives
    the ink. Option ``colors`` overrides the palette size.
    """
    work = downscale(img, int(params.pick(_CARTOON_SIDE)))
    smooth = work.filter(ImageFilter.MedianFilter(3))
    colours = int(opt_float(params.options, "colors", params.pick(_CARTOON_COLOURS), 2, 64))
    vivid = ImageEnhance.Color(smooth.filter(ImageFilter.SMOOTH)).enhance(1.35)
    flat = vivid.quantize(colours, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).convert("RGB")
    flat = flat.filter(ImageFilter.MedianFilter(3))  # removes single-pixel speckles left by quantising

    threshold = params.pick(_CARTOON_EDGE_THRESHOLD)
    # A slight blur first: edges of the smoothed shapes, not of leftover pixel noise.
    edges = smooth.convert("L").filter(ImageFilter.GaussianBlur(1)).filter(ImageFilter.FIND_EDGES)
    ink = edges.point(lambda v: 255 if v > threshold else 0).filter(ImageFilter.MedianFilter(3))
    # FIND_EDGES sees the image border as an edge; a frame of ink there is an artefact, not a line.
    ImageDraw.Draw(ink).rectangle((0, 0, ink.width - 1, ink.height - 1), outline=0, width=2)
    if max(img.size) < 1.8 * max(work.size):
        ink = ink.filter(ImageFilter.MaxFilter(3))  # upscaling thickens lines; only thicken small output

    flat = flat.resize(img.size, Image.Resampling.BICUBIC)
    # Scale the line mask smoothly, then re-threshold: crisp lines at full size without jaggies.
    ink = ink.resize(img.size, Image.Resampling.BILINEAR).point(lambda v: 255 if v > 100 else 0)
    flat.paste(_INK, (0, 0, *img.size), ink)
    return flat


# --------------------------------------------------------------------------- pointillism

_DOT_SPACING = {1: 0.006, 2: 0.008, 3: 0.011, 4: 0.015, 5: 0.02}  # of the longer side
_DOT_CANVAS = (246, 242, 232)
_DOTS_MAX_SIDE = 1600  # render size cap: dots are soft-edged anyway, upscaling keeps them round


def pointillism(img: Image.Image, params: Params) -> Image.Image:
    """Round dabs of saturated colour on a light canvas, a little of which shows through.

    Option ``spacing`` (fraction of the longer side, 0.003-0.05) overrides the dot spacing.
    """
    work = downscale(img, _DOTS_MAX_SIDE)
    w, h = work.size
    spacing = max(3.0, opt_float(params.options, "spacing", params.pick(_DOT_SPACING), 0.003, 0.05) * max(w, h))
    # Colour source: a small, saturated copy (one pixel per half-spacing); sampling it is cheap.
    cols, rows = max(1, math.ceil(2 * w / spacing)), max(1, math.ceil(2 * h / spacing))
    palette = ImageEnhance.Color(work.resize((cols, rows), Image.Resampling.BOX)).enhance(1.5)
    pix = palette.load()
    assert pix is not None

    canvas = Image.new("RGB", (w, h), _DOT_CANVAS)
    draw = ImageDraw.Draw(canvas)
    rng = random.Random(w * 7919 + h)
    count = int(1.5 * (w / spacing) * (h / spacing))
    r_lo, r_hi = 0.45 * spacing, 0.7 * spacing
    sx, sy = cols / w, rows / h
    for _ in range(count):
        x, y = rng.random() * w, rng.random() * h
        red, green, blue = pix[min(cols - 1, int(x * sx)), min(rows - 1, int(y * sy))][:3]  # type: ignore[index]
        shift = rng.randint(-14, 14)  # slight per-dot variation, like hand-mixed paint
        r = rng.uniform(r_lo, r_hi)
        draw.ellipse(
            (x - r, y - r, x + r, y + r),
            fill=(min(255, max(0, red + shift)), min(255, max(0, green + shift)), min(255, max(0, blue + shift))),
        )
    if canvas.size != img.size:
        canvas = canvas.resize(img.size, Image.Resampling.BICUBIC)
    return canvas


# --------------------------------------------------------------------------- impressionism

_STROKE_SIDE = 1000  # strokes are drawn at this working size
_STROKE_SPACING = {1: 0.005, 2: 0.0065, 3: 0.008, 4: 0.010, 5: 0.013}  # of the working longer side
_SOBEL_X = (-1, 0, 1, -2, 0, 2, -1, 0, 1)
_SOBEL_Y = (-1, -2, -1, 0, 0, 0, 1, 2, 1)


def impressionism(img: Image.Image, params: Params) -> Image.Image:
    """Short, thick brush strokes that follow the image's contours, over a soft underpainting.

    Each stroke takes the local colour and runs along the local edge direction (perpendicular to the
    Sobel gradient); in flat areas it falls back to a loose diagonal hatch. Option ``spacing``
    (fraction of the longer side, 0.003-0.03) overrides the stroke spacing.
    """
    work = downscale(img, _STROKE_SIDE)
    w, h = work.size
    spacing = max(2.5, opt_float(params.options, "spacing", params.pick(_STROKE_SPACING), 0.003, 0.03) * max(w, h))
    vivid = ImageEnhance.Color(work).enhance(1.3)
    canvas = fast_blur(vivid, spacing * 1.5)  # underpainting shows between strokes

    grey = work.convert("L").filter(ImageFilter.GaussianBlur(spacing))
    # Sobel responses offset to 128 so negative gradients survive in an 8-bit image.
    gx = grey.filter(ImageFilter.Kernel((3, 3), _SOBEL_X, scale=8, offset=128)).load()
    gy = grey.filter(ImageFilter.Kernel((3, 3), _SOBEL_Y, scale=8, offset=128)).load()
    colour = vivid.filter(ImageFilter.BoxBlur(1)).load()
    assert gx is not None and gy is not None and colour is not None

    draw = ImageDraw.Draw(canvas)
    rng = random.Random(w * 104729 + h)
    length, width = 2.2 * spacing, max(2, round(0.9 * spacing))
    count = int(1.6 * (w / spacing) * (h / spacing))
    for _ in range(count):
        x, y = rng.uniform(0, w - 1), rng.uniform(0, h - 1)
        ix, iy = int(x), int(y)
        dx, dy = gx[ix, iy] - 128, gy[ix, iy] - 128  # type: ignore[operator]
        if dx * dx + dy * dy < 4:
            angle = math.pi / 4 + rng.uniform(-0.5, 0.5)
        else:
            angle = math.atan2(dy, dx) + math.pi / 2 + rng.uniform(-0.25, 0.25)
        half = rng.uniform(0.6, 1.0) * length / 2
        ux, uy = math.cos(angle) * half, math.sin(angle) * half
        red, green, blue = colour[ix, iy][:3]  # type: ignore[index]
        shade = rng.randint(-12, 12)
        draw.line(
            (x - ux, y - uy, x + ux, y + uy),
            fill=(min(255, max(0, red + shade)), min(255, max(0, green + shade)), min(255, max(0, blue + shade))),
            width=width,
        )
    if canvas.size != img.size:
        canvas = canvas.resize(img.size, Image.Resampling.BICUBIC)
    return canvas
