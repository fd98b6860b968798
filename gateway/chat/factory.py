"""Picks the chat model from settings: the same keys and base URLs as the moderation, its own model names."""

from __future__ import annotations

import logging

import redis.asyncio as aioredis

from gateway.chat.conversation import ChatEngine
from gateway.chat.provider import ChatModel
from gateway.chat.state import ConversationStore
from gateway.filter_store import FilterStore
from shared.config import Settings
from shared.providers.choice import GEMINI, OPENAI, choose_provider

log = logging.getLogger(__name__)

def make_chat_model(settings: Settings) -> ChatModel | None:
    """The configured cloud model, or None for the offline rules. ConfigError for a named provider without key.

    SDK modules are imported only when chosen, as the moderation factory does.
    """
    choice = choose_provider(
        "CHAT_PROVIDER",
        settings.chat_provider,
        openai_key=bool(settings.openai_api_key),
        gemini_key=bool(settings.gemini_api_key),
    )
    if choice == OPENAI:
        from gateway.chat.openai_chat import OpenAIChat

        return OpenAIChat(
            settings.openai_api_key,
            settings.openai_chat_model,
            settings.openai_base_url or None,
            timeout=settings.chat_timeout_seconds,
        )
    if choice == GEMINI:
        from gateway.chat.gemini_chat import GeminiChat

        return GeminiChat(
            settings.gemini_api_key,
            settings.gemini_chat_model,
            settings.gemini_base_url or None,
            timeout=settings.chat_timeout_seconds,
        )
    return None


def make_chat_engine(client: aioredis.Redis, filters: FilterStore, settings: Settings) -> ChatEngine:
    """The engine the routes use: conversations in Redis, the user's filters, and the configured model."""
    model = make_chat_model(settings)
    log.info("chat model: %s", model.name if model is not None else "offline rules")
    return ChatEngine(ConversationStore(client, settings.chat_state_ttl_seconds), filters, model)
