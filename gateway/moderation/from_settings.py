"""The moderation provider ``MODERATION_PROVIDER`` selects (``shared.providers.choice``), built from settings."""

from __future__ import annotations

from shared.config import Settings
from shared.moderation.provider import ModerationProvider
from shared.providers.choice import GEMINI, OPENAI, choose_provider

# A provider call must finish well inside the feed's wall-time budget, leaving time to apply the verdicts.
_PROVIDER_SHARE_OF_FEED_BUDGET = 0.75


def make_provider(settings: Settings) -> ModerationProvider:
    """``local`` | ``openai`` | ``gemini`` | ``auto`` (openai if its key is set, else gemini, else local).

    Raises ``ConfigError`` when a cloud provider is asked for explicitly but its key is missing. Cloud SDKs
    and the local matcher are imported only when chosen, so a local-only deployment never loads them.
    """
    choice = choose_provider(
        "MODERATION_PROVIDER",
        settings.moderation_provider,
        openai_key=bool(settings.openai_api_key),
        gemini_key=bool(settings.gemini_api_key),
    )
    timeout = max(1.0, settings.feed_time_budget_seconds * _PROVIDER_SHARE_OF_FEED_BUDGET)
    if choice == OPENAI:
        from gateway.moderation.openai_judge import OpenAIProvider

        return OpenAIProvider(
            settings.openai_api_key,
            settings.openai_model,
            settings.openai_base_url or None,
            timeout=timeout,
            concurrency=settings.provider_concurrency,
        )
    if choice == GEMINI:
        from gateway.moderation.gemini_judge import GeminiProvider

        return GeminiProvider(
            settings.gemini_api_key,
            settings.gemini_model,
            settings.gemini_base_url or None,
            timeout=timeout,
            concurrency=settings.provider_concurrency,
        )
    from shared.moderation.local import LocalMatcher

    return LocalMatcher()
