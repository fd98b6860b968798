"""One user's conversation, kept in Redis so any gateway replica can continue it.

The shipped extension sends at most one history item and no ``type``, so the server is the memory of
the conversation: its turns (bounded), what the last answer waits for (``Pending``), and what to redo
on "Try again". The key expires after a spell of silence; every message renews it.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
import redis.asyncio as aioredis

from gateway.chat.reply import ChatReply, FilterData
from shared.keys import conversation_key

log = logging.getLogger(__name__)

MAX_TURNS = 16  # 8 exchanges: enough context for a model, small enough to send on every call
MAX_TURN_CHARS = 2000


@dataclass
class Turn:
    role: str  # "user" | "assistant"
    content: str
    type: str | None = None
    options: list[str] = field(default_factory=list)
    filter_text: str | None = None


@dataclass
class Choice:
    """One meaning of an ambiguous request, offered as a button."""

    label: str
    filter_text: str
    initial_type: str = "topic"
    context: str | None = None


@dataclass
class Pending:
    """What the last answer asked, so the next message can be read as its answer.

    ``ambiguous``: pick one of ``choices``. ``vague``: describe it better. ``ready``: a filter was
    proposed (a qualifier such as "drawings are fine" refines it). ``duplicate``: ``candidate`` resembles
    existing filter ``filter_id``: update it, keep it, or create a separate one. ``adjust``: how to change
    filter ``filter_id``.
    """

    kind: str
    candidate: FilterData | None = None
    choices: list[Choice] = field(default_factory=list)
    filter_id: int | None = None
    existing_text: str | None = None
    exact: bool = False


@dataclass
class Conversation:
    turns: list[Turn] = field(default_factory=list)
    pending: Pending | None = None
    retry_message: str | None = None  # the message whose answer failed, for "Try again"
    retry_needs_image: bool = False  # it came with a picture, which is never stored
    confirmed: list[str] = field(default_factory=list)  # texts the user chose to create despite a similar filter

    def reset(self) -> None:
        self.turns, self.pending, self.confirmed = [], None, []
        self.retry_message, self.retry_needs_image = None, False

    def add_exchange(self, message: str, reply: ChatReply) -> None:
        self.turns.append(Turn("user", message[:MAX_TURN_CHARS]))
        filter_text = reply.filter_data.filter_text if reply.filter_data else None
        self.turns.append(Turn("assistant", reply.text[:MAX_TURN_CHARS], reply.type, list(reply.options), filter_text))
        del self.turns[:-MAX_TURNS]

    def agrees_with(self, hint: list[Turn]) -> bool:
        """Whether the client's history could come from this conversation (each item is one of its turns)."""
        said = {(t.role, _norm(t.content)) for t in self.turns}
        return all((h.role, _norm(h.content)) in said for h in hint if h.content.strip())

    @classmethod
    def seeded(cls, hint: list[Turn]) -> Conversation:
        """A conversation rebuilt from the client's history alone (ours expired or belongs elsewhere)."""
        return cls(turns=[Turn(h.role, h.content[:MAX_TURN_CHARS], h.type) for h in hint][-MAX_TURNS:])

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: bytes) -> Conversation:
        data = orjson.loads(raw)
        pending = data.get("pending")
        return cls(
            turns=[Turn(**t) for t in data.get("turns", [])],
            pending=_pending(pending) if pending else None,
            retry_message=data.get("retry_message"),
            retry_needs_image=bool(data.get("retry_needs_image")),
            confirmed=list(data.get("confirmed", [])),
        )


def _pending(data: dict[str, Any]) -> Pending:
    candidate = data.get("candidate")
    return Pending(
        kind=data["kind"],
        candidate=FilterData.from_dict(candidate) if candidate else None,
        choices=[Choice(**c) for c in data.get("choices", [])],
        filter_id=data.get("filter_id"),
        existing_text=data.get("existing_text"),
        exact=bool(data.get("exact")),
    )


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


class ConversationStore:
    def __init__(self, client: aioredis.Redis, ttl_seconds: int) -> None:
        self.redis = client
        self.ttl = max(1, ttl_seconds)

    async def load(self, user_id: str) -> Conversation:
        raw = await self.redis.get(conversation_key(user_id))
        if raw is None:
            return Conversation()
        try:
            return Conversation.from_json(raw)
        except (ValueError, KeyError, TypeError) as exc:
            # A record from an older layout is not worth failing a chat over: start afresh.
            log.warning("dropping unreadable chat state of %r: %s", user_id, exc)
            return Conversation()

    async def save(self, user_id: str, conversation: Conversation) -> None:
        await self.redis.set(conversation_key(user_id), conversation.to_json(), ex=self.ttl)
