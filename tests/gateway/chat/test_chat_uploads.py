"""The upload reader in process: files stay in memory, and the picture is re-encoded without metadata."""

from __future__ import annotations

import io
import tempfile
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.requests import Request

from gateway.chat.uploads import check_picture, read_image_form
from gateway.responses import ApiError
from tests.gateway.chat.images import encoded, noisy_png, png


def multipart_request(
    files: Any, data: dict[str, str] | None = None, chunk: int = 64 * 1024, declare_length: bool = True
) -> Request:
    built = httpx.Request("POST", "http://gateway/chat/image", files=files, data=data)
    body = built.read()
    headers = [
        (k.lower().encode(), v.encode())
        for k, v in built.headers.items()
        if declare_length or k.lower() != "content-length"
    ]
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)] or [b""]

    async def receive() -> dict[str, Any]:
        piece = pieces.pop(0)
        return {"type": "http.request", "body": piece, "more_body": bool(pieces)}

    scope = {"type": "http", "method": "POST", "path": "/chat/image", "headers": headers, "query_string": b""}
    request = Request(scope, receive)
    request.state.unread = pieces  # what the reader left unread
    return request


async def test_a_large_upload_never_rolls_over_to_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_disk(self: tempfile.SpooledTemporaryFile) -> None:
        raise AssertionError("the upload was about to be written to a temporary file")

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", no_disk)
    picture = noisy_png((700, 700))  # ~1.5 MB: above Starlette's 1 MiB default spool threshold
    assert len(picture) > 1024 * 1024
    request = multipart_request({"image": ("big.png", picture, "image/png")}, {"message": "this", "history": "[]"})
    form = await read_image_form(request, max_image_bytes=4 * 1024 * 1024)
    assert form.image == picture
    assert form.fields == {"message": "this", "history": "[]"}


@pytest.mark.parametrize("declare_length", [True, False])
async def test_upload_above_the_limit_is_refused(declare_length: bool) -> None:
    # Without Content-Length (chunked), the stream itself is cut off once it passes the limit.
    files = {"image": ("big.png", b"x" * 300_000, "image/png")}
    request = multipart_request(files, chunk=16 * 1024, declare_length=declare_length)
    with pytest.raises(ApiError) as caught:
        await read_image_form(request, max_image_bytes=100_000)
    assert caught.value.status_code == 413
    assert len(request.state.unread) > 5, "refused early, not after reading the whole upload"


async def test_picture_is_reencoded_without_metadata_and_scaled_down() -> None:
    img = Image.new("RGB", (3000, 1000), (10, 200, 10))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    img.save(out, "JPEG", exif=exif)
    picture = await check_picture(out.getvalue(), max_pixels=10_000_000)
    assert picture.mime_type == "image/jpeg"
    with Image.open(io.BytesIO(picture.data)) as seen:
        assert max(seen.size) == 2048
        assert b"SecretCam" not in picture.data


async def test_transparent_picture_stays_png() -> None:
    picture = await check_picture(encoded(Image.new("RGBA", (10, 10), (0, 0, 0, 0)), "PNG"), max_pixels=100)
    assert picture.mime_type == "image/png"
    assert (await check_picture(png(), max_pixels=10_000)).mime_type == "image/jpeg"
