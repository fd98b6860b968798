"""The cloud client bases are abstract: a subclass that forgets a hook fails when it is constructed,
not at its first request (and the bases themselves are never constructed)."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.chat.gemini_chat import GeminiChat
from gateway.chat.openai_chat import OpenAIChat
from gateway.chat.provider import CloudChat
from gateway.moderation.cloud_judge import CloudJudge
from gateway.moderation.expansion_clients import GeminiExpander, OpenAIExpander
from gateway.moderation.filter_expansion import FilterExpander
from gateway.moderation.gemini_judge import GeminiProvider
from gateway.moderation.openai_judge import OpenAIProvider
from imaging.cloud.calls import GatedClient
from imaging.cloud.gemini_images import GeminiImages
from imaging.cloud.openai_images import OpenAIImages
from shared.providers.retry import RetryPolicy

BASES: dict[type, tuple[set[str], dict[str, Any]]] = {
    CloudJudge: ({"_connect", "_complete", "aclose"}, {"api_key": "k"}),
    CloudChat: ({"_connect", "answer", "aclose"}, {"api_key": "k", "model": "m"}),
    FilterExpander: ({"_connect", "_attempt", "aclose"}, {"api_key": "k", "model": "m"}),
    GatedClient: ({"_connect"}, {"api_key": "k", "base_url": None, "image_model": "i", "vision_model": "v",
                                 "concurrency": 1, "policy": RetryPolicy(), "request_timeout": 1.0}),
}


@pytest.mark.parametrize("base", list(BASES), ids=lambda b: b.__name__)
def test_the_hooks_are_abstract(base: type) -> None:
    hooks, arguments = BASES[base]
    assert base.__abstractmethods__ == hooks
    with pytest.raises(TypeError, match="abstract"):
        base(**arguments)
    forgetful = type(f"Forgetful{base.__name__}", (base,), {"name": "forgetful", "default_model": "m"})
    with pytest.raises(TypeError, match="abstract"):  # before any network client would be built
        forgetful(**arguments)


@pytest.mark.parametrize(
    "provider",
    [OpenAIProvider, GeminiProvider, OpenAIChat, GeminiChat, OpenAIImages, GeminiImages, OpenAIExpander,
     GeminiExpander],
    ids=lambda p: p.__name__,
)
def test_every_shipped_provider_implements_its_hooks(provider: type) -> None:
    assert not provider.__abstractmethods__
