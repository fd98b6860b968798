"""Pictures for the /chat/image tests, made in memory."""

from __future__ import annotations

import io
import os

from PIL import Image, ImageDraw


def encoded(img: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def png(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (30, 120, 200)) -> bytes:
    img = Image.new("RGB", size, color)
    ImageDraw.Draw(img).ellipse([4, 4, size[0] - 4, size[1] - 4], fill=(240, 200, 30))
    return encoded(img, "PNG")


def noisy_png(size: tuple[int, int]) -> bytes:
    """A PNG that does not compress: its size in bytes grows with its pixels."""
    return encoded(Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)), "PNG")


def bmp() -> bytes:
    return encoded(Image.new("RGB", (20, 20)), "BMP")
