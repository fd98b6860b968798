"""imaging.decode: decoding untrusted bytes safely, and encoding results."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageStat

from imaging import decode
from imaging.decode import ImageRejected, decode_image, encode_image

LIMIT = 40_000_000


def _save(img: Image.Image, fmt: str, **kwargs: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kwargs)
    return buf.getvalue()


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _png_header_only(width: int, height: int) -> bytes:
    """A valid PNG *header* for a huge RGB image, with one tiny IDAT: a few hundred bytes in total."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


def _close(a: tuple[int, ...], b: tuple[int, ...], tol: int = 40) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=False))


# --------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF"])
def test_decodes_common_formats(fmt: str, make_photo: Callable[..., Image.Image]) -> None:
    src = make_photo(64, 48)
    img = decode_image(_save(src, fmt), max_pixels=LIMIT)
    assert img.size == (64, 48)
    assert img.mode == "RGB"
    img.getpixel((0, 0))  # fully loaded, usable after the source buffer is gone


def test_format_comes_from_the_data_not_a_name(make_photo: Callable[..., Image.Image]) -> None:
    # There is no filename or Content-Type argument at all: a WebP called "x.png" is still a WebP.
    assert decode_image(_save(make_photo(20, 10), "WEBP"), max_pixels=LIMIT).size == (20, 10)


# Between 1x and 2x its global limit Pillow warns (and we then refuse); the warning is expected here.
@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (70_000, 2_000), (8_000, 8_000)])
def test_decompression_bomb_refused_from_header(width: int, height: int) -> None:
    data = _png_header_only(width, height)
    assert len(data) < 200
    started = time.monotonic()
    with pytest.raises(ImageRejected, match="pixel"):
        decode_image(data, max_pixels=LIMIT)
    assert time.monotonic() - started < 0.5  # nothing was decoded
    assert Image.MAX_IMAGE_PIXELS == 89_478_485  # the global limit was not touched


def test_pixel_limit_is_per_call_and_thread_safe(make_photo: Callable[..., Image.Image]) -> None:
    data = _save(make_photo(100, 100), "PNG")  # 10 000 pixels
    results: dict[int, object] = {}

    def decode(limit: int) -> None:
        for _ in range(20):
            try:
                decode_image(data, max_pixels=limit)
                results[limit] = "ok"
            except ImageRejected:
                results[limit] = "rejected"

    threads = [threading.Thread(target=decode, args=(limit,)) for limit in (5_000, 20_000, 9_999, 10_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {5_000: "rejected", 20_000: "ok", 9_999: "rejected", 10_000: "ok"}


@pytest.mark.parametrize(
    "data",
    [b"", b"hello, this is a text file\n" * 20, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"\x89PNG\r\n\x1a\n"],
)
def test_non_images_refused(data: bytes) -> None:
    with pytest.raises(ImageRejected):
        decode_image(data, max_pixels=LIMIT)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP", "GIF"])
def test_truncated_data_refused(fmt: str, make_photo: Callable[..., Image.Image]) -> None:
    data = _save(make_photo(200, 150), fmt)
    with pytest.raises(ImageRejected):
        decode_image(data[: len(data) // 2], max_pixels=LIMIT)


def test_formats_outside_the_allow_list_refused(make_photo: Callable[..., Image.Image]) -> None:
    # Pillow can read PPM and ICO, but a web image worker has no business parsing them.
    for fmt in ("PPM", "ICO", "TGA"):
        with pytest.raises(ImageRejected):
            decode_image(_save(make_photo(32, 32), fmt), max_pixels=LIMIT)


def test_exif_orientation_applied() -> None:
    stored = Image.new("RGB", (40, 20), (255, 0, 0))
    stored.paste((0, 0, 255), (20, 0, 40, 20))  # stored: left red, right blue
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    img = decode_image(_save(stored, "JPEG", exif=exif, quality=95), max_pixels=LIMIT)
    assert img.size == (20, 40)
    assert _close(img.getpixel((10, 5)), (255, 0, 0))  # the stored left edge is now the top
    assert _close(img.getpixel((10, 35)), (0, 0, 255))


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animated_image_gives_first_frame(fmt: str) -> None:
    frames = [Image.new("RGB", (30, 20), colour) for colour in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    data = _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    img = decode_image(data, max_pixels=LIMIT)
    assert img.size == (30, 20)
    assert _close(img.getpixel((15, 10)), (255, 0, 0))


def test_palette_with_and_without_transparency() -> None:
    opaque = Image.new("P", (8, 8), 3)
    opaque.putpalette([0, 0, 0, 10, 20, 30, 40, 50, 60, 200, 100, 50] + [0] * 756)
    assert decode_image(_save(opaque, "PNG"), max_pixels=LIMIT).mode == "RGB"
    clear = opaque.copy()
    clear.putpixel((0, 0), 1)
    clear.info["transparency"] = 1
    img = decode_image(_save(clear, "PNG", transparency=1), max_pixels=LIMIT)
    assert img.mode == "RGBA"
    assert img.getpixel((0, 0))[3] == 0
    assert img.getpixel((4, 4)) == (200, 100, 50, 255)


def test_cmyk_becomes_rgb() -> None:
    img = decode_image(_save(Image.new("CMYK", (16, 16), (0, 255, 255, 0)), "JPEG"), max_pixels=LIMIT)
    assert img.mode == "RGB"
    assert _close(img.getpixel((8, 8)), (255, 0, 0))


def test_la_becomes_rgba() -> None:
    src = Image.new("LA", (10, 10), (128, 255))
    src.putpixel((0, 0), (50, 0))
    img = decode_image(_save(src, "PNG"), max_pixels=LIMIT)
    assert img.mode == "RGBA"
    assert img.getpixel((5, 5)) == (128, 128, 128, 255)
    assert img.getpixel((0, 0))[3] == 0


def test_opaque_alpha_is_dropped() -> None:
    img = decode_image(_save(Image.new("RGBA", (10, 10), (1, 2, 3, 255)), "PNG"), max_pixels=LIMIT)
    assert img.mode == "RGB"


def test_sixteen_bit_grey_is_scaled_not_clipped() -> None:
    src = Image.new("I;16", (4, 1))
    for x, value in enumerate((0, 16_384, 32_768, 65_535)):
        src.putpixel((x, 0), value)
    img = decode_image(_save(src, "PNG"), max_pixels=LIMIT)
    assert img.mode == "RGB"
    assert [img.getpixel((x, 0))[0] for x in range(4)] == pytest.approx([0, 64, 128, 255], abs=1)


def test_one_bit_and_grey_become_rgb() -> None:
    for mode in ("1", "L"):
        img = decode_image(_save(Image.new(mode, (9, 9), 1 if mode == "1" else 77), "PNG"), max_pixels=LIMIT)
        assert img.mode == "RGB"


# --------------------------------------------------------------------------- encoding


def test_encode_webp_round_trip(make_photo: Callable[..., Image.Image]) -> None:
    src = make_photo(120, 80)
    data, mime = encode_image(src)
    assert mime == "image/webp"
    back = decode_image(data, max_pixels=LIMIT)
    assert back.size == src.size
    diff = ImageStat.Stat(ImageChops.difference(back, src)).mean
    assert max(diff) < 12  # lossy, but the same picture


def test_encode_keeps_alpha(make_photo: Callable[..., Image.Image]) -> None:
    src = make_photo(60, 40).convert("RGBA")
    src.putpixel((0, 0), (0, 0, 0, 0))
    for prefer in ("webp", "jpeg", "png"):
        data, mime = encode_image(src, prefer=prefer)  # type: ignore[arg-type]
        assert mime in ("image/webp", "image/png")  # JPEG cannot carry alpha
        back = decode_image(data, max_pixels=LIMIT)
        assert back.mode == "RGBA"
        assert back.getpixel((0, 0))[3] == 0


def test_encode_jpeg_and_webp_fallback(make_photo: Callable[..., Image.Image], monkeypatch: pytest.MonkeyPatch) -> None:
    src = make_photo(50, 50)
    data, mime = encode_image(src, prefer="jpeg", quality=70)
    assert mime == "image/jpeg" and data[:2] == b"\xff\xd8"
    monkeypatch.setattr(decode, "_HAS_WEBP", False)
    data, mime = encode_image(src)
    assert mime == "image/jpeg"
    assert decode_image(data, max_pixels=LIMIT).size == (50, 50)


def test_encode_strips_metadata() -> None:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    src = decode_image(_save(Image.new("RGB", (8, 8)), "JPEG", exif=exif), max_pixels=LIMIT)
    for prefer in ("webp", "jpeg"):
        data, _ = encode_image(src, prefer=prefer)  # type: ignore[arg-type]
        assert b"SecretCam" not in data
