"""The image-result protocol over Redis, shared by gateway, notifier and worker.

A *wait id* names "this image under these filters" (what clients poll and wait for); a *job id*
adds the intervention (what a worker does). The Lua scripts in ``lua/`` make each step atomic:

1. ``register_wait``: a client (feed, direct job, socket wait) becomes a waiter; the first one for
   a job also claims it and must enqueue it. If the result exists, it is returned instead; if a job
   for the wait id failed within the failure TTL, that failure is returned and nothing is claimed.
2. ``finish_job``: the worker stores the result (or failure), reads the waiters and says on the
   wait id's channel that the job ended (what held polls wait for; they may not know the user).
3. ``publish_event``: per waiter, append to the user's log and publish, once per job.
4. ``release_waiters``: forget the notified waiters.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
import redis
import redis.asyncio as aioredis

from shared import keys
from shared.events import ImageResult
from shared.urls import browser_url

_LUA_DIR = Path(__file__).parent / "lua"


def lua(name: str) -> str:
    return (_LUA_DIR / f"{name}.lua").read_text()


REGISTER_WAIT = lua("register_wait")
PUBLISH_EVENT = lua("publish_event")
FINISH_JOB = lua("finish_job")
RELEASE_WAITERS = lua("release_waiters")

DEDUPE_TTL_SECONDS = 24 * 3600
LOG_TTL_SECONDS = 24 * 3600
LOG_HARD_CAP = 20_000  # never more than this many events per user, whatever their age

# What finish_job.lua publishes on keys.wait_channel(): the outcome's kind, nothing else (the
# outcome itself stays in its key; a listener reads it from there).
ENDED_DONE = "done"
ENDED_FAILED = "failed"

# The ``kind`` of a failure record (what finish_job.lua stores under keys.failed_key()): it decides
# how long the record keeps new jobs for the same image and filters from being queued.
FAILURE_PERMANENT = "permanent"
FAILURE_TRANSIENT = "transient"


@dataclass(frozen=True)
class ImageJob:
    """Everything a worker needs; travels as the Dramatiq message argument."""

    image_url: str
    filters: tuple[str, ...]
    intervention: str
    filter_text: str = ""
    intensity: int = 3
    options: tuple[tuple[str, Any], ...] = ()
    context_text: str = ""  # post text and alt text, for judging without a vision provider

    def __post_init__(self) -> None:
        # The browser's serialisation: what the worker fetches, and what results and events carry
        # back, so a socket's image_processed matches the page's img.src.
        object.__setattr__(self, "image_url", browser_url(self.image_url))

    @property
    def wait_id(self) -> str:
        return keys.wait_id(self.image_url, self.filters)

    @property
    def job_id(self) -> str:
        return keys.job_id(self.image_url, self.filters, self.intervention)

    def to_message(self) -> dict[str, Any]:
        return {
            "image_url": self.image_url,
            "filters": list(self.filters),
            "intervention": self.intervention,
            "filter_text": self.filter_text,
            "intensity": self.intensity,
            "options": dict(self.options),
            "context_text": self.context_text,
        }

    @classmethod
    def from_message(cls, data: dict[str, Any]) -> ImageJob:
        return cls(
            image_url=str(data["image_url"]),
            filters=tuple(str(f) for f in data.get("filters", [])),
            intervention=str(data["intervention"]),
            filter_text=str(data.get("filter_text", "")),
            intensity=int(data.get("intensity", 3)),
            options=tuple(sorted(dict(data.get("options") or {}).items())),
            context_text=str(data.get("context_text", "")),
        )


WaitState = Literal["done", "queued", "pending", "failed"]


@dataclass(frozen=True)
class WaitOutcome:
    """What ``register_wait`` answered: ``done`` (with the result), ``queued`` (this caller claimed the
    job and must enqueue it), ``pending`` (someone else has it, or the caller only waits) or
    ``failed`` (with the failure record: a job failed lately, none was claimed)."""

    state: WaitState
    result: ImageResult | None = None
    failure: dict[str, Any] | None = None


def _register_call(wait: str, user_id: str, ttl: int, job: str | None) -> tuple[list[str], list[str]]:
    job_marker = keys.job_key(wait, job) if job else keys.job_key(wait, "none")
    return (
        [keys.result_key(wait), keys.waiters_key(wait), job_marker, keys.pending_key(wait), keys.failed_key(wait)],
        [user_id, str(ttl), "1", "1" if job else "0"],
    )


def _wait_outcome(reply: list[Any]) -> WaitOutcome:
    state = reply[0].decode() if isinstance(reply[0], bytes) else str(reply[0])
    if state == "done":
        return WaitOutcome("done", orjson.loads(reply[1]))
    if state == "queued":
        return WaitOutcome("queued")
    if state == "pending":
        return WaitOutcome("pending")
    if state == "failed":
        return WaitOutcome("failed", failure=orjson.loads(reply[1]))
    raise ValueError(f"register_wait answered {state!r}")


class WaitRegistry:
    """``register_wait.lua`` on a synchronous client (the worker)."""

    def __init__(self, client: redis.Redis) -> None:
        self._script = client.register_script(REGISTER_WAIT)

    def register(self, wait: str, user_id: str, ttl: int, job: str | None = None) -> WaitOutcome:
        """Make ``user_id`` ("" for nobody) a waiter on ``wait`` for ``ttl`` seconds; with ``job``, also
        claim that job."""
        keys_, args = _register_call(wait, user_id, ttl, job)
        return _wait_outcome(self._script(keys=keys_, args=args))


class AsyncWaitRegistry:
    """``register_wait.lua`` on an asyncio client (gateway and notifier); same arguments as ``WaitRegistry``."""

    def __init__(self, client: aioredis.Redis) -> None:
        self._script = client.register_script(REGISTER_WAIT)

    async def register(self, wait: str, user_id: str, ttl: int, job: str | None = None) -> WaitOutcome:
        keys_, args = _register_call(wait, user_id, ttl, job)
        return _wait_outcome(await self._script(keys=keys_, args=args))


def finish_args(
    wait: str, job: str, outcome_json: bytes, ttl: int, *, failed: bool = False, sharded: bool = False
) -> tuple[list[str], list[str | bytes]]:
    """Arguments of finish_job.lua: the result (or failure) of ``job`` for ``wait``. ``sharded``:
    say that it ended with SPUBLISH (Redis Cluster)."""
    outcome_key = keys.failed_key(wait) if failed else keys.result_key(wait)
    return (
        [outcome_key, keys.waiters_key(wait), keys.job_key(wait, job), keys.pending_key(wait)],
        [outcome_json, str(ttl), keys.wait_channel(wait), ENDED_FAILED if failed else ENDED_DONE,
         "SPUBLISH" if sharded else "PUBLISH"],
    )


def publish_args(
    user_id: str, dedupe: str, event_json: str, log_len: int, log_seconds: int = 600, *, sharded: bool = False
) -> tuple[list[str], list[str]]:
    """Arguments of publish_event.lua. ``dedupe`` names one delivery of one job (the Dramatiq
    message id survives redelivery and retries), so the user hears of it once. ``sharded``: publish
    with SPUBLISH (Redis Cluster), so the event goes to its slot's node only."""
    return (
        [
            keys.user_log_key(user_id),
            keys.user_seq_key(user_id),
            keys.user_epoch_key(user_id),
            keys.user_delivered_key(user_id, dedupe),
        ],
        [
            keys.user_channel(user_id),
            event_json,
            str(log_len),
            str(DEDUPE_TTL_SECONDS),
            secrets.token_hex(6),
            str(LOG_TTL_SECONDS),
            str(log_seconds * 1000),
            str(LOG_HARD_CAP),
            "SPUBLISH" if sharded else "PUBLISH",
        ],
    )


def decode_result(raw: bytes | str | None) -> ImageResult | None:
    if raw is None:
        return None
    value = orjson.loads(raw)
    return value if isinstance(value, dict) else None
