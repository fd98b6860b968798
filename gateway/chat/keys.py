"""Redis names owned by the chat. Same ``dm:`` prefix and per-user ``{hash tag}`` as ``shared.keys``, so a
user's conversation lands on the same Redis Cluster slot as the rest of that user's keys."""

from __future__ import annotations

from shared.keys import PREFIX


def _user_tag(user_id: str) -> str:
    # The same escaping as shared.keys: braces would break the hash tag.
    return "{" + user_id.replace("{", "%7B").replace("}", "%7D") + "}"


def conversation_key(user_id: str) -> str:
    """JSON of one user's current chat conversation (turns and what the last answer waits for)."""
    return f"{PREFIX}:u:{_user_tag(user_id)}:chat"
