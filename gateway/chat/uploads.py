"""The /chat/image form, read in memory with bounds, and the picture checked by decoding it.

Starlette's multipart parser spools files to a ``SpooledTemporaryFile`` that moves to disk above
``spool_max_size`` (1 MiB by default) and puts no bound on a file's size. Here the request stream is cut
off above the limit (413) and the spool threshold sits above that limit, so an accepted upload never
leaves memory. The picture is then decoded with Pillow (type from its bytes, not its name or header),
bounded in pixels, and re-encoded: that drops metadata such as GPS positions before it goes to a model.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from gateway.chat.chat_prompt import Picture
from gateway.inputs import timed_stream
from gateway.responses import ApiError

FORM_OVERHEAD_BYTES = 64 * 1024  # boundaries, part headers, message, history
MAX_FIELD_BYTES = 32 * 1024  # one text field (message or history JSON)
MAX_FIELDS = 8  # message, history, user_id, and a little slack for clients that add one
MAX_SIDE = 2048  # larger pictures are scaled down: models see no more detail, and it saves tokens
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


@dataclass
class ImageForm:
    image: bytes
    fields: dict[str, str]


async def _bounded(stream: AsyncIterator[bytes], limit: int) -> AsyncGenerator[bytes, None]:
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"upload larger than {limit} bytes")
        yield chunk


async def read_image_form(request: Request, max_image_bytes: int) -> ImageForm:
    """The uploaded ``image`` (bytes) and the text fields; 4xx for anything else."""
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        raise ApiError(400, "send the picture as multipart/form-data with an 'image' file field")
    limit = max_image_bytes + FORM_OVERHEAD_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"upload larger than {limit} bytes")
    parser = MultiPartParser(
        request.headers,
        _bounded(timed_stream(request.stream()), limit),
        max_files=1,
        max_fields=MAX_FIELDS,
        max_part_size=MAX_FIELD_BYTES,
    )
    parser.spool_max_size = limit + 1  # above the stream bound: the spooled file never rolls over to disk
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, exc.message) from exc
    try:
        upload = form.get("image")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "image (a file) is required")
        data = await upload.read()
        fields = {name: value for name, value in form.multi_items() if isinstance(value, str)}
    finally:
        await form.close()
    if not data:
        raise ApiError(422, "image is empty")
    if len(data) > max_image_bytes:
        raise ApiError(413, f"image larger than {max_image_bytes} bytes")
    return ImageForm(data, fields)


async def check_picture(data: bytes, max_pixels: int) -> Picture:
    """Decode (off the event loop) and re-encode the picture; 422 when it is not one we can use."""
    return await asyncio.to_thread(_check_picture, data, max_pixels)


def _check_picture(data: bytes, max_pixels: int) -> Picture:
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format not in FORMATS:
                raise ApiError(422, f"unsupported image type {img.format}; send JPEG, PNG, GIF or WebP")
            width, height = img.size
            if width * height > max_pixels:
                raise ApiError(422, f"image has {width}x{height} pixels, more than the {max_pixels} allowed")
            img.load()  # decodes every byte of the (first) frame: truncated or corrupt files fail here
            return _reencode(img)
    except UnidentifiedImageError as exc:
        raise ApiError(422, "image is not a picture in a known format") from exc
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as exc:
        raise ApiError(422, f"image could not be decoded: {exc}") from exc


def _reencode(img: Image.Image) -> Picture:
    frame = ImageOps.exif_transpose(img) or img
    frame.thumbnail((MAX_SIDE, MAX_SIDE))
    has_alpha = frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info)
    out = io.BytesIO()
    if has_alpha:
        frame.convert("RGBA").save(out, "PNG", optimize=True)
        return Picture(out.getvalue(), "image/png")
    frame.convert("RGB").save(out, "JPEG", quality=90)
    return Picture(out.getvalue(), "image/jpeg")
