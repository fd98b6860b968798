"""Where processed images live, and the stable URL under which the gateway serves them.

Images are content-addressed (sha256 of the bytes), so the same output stored twice is one blob
and its URL can be cached forever by browsers.
"""

from __future__ import annotations

import hashlib

import redis
import redis.asyncio as aioredis

from shared import keys

BLOB_ID_LEN = 40
MIME_EXT = {"image/webp": "webp", "image/jpeg": "jpg", "image/png": "png", "image/gif": "gif"}


def blob_id_for(data: bytes, mime: str) -> str:
    return hashlib.sha256(data).hexdigest()[:BLOB_ID_LEN] + "." + MIME_EXT.get(mime, "bin")


def public_url(base_url: str, blob_id: str) -> str:
    return f"{base_url.rstrip('/')}/images/{blob_id}"


def valid_blob_id(blob_id: str) -> bool:
    stem, _, ext = blob_id.partition(".")
    return (
        len(stem) == BLOB_ID_LEN
        and all(c in "0123456789abcdef" for c in stem)
        and ext in MIME_EXT.values()
    )


def put_blob(client: redis.Redis, data: bytes, mime: str, ttl: int) -> str:
    blob_id = blob_id_for(data, mime)
    key = keys.image_blob_key(blob_id)
    pipe = client.pipeline(transaction=True)
    pipe.hset(key, mapping={"data": data, "type": mime})
    pipe.expire(key, ttl)
    pipe.execute()
    return blob_id


async def get_blob(client: aioredis.Redis, blob_id: str) -> tuple[bytes, str] | None:
    data, mime = await client.hmget(keys.image_blob_key(blob_id), ["data", "type"])
    if data is None or mime is None:
        return None
    return bytes(data), mime.decode()
