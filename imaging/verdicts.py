"""Image verdicts cached by content: a popular image is judged once, whoever posts it and wherever.

One Redis hash per image, ``dm:imgverdict:<sha256 of the downloaded bytes>``, one field per filter
(normalised like the result keys, so "Spiders" and "spiders." share an answer). A job whose filter
set is partly cached asks the provider only about the rest. Only vision answers are cached: a
verdict from post text belongs to that post, not to the image.

Jobs for the same picture often run at the same moment (one image, several interventions or
reposts), so the first one takes a short lock (``dm:imgverdict:<hash>:lock``) while it asks, and the
others wait for its answer instead of asking too.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
import redis

from imaging.cloud.vision import Finding, NormBox
from shared.keys import PREFIX, normalise_filters

log = logging.getLogger(__name__)

VERDICT_PREFIX = f"{PREFIX}:imgverdict:"


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def verdict_key(digest: str) -> str:
    return VERDICT_PREFIX + digest


def lock_key(digest: str) -> str:
    return verdict_key(digest) + ":lock"


RELEASE_LOCK = (Path(__file__).parent / "lua" / "release_lock.lua").read_text()
POLL_SECONDS = 0.05


def filter_field(filter_text: str) -> str:
    return normalise_filters([filter_text]) or filter_text


class VerdictCache:
    def __init__(self, client: redis.Redis, ttl: int) -> None:
        self.redis = client
        self.ttl = ttl

    def get(self, digest: str, filters: Sequence[str]) -> dict[str, Finding]:
        """Cached findings for those of ``filters`` that have one. Redis trouble means "nothing cached"."""
        if not filters:
            return {}
        try:
            raw = self.redis.hmget(verdict_key(digest), [filter_field(f) for f in filters])
        except redis.RedisError as exc:
            log.warning("verdict cache read failed: %s", exc)
            return {}
        found: dict[str, Finding] = {}
        for text, value in zip(filters, raw, strict=True):
            finding = _decode(value)
            if finding is not None:
                found[text] = finding
        return found

    def try_lock(self, digest: str, seconds: float) -> str | None:
        """A token if this job may ask the provider about this image now, else None (someone else is)."""
        token = secrets.token_hex(8)
        try:
            taken = self.redis.set(lock_key(digest), token, nx=True, px=max(1, int(seconds * 1000)))
        except redis.RedisError:
            return token  # no cache to coordinate through: just ask
        return token if taken else None

    def unlock(self, digest: str, token: str) -> None:
        try:
            self.redis.eval(RELEASE_LOCK, 1, lock_key(digest), token)
        except redis.RedisError as exc:
            log.warning("verdict lock release failed: %s", exc)

    def wait(self, digest: str, filters: Sequence[str], until: float) -> dict[str, Finding]:
        """Wait (until ``until``, a monotonic time) for the lock holder's answer about ``filters``."""
        while True:
            found = self.get(digest, filters)
            if len(found) == len(filters) or time.monotonic() >= until:
                return found
            try:
                if not self.redis.exists(lock_key(digest)):
                    return self.get(digest, filters)  # the holder finished (or failed): take what it left
            except redis.RedisError:
                return found
            time.sleep(POLL_SECONDS)

    def put(self, digest: str, findings: dict[str, Finding]) -> None:
        if not findings:
            return
        mapping = {
            filter_field(text): orjson.dumps({"present": f.present, "boxes": [list(b) for b in f.boxes]})
            for text, f in findings.items()
        }
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.hset(verdict_key(digest), mapping=mapping)
            pipe.expire(verdict_key(digest), self.ttl)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("verdict cache write failed: %s", exc)


def _decode(value: bytes | None) -> Finding | None:
    if value is None:
        return None
    try:
        doc = orjson.loads(value)
        boxes: tuple[NormBox, ...] = tuple(
            (int(b[0]), int(b[1]), int(b[2]), int(b[3])) for b in doc.get("boxes", [])
        )
        return Finding(bool(doc["present"]), boxes)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, IndexError, AttributeError):
        return None
