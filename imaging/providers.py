"""The cloud image providers this worker may use, built once from settings.

A provider exists only when its key is set. Each bounds its calls per process to
``CLOUD_CONCURRENCY`` edits plus ``CLOUD_CONCURRENCY`` vision calls (two ``Gate``s), so one slow
provider ties up at most that many threads, and slow edits never delay the judging of local jobs.
``vision`` is whichever provider ``IMAGE_VISION_PROVIDER`` selects, or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from imaging.cloud.gemini_images import GeminiImages
from imaging.cloud.openai_images import OpenAIImages
from shared.config import Settings
from shared.providers.choice import GEMINI, OPENAI, choose_provider
from shared.providers.retry import RetryPolicy


class VisionClient(Protocol):
    name: str

    def judge(self, image: bytes, mime: str, filters: list[str], *, deadline: float) -> str: ...


@dataclass
class Providers:
    openai: OpenAIImages | None = None
    gemini: GeminiImages | None = None
    vision: VisionClient | None = None

    def close(self) -> None:
        for client in (self.openai, self.gemini):
            if client is not None:
                client.close()


def vision_choice(settings: Settings) -> str:
    """``openai``, ``gemini`` or ``none``: which provider answers the vision question."""
    return choose_provider(
        "IMAGE_VISION_PROVIDER",
        settings.image_vision_provider,
        openai_key=bool(settings.openai_api_key),
        gemini_key=bool(settings.gemini_api_key),
        offline="none",
        prefer=(GEMINI, OPENAI),  # Gemini first: it is trained to give boxes, which the region interventions use
    )


def build_providers(settings: Settings) -> Providers:
    policy = RetryPolicy(max_retries=settings.cloud_max_retries, backoff_base=settings.cloud_backoff_seconds)
    found = Providers()
    if settings.openai_api_key:
        found.openai = OpenAIImages(
            settings.openai_api_key,
            base_url=settings.openai_base_url,
            image_model=settings.openai_image_model,
            vision_model=settings.openai_vision_model,
            concurrency=settings.cloud_concurrency,
            policy=policy,
            request_timeout=settings.cloud_timeout_seconds,
        )
    if settings.gemini_api_key:
        found.gemini = GeminiImages(
            settings.gemini_api_key,
            base_url=settings.gemini_base_url,
            image_model=settings.gemini_image_model,
            vision_model=settings.gemini_vision_model,
            concurrency=settings.cloud_concurrency,
            policy=policy,
            request_timeout=settings.cloud_timeout_seconds,
        )
    choice = vision_choice(settings)
    if choice != "none":
        found.vision = getattr(found, choice)  # built above: choose_provider only names a provider whose key is set
    return found
