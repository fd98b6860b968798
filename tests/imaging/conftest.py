"""Shared fixtures for the imaging tests: synthetic photo-like images, built in code."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageDraw, ImageFilter


def photo_like(width: int, height: int, seed: int = 0) -> Image.Image:
    """A deterministic RGB image with smooth gradients, hard-edged shapes and fine noise.

    Interventions behave differently on flat colour than on photos, so tests and the benchmark use
    something with both texture and edges.
    """
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize((width, height)),
            Image.radial_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
        ],
    )
    draw = ImageDraw.Draw(base)
    step = max(8, min(width, height) // 6)
    for i in range(6):
        x0 = (i * 37 + seed * 11) % max(1, width - step)
        y0 = (i * 53 + seed * 7) % max(1, height - step)
        colour = ((i * 90 + seed) % 256, (i * 40 + 100) % 256, (i * 150 + 30) % 256)
        if i % 2:
            draw.ellipse((x0, y0, x0 + step, y0 + step), fill=colour)
        else:
            draw.rectangle((x0, y0, x0 + step, y0 + step // 2), fill=colour)
    # Fine detail (thin stripes, like foliage or text) that blurring and pixelating must remove.
    for x in range(0, width, 6):
        draw.line((x, height // 2, x + height // 4, height), fill=(20, 20, 20), width=1)
    noise = Image.effect_noise((width, height), 48).convert("RGB")
    return Image.blend(base, noise, 0.2).filter(ImageFilter.SMOOTH)


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def photo() -> Image.Image:
    return photo_like(320, 240)


@pytest.fixture
def make_photo() -> Callable[..., Image.Image]:
    """The :func:`photo_like` factory (fixtures avoid importing conftest as a module)."""
    return photo_like
