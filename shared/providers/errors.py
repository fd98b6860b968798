"""What a failed SDK call amounts to, whichever SDK raised it.

Each SDK module (``openai``, ``gemini``) turns an exception into a ``Failure``; callers turn that into
their own error types (``retry.attempt_error`` for the async callers, ``imaging.cloud.calls`` for the
worker) without knowing the SDK.
"""

from __future__ import annotations

import email.utils
import importlib
import time
from collections.abc import Mapping
from dataclasses import dataclass


class ProviderError(Exception):
    """A provider could not do what was asked (bad input, remote failure, unparseable reply)."""


@dataclass(frozen=True)
class Failure:
    """One failed SDK call, classified.

    ``label`` is ``HTTP <status>`` (Gemini adds its status name) for an error the API answered with,
    else the exception's type name; ``detail`` is the API's message, or the exception's text.
    """

    retryable: bool
    label: str
    detail: str
    http: bool = False
    status: int | None = None
    retry_after: float | None = None

    @property
    def summary(self) -> str:
        """``HTTP <status>`` alone, or the type name: short enough for a result note."""
        return f"HTTP {self.status}" if self.http else self.label


def other_failure(exc: BaseException) -> Failure:
    """An exception that is neither an API answer nor a network failure: the SDK could not read the reply."""
    return Failure(retryable=False, label=type(exc).__name__, detail=str(exc))


def transport_failure(exc: BaseException) -> Failure:
    """Timeouts, refused or dropped connections: worth another attempt."""
    return Failure(retryable=True, label=type(exc).__name__, detail=str(exc))


def transport_errors() -> tuple[type[BaseException], ...]:
    """Network-level failures of whichever HTTP library an SDK picked (httpx or httpx2)."""
    found: list[type[BaseException]] = []
    for module_name in ("httpx", "httpx2"):
        try:
            found.append(importlib.import_module(module_name).TransportError)
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def retry_after_seconds(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the server asked us to wait: ``retry-after-ms`` (OpenAI), ``Retry-After`` seconds or date."""
    if not headers:
        return None
    try:
        if (ms := headers.get("retry-after-ms")) is not None:
            return max(0.0, float(ms) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None
