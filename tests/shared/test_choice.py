"""Which provider a setting selects (shared.providers.choice): the one rule moderation, chat and vision use."""

from __future__ import annotations

import pytest

from shared.config import ConfigError
from shared.providers.choice import choose_provider


@pytest.mark.parametrize(
    ("value", "openai_key", "gemini_key", "expected"),
    [
        ("auto", True, True, "openai"),
        ("auto", False, True, "gemini"),
        ("auto", False, False, "local"),
        ("openai", True, False, "openai"),
        ("gemini", True, True, "gemini"),
        ("local", True, True, "local"),
        (" Gemini ", False, True, "gemini"),
    ],
)
def test_auto_prefers_openai_and_named_providers_are_taken(
    value: str, openai_key: bool, gemini_key: bool, expected: str
) -> None:
    assert choose_provider("X", value, openai_key=openai_key, gemini_key=gemini_key) == expected


def test_preference_order_and_offline_name_are_the_callers() -> None:
    vision = {"offline": "none", "prefer": ("gemini", "openai")}
    assert choose_provider("V", "auto", openai_key=True, gemini_key=True, **vision) == "gemini"
    assert choose_provider("V", "auto", openai_key=True, gemini_key=False, **vision) == "openai"
    assert choose_provider("V", "auto", openai_key=False, gemini_key=False, **vision) == "none"
    assert choose_provider("V", "none", openai_key=True, gemini_key=True, **vision) == "none"
    with pytest.raises(ConfigError, match="'local'"):
        choose_provider("V", "local", openai_key=True, gemini_key=True, **vision)


@pytest.mark.parametrize(
    ("value", "openai_key", "gemini_key", "message"),
    [
        ("openai", False, True, "CHAT_PROVIDER=openai but OPENAI_API_KEY is not set"),
        ("gemini", True, False, "CHAT_PROVIDER=gemini but GEMINI_API_KEY is not set"),
        ("oracle", True, True, "CHAT_PROVIDER 'oracle' is not one of auto, local, openai, gemini"),
    ],
)
def test_misconfiguration_names_the_setting(value: str, openai_key: bool, gemini_key: bool, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        choose_provider("CHAT_PROVIDER", value, openai_key=openai_key, gemini_key=gemini_key)
    assert str(raised.value) == message
