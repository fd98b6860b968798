"""Which cloud provider a setting selects, given which API keys are set: one rule for every caller.

The moderation, the chat and the imaging worker's vision question each have their own setting
(``MODERATION_PROVIDER``, ``CHAT_PROVIDER``, ``IMAGE_VISION_PROVIDER``) and map the answer to their
own client class; how ``auto`` resolves and what a misconfiguration is, is decided here.
"""

from __future__ import annotations

from collections.abc import Sequence

from shared.config import ConfigError

OPENAI = "openai"
GEMINI = "gemini"
CLOUD = (OPENAI, GEMINI)


def choose_provider(
    setting: str,
    value: str,
    *,
    openai_key: bool,
    gemini_key: bool,
    offline: str = "local",
    prefer: Sequence[str] = CLOUD,
) -> str:
    """``openai``, ``gemini`` or ``offline`` (the caller's name for "no cloud model").

    ``auto`` is the first provider in ``prefer`` whose key is set, else ``offline``. A provider named
    explicitly without its key, or a value that is none of these, is a ``ConfigError`` naming ``setting``.
    """
    choice = value.strip().lower()
    allowed = ("auto", offline, *CLOUD)
    if choice not in allowed:
        raise ConfigError(f"{setting} {value!r} is not one of {', '.join(allowed)}")
    has_key = {OPENAI: openai_key, GEMINI: gemini_key}
    if choice == "auto":
        return next((name for name in prefer if has_key[name]), offline)
    if choice != offline and not has_key[choice]:
        raise ConfigError(f"{setting}={choice} but {choice.upper()}_API_KEY is not set")
    return choice
