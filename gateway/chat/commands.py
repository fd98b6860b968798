"""Messages that steer the conversation rather than describe a filter: the extension's buttons and their
typed equivalents ("Start over", "Try again", ...), and answers to "update, keep or create a separate one?"."""

from __future__ import annotations

import enum
import re

from gateway.chat.reply import START_OVER, TRY_AGAIN

DESCRIBE_IN_WORDS = "Describe it in words"
UPDATE_EXISTING = "Update the existing filter"
CHANGE_EXISTING = "Change the existing filter"
KEEP_EXISTING = "Keep the existing filter"
CREATE_SEPARATE = "Create a separate filter"


class Command(enum.Enum):
    START_OVER = "start_over"
    TRY_AGAIN = "try_again"
    DESCRIBE = "describe"
    NEW_FILTER = "new_filter"


class Decision(enum.Enum):
    UPDATE = "update"
    KEEP = "keep"
    SEPARATE = "separate"


_COMMANDS: dict[str, Command] = {
    **dict.fromkeys(
        [
            "start over",
            "restart",
            "reset",
            "start again",
            "begin again",
            "new conversation",
            "cancel",
            "never mind",
            "nevermind",
            "clear",
        ],
        Command.START_OVER,
    ),
    **dict.fromkeys(["try again", "retry", "again", "try that again", "please try again"], Command.TRY_AGAIN),
    **dict.fromkeys(
        ["describe it in words", "describe in words", "i'll describe it", "let me describe it"], Command.DESCRIBE
    ),
}
_NEW_FILTER = re.compile(
    r"^(?:hi|hello|hey)?\s*(?:i (?:want|would like|'d like) to |let's |let me |can i |help me |please )?"
    r"(?:create|make|add|set up|setup|start|build|new)(?: a| an| another| one more| my)?(?: new)? filter\s*$"
    r"|^(?:hi|hello|hey|help)$"
)
_UPDATE = re.compile(r"\b(?:update|change|adjust|edit|modify|replace|yes|yeah|sure)\b")
_KEEP = re.compile(r"\b(?:keep|leave|no|nope|fine as is|as it is)\b")
_SEPARATE = re.compile(r"\b(?:separate|new one|anyway|both|another|create|add)\b")


def normalise(message: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s']", " ", message.casefold())).strip()


def command_of(message: str) -> Command | None:
    text = normalise(message)
    if text in _COMMANDS:
        return _COMMANDS[text]
    return Command.NEW_FILTER if _NEW_FILTER.match(text) else None


def decision_of(message: str) -> Decision | None:
    """The answer to "update the existing filter, keep it, or create a separate one?", if it is one."""
    text = normalise(message)
    exact = {
        normalise(UPDATE_EXISTING): Decision.UPDATE,
        normalise(CHANGE_EXISTING): Decision.UPDATE,
        normalise(KEEP_EXISTING): Decision.KEEP,
        normalise(CREATE_SEPARATE): Decision.SEPARATE,
    }
    if text in exact:
        return exact[text]
    if len(text.split()) > 6:
        return None  # a longer message is a new description, not a button
    found = [
        d
        for d, pattern in ((Decision.SEPARATE, _SEPARATE), (Decision.UPDATE, _UPDATE), (Decision.KEEP, _KEEP))
        if pattern.search(text)
    ]
    return found[0] if len(found) == 1 else None


__all__ = [
    "CHANGE_EXISTING",
    "CREATE_SEPARATE",
    "DESCRIBE_IN_WORDS",
    "KEEP_EXISTING",
    "START_OVER",
    "TRY_AGAIN",
    "UPDATE_EXISTING",
    "Command",
    "Decision",
    "command_of",
    "decision_of",
    "normalise",
]
