"""Safe decoding and encoding of untrusted image bytes.

* The format is found by decoding: Content-Type headers and file names are never consulted. Pillow
  identifies the data, and only a short list of web formats is accepted, which keeps rarely used
  parsers (and EPS, which would start Ghostscript) away from hostile input.
* Decompression bombs are refused from the header: the pixel count is checked after ``Image.open``
  (which reads only the header) and before any pixel is decoded. The limit is passed per call and
  never written to the process-wide ``Image.MAX_IMAGE_PIXELS``, so worker threads with different
  limits cannot race. Pillow's own global check still applies on top (it refuses above
  ``2 * Image.MAX_IMAGE_PIXELS``), so ``max_pixels`` is effectively capped at that value.
* Animated images (GIF, APNG, animated WebP/AVIF) and multi-page TIFFs yield their FIRST frame only:
  interventions produce one still image, and decoding every frame would multiply the cost and the
  bomb surface.
* EXIF orientation is applied, then the mode is normalised to RGB, or RGBA when there is real
  transparency.
"""

from __future__ import annotations

import io
from typing import Literal

from PIL import Image, ImageOps, features

__all__ = ["ImageRejected", "decode_image", "encode_image", "normalise_mode"]

Image.init()  # registers every plugin, so ALLOWED_FORMATS can be intersected with what exists
_WANTED = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "AVIF", "BMP", "TIFF")
ALLOWED_FORMATS: tuple[str, ...] = tuple(f for f in _WANTED if f in Image.OPEN)

_WEBP_MAX_SIDE = 16383  # the WebP bitstream cannot hold larger images
_HAS_WEBP = features.check("webp")
# libwebp effort 0-6. Measured at 2 MP: method 2 encodes in about half the time of the default 4
# (~60 vs ~140 ms) for files ~5% larger; worker throughput matters more than those bytes.
WEBP_METHOD = 2


class ImageRejected(ValueError):
    """The bytes are not an acceptable image; ``reason`` is short and safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def decode_image(data: bytes, *, max_pixels: int) -> Image.Image:
    """Decode ``data`` into a fully loaded RGB or RGBA image (first frame), or raise ImageRejected."""
    if not data:
        raise ImageRejected("empty data")
    try:
        src = Image.open(io.BytesIO(data), formats=ALLOWED_FORMATS)
    except Image.DecompressionBombError as exc:
        raise ImageRejected("image dimensions exceed the pixel limit") from exc
    except Exception as exc:  # any parser failure on hostile input means "not an image"
        raise ImageRejected("not a supported image") from exc
    with src:
        width, height = src.size
        if width <= 0 or height <= 0:
            raise ImageRejected("image has no pixels")
        if width * height > max_pixels:
            raise ImageRejected(f"image is {width}x{height}, more than {max_pixels} pixels")
        try:
            src.seek(0)  # first frame of animations / first page of TIFFs
            src.load()
        except Exception as exc:  # truncated or corrupt pixel data
            raise ImageRejected(f"corrupt or truncated {src.format} data") from exc
        img = _apply_orientation(src)
        out = normalise_mode(img)
        if out is src:
            out = src.copy()  # detach from the file object that the with-block closes
    return out


def _apply_orientation(img: Image.Image) -> Image.Image:
    try:
        return ImageOps.exif_transpose(img)
    except Exception:  # broken EXIF is common in the wild; keep the pixels as stored
        return img


def normalise_mode(img: Image.Image) -> Image.Image:
    """Return ``img`` as RGB, or RGBA when it has transparency that is actually used."""
    mode = img.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        return _deep_to_rgb(img)
    if mode == "RGB":
        return img
    if mode == "P":
        img = img.convert("RGBA" if img.has_transparency_data else "RGB")
    elif mode in ("RGBA", "RGBa", "LA", "La", "PA"):
        img = img.convert("RGBA")
    else:  # 1, L, CMYK, YCbCr, LAB, HSV, RGBX ...
        return img.convert("RGB")
    if img.mode == "RGBA" and img.getchannel("A").getextrema() == (255, 255):
        return img.convert("RGB")  # fully opaque: alpha would only cost encode time and bytes
    return img


def _deep_to_rgb(img: Image.Image) -> Image.Image:
    """16-bit and 32-bit greyscale to 8-bit. A plain convert("L") clips everything above 255 to white."""
    if img.mode.startswith("I;16"):
        scale, offset = 1 / 257, 0.0  # 16-bit samples span 0..65535 by definition
        img = img.convert("I")
    else:
        lo, hi = img.getextrema()
        if img.mode == "I" and 0 <= lo and hi <= 255:
            scale, offset = 1.0, 0.0
        elif img.mode == "I" and 0 <= lo and hi <= 65535:
            scale, offset = 1 / 257, 0.0  # 16-bit data stored widened to 32 bits
        else:
            span = (hi - lo) or 1
            scale, offset = 255 / span, -lo * 255 / span
    return img.point(lambda v: v * scale + offset).convert("L").convert("RGB")


def encode_image(
    img: Image.Image, *, prefer: Literal["webp", "jpeg", "png"] = "webp", quality: int = 80
) -> tuple[bytes, str]:
    """Encode to ``(bytes, mime)``: WebP when possible, else JPEG, or PNG when alpha must be kept.

    Metadata (EXIF, ICC, comments) is not written: results are shown in other people's feeds.
    """
    img = normalise_mode(img)
    has_alpha = img.mode == "RGBA"
    quality = max(1, min(100, quality))
    fmt = prefer
    if fmt == "webp" and (not _HAS_WEBP or max(img.size) > _WEBP_MAX_SIDE):
        fmt = "jpeg"
    if fmt == "jpeg" and has_alpha:
        fmt = "png"  # JPEG has no alpha channel
    buf = io.BytesIO()
    if fmt == "webp":
        img.save(buf, "WEBP", quality=quality, method=WEBP_METHOD)
        return buf.getvalue(), "image/webp"
    if fmt == "png":
        img.save(buf, "PNG", compress_level=6)
        return buf.getvalue(), "image/png"
    img.save(buf, "JPEG", quality=quality, optimize=True, progressive=True)
    return buf.getvalue(), "image/jpeg"
