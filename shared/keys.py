"""Redis key and channel names, and the normalisation that makes image keys match the extension.

Every name a process reads or writes in Redis is built here. Per-user names carry the user id in a
``{hash tag}`` so that all of one user's keys land on the same Redis Cluster slot: the event log,
its sequence counter and the pub/sub channel can then be touched by one Lua script, and users can be
sharded across nodes by that tag (see README, "Scaling Redis").
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from shared.urls import browser_url

PREFIX = "dm"


def normalise_filters(filters: Iterable[str]) -> str:
    """The original cache's filter key: lower-case, one trailing '.', sorted, joined by a space.

    ``custom_*`` names are kept verbatim, as the original did. ``["Dogs in distress"]`` becomes
    ``"dogs in distress."``; ``[]`` becomes ``""``.
    """
    parts = []
    for raw in filters:
        text = str(raw).strip()
        if text.startswith("custom_"):
            parts.append(text)
            continue
        text = text.lower().rstrip(".").strip()
        if text:
            parts.append(text + ".")
    return " ".join(sorted(parts))


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\x00")
    return h.hexdigest()[:32]


def wait_id(image_url: str, filters: Iterable[str]) -> str:
    """Identity of "this image under these filters": what clients poll and wait for. The URL is
    keyed in the browser's serialisation (``img.src``), whichever form the caller holds."""
    return _digest(browser_url(image_url), normalise_filters(filters))


def job_id(image_url: str, filters: Iterable[str], intervention: str) -> str:
    """Identity of one unit of work; the same job queued twice runs once."""
    return _digest(browser_url(image_url), normalise_filters(filters), intervention)


# -- image results (hash-tagged by wait id, so one Lua script may touch them all) --------------

def result_key(wait: str) -> str:
    """JSON of the finished result for a wait id (url, base64_url, intervention, ...)."""
    return f"{PREFIX}:w:{{{wait}}}:result"


def failed_key(wait: str) -> str:
    """JSON of a permanent failure for a wait id (kept briefly so pollers learn of it)."""
    return f"{PREFIX}:w:{{{wait}}}:failed"


def waiters_key(wait: str) -> str:
    """Set of user ids waiting for a wait id."""
    return f"{PREFIX}:w:{{{wait}}}:waiters"


def job_key(wait: str, job: str) -> str:
    """Dedupe marker of a queued or running job."""
    return f"{PREFIX}:w:{{{wait}}}:job:{job}"


def pending_key(wait: str) -> str:
    """Marker that a job for a wait id is queued or running (held polls wait only for those)."""
    return f"{PREFIX}:w:{{{wait}}}:pending"


def wait_channel(wait: str) -> str:
    """Pub/sub channel on which finish_job.lua says that a wait id's job ended (done or failed).
    Per wait id, hash-tagged like its keys, so a held poll hears only of its own image."""
    return f"{PREFIX}:w:{{{wait}}}:ended"


def image_blob_key(blob_id: str) -> str:
    """Hash of a processed image (``data``, ``type``), served by the gateway."""
    return f"{PREFIX}:blob:{blob_id}"


# -- per-user names (hash-tagged by user) -------------------------------------------------------

def _user_tag(user_id: str) -> str:
    # Braces inside a user id would break the hash tag; they are replaced, never dropped silently
    # into another user's slot (ids with braces still map to distinct names).
    safe = user_id.replace("{", "%7B").replace("}", "%7D")
    return "{" + safe + "}"


def user_channel(user_id: str) -> str:
    """Pub/sub channel of one user's events."""
    return f"{PREFIX}:u:{_user_tag(user_id)}:ch"


def user_log_key(user_id: str) -> str:
    """Bounded stream of one user's recent events (for replay)."""
    return f"{PREFIX}:u:{_user_tag(user_id)}:log"


def user_seq_key(user_id: str) -> str:
    return f"{PREFIX}:u:{_user_tag(user_id)}:seq"


def user_epoch_key(user_id: str) -> str:
    return f"{PREFIX}:u:{_user_tag(user_id)}:epoch"


def user_delivered_key(user_id: str, dedupe: str) -> str:
    """Marker of a delivery already announced to this user: a redelivered job never notifies twice."""
    return f"{PREFIX}:u:{_user_tag(user_id)}:done:{dedupe}"


def user_filters_key(user_id: str) -> str:
    return f"{PREFIX}:u:{_user_tag(user_id)}:filters"


def user_profile_key(user_id: str) -> str:
    return f"{PREFIX}:u:{_user_tag(user_id)}:profile"


def conversation_key(user_id: str) -> str:
    """JSON of one user's current chat conversation (turns and what the last answer waits for)."""
    return f"{PREFIX}:u:{_user_tag(user_id)}:chat"


def channel_user(channel: str) -> str:
    """Inverse of :func:`user_channel`."""
    inner = channel[len(f"{PREFIX}:u:{{"): -len("}:ch")]
    return inner.replace("%7B", "{").replace("%7D", "}")


FILTER_ID_SEQ = f"{PREFIX}:filters:next_id"
USERS_SET = f"{PREFIX}:users"
CHANNEL_PREFIX = f"{PREFIX}:u:"


def embedding_key(model: str, text: str) -> str:
    """One text's embedding, shared by every user: the same post (or filter description) is embedded once."""
    return f"{PREFIX}:emb:{model}:{_digest(text)}"


def filter_expansion_key(prompt_version: str, normalised_text: str) -> str:
    """A cloud model's expansion of one filter text (JSON), shared by every user with that filter."""
    return f"{PREFIX}:fx:{prompt_version}:{_digest(normalised_text)}"


def filter_expansion_claim_key(prompt_version: str, normalised_text: str) -> str:
    """Marker that one process is expanding this filter text (SET NX), or that it failed recently (a pause)."""
    return f"{PREFIX}:fx:{prompt_version}:{_digest(normalised_text)}:claim"
