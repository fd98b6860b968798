"""Which model the chat runs on, from settings."""

from __future__ import annotations

import pytest

from gateway.chat.factory import make_chat_model
from shared.config import ConfigError, load_settings


def test_no_key_means_offline_rules() -> None:
    assert make_chat_model(load_settings({})) is None
    assert make_chat_model(load_settings({"CHAT_PROVIDER": "local", "OPENAI_API_KEY": "k"})) is None


async def test_keys_pick_the_provider_and_its_chat_model() -> None:
    model = make_chat_model(load_settings({"GEMINI_API_KEY": "g", "GEMINI_CHAT_MODEL": "gem-chat"}))
    assert model is not None and model.name == "gemini" and model.model == "gem-chat"
    await model.aclose()
    model = make_chat_model(load_settings({"GEMINI_API_KEY": "g", "OPENAI_API_KEY": "o"}))
    assert model is not None and model.name == "openai" and model.model == "gpt-4o-mini"
    await model.aclose()


@pytest.mark.parametrize("env", [{"CHAT_PROVIDER": "openai"}, {"CHAT_PROVIDER": "gemini"}, {"CHAT_PROVIDER": "x"}])
def test_misconfiguration_is_refused(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        make_chat_model(load_settings(env))
