"""Users' filters, kept in Redis so every gateway replica sees the same data.

One hash per user (``filter id -> JSON``); ids come from one global counter so they stay
integers, as the extension uses them in URL paths.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import orjson
import redis.asyncio as aioredis

from shared import keys
from shared.models import Filter, utcnow

DURATIONS: dict[str, timedelta | None] = {
    "permanent": None,
    "day": timedelta(days=1),
    "week": timedelta(days=7),
    "month": timedelta(days=30),
}


def expiry_for(duration: str, now: datetime | None = None) -> tuple[bool, str | None]:
    """(is_temporary, expires_at) for a duration name."""
    delta = DURATIONS[duration]
    if delta is None:
        return False, None
    return True, ((now or utcnow()) + delta).isoformat()


class FilterStore:
    def __init__(self, client: aioredis.Redis) -> None:
        self.redis = client

    async def touch_user(self, user_id: str) -> None:
        """Create the user on first sight and record activity."""
        now = utcnow().isoformat()
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(keys.USERS_SET, user_id)
        pipe.hsetnx(keys.user_profile_key(user_id), "created_at", now)
        pipe.hset(keys.user_profile_key(user_id), "last_active", now)
        await pipe.execute()

    async def list_active(self, user_id: str) -> list[Filter]:
        raw = await self.redis.hgetall(keys.user_filters_key(user_id))
        now = utcnow()
        filters = [Filter.from_dict(orjson.loads(v)) for v in raw.values()]
        return sorted((f for f in filters if f.is_active(now)), key=lambda f: f.id)

    async def get(self, user_id: str, filter_id: int) -> Filter | None:
        raw = await self.redis.hget(keys.user_filters_key(user_id), str(filter_id))
        if raw is None:
            return None
        found = Filter.from_dict(orjson.loads(raw))
        return found if found.is_active() else None

    async def create(self, user_id: str, fields: dict[str, Any]) -> Filter:
        new_id = int(await self.redis.incr(keys.FILTER_ID_SEQ))
        item = Filter(id=new_id, created_at=utcnow().isoformat(), **fields)
        await self.redis.hset(keys.user_filters_key(user_id), str(new_id), orjson.dumps(item.to_api()))
        return item

    async def save(self, user_id: str, item: Filter) -> None:
        await self.redis.hset(keys.user_filters_key(user_id), str(item.id), orjson.dumps(item.to_api()))

    async def delete(self, user_id: str, filter_id: int) -> bool:
        return bool(await self.redis.hdel(keys.user_filters_key(user_id), str(filter_id)))

    async def set_email(self, user_id: str, email: str | None) -> dict[str, Any]:
        await self.touch_user(user_id)
        if email is not None:
            await self.redis.hset(keys.user_profile_key(user_id), "email", email)
        stored = await self.redis.hget(keys.user_profile_key(user_id), "email")
        return {"id": user_id, "email": stored.decode() if stored else None}
