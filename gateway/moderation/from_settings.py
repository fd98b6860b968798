"""Picks the moderation provider from settings, in one place, so every caller gets the same one."""

from __future__ import annotations

from shared.config import ConfigError, Settings
from shared.moderation.provider import ModerationProvider

# A provider call must finish well inside the feed's wall-time budget, leaving time to apply the verdicts.
_PROVIDER_SHARE_OF_FEED_BUDGET = 0.75


def make_provider(settings: Settings) -> ModerationProvider:
    """``local`` | ``openai`` | ``gemini`` | ``auto`` (openai if its key is set, else gemini, else local).

    Raises ``ConfigError`` when a cloud provider is asked for explicitly but its key is missing. Cloud SDKs
    and the local matcher are imported only when chosen, so a local-only deployment never loads them.
    """
    choice = settings.moderation_provider
    if choice == "auto":
        choice = "openai" if settings.openai_api_key else "gemini" if settings.gemini_api_key else "local"
    timeout = max(1.0, settings.feed_time_budget_seconds * _PROVIDER_SHARE_OF_FEED_BUDGET)
    if choice == "openai":
        if not settings.openai_api_key:
            raise ConfigError("MODERATION_PROVIDER=openai but OPENAI_API_KEY is not set")
        from gateway.moderation.openai_judge import OpenAIProvider

        return OpenAIProvider(
            settings.openai_api_key,
            settings.openai_model,
            settings.openai_base_url or None,
            timeout=timeout,
            concurrency=settings.provider_concurrency,
        )
    if choice == "gemini":
        if not settings.gemini_api_key:
            raise ConfigError("MODERATION_PROVIDER=gemini but GEMINI_API_KEY is not set")
        from gateway.moderation.gemini_judge import GeminiProvider

        return GeminiProvider(
            settings.gemini_api_key,
            settings.gemini_model,
            settings.gemini_base_url or None,
            timeout=timeout,
            concurrency=settings.provider_concurrency,
        )
    if choice == "local":
        from shared.moderation.local import LocalMatcher

        return LocalMatcher()
    raise ConfigError(f"MODERATION_PROVIDER {settings.moderation_provider!r} is not known")
