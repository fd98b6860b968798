"""Domain types shared by the gateway (which stores filters) and the imaging worker and
moderation providers (which read them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

ContentType = Literal["text", "image", "all"]
CONTENT_TYPES: tuple[str, ...] = ("text", "image", "all")


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class Filter:
    id: int
    filter_text: str
    intensity: int = 3
    content_type: str = "all"
    filter_type: str | None = None
    filter_metadata: dict[str, Any] = field(default_factory=dict)
    is_temporary: bool = False
    expires_at: str | None = None  # ISO 8601, UTC
    created_at: str | None = None

    def is_active(self, now: datetime | None = None) -> bool:
        if not self.expires_at:
            return True
        moment = now or utcnow()
        return datetime.fromisoformat(self.expires_at) > moment

    def applies_to_text(self) -> bool:
        return self.content_type in ("text", "all")

    def applies_to_images(self) -> bool:
        return self.content_type in ("image", "all")

    def to_api(self) -> dict[str, Any]:
        """The shape the extension reads (docs/protocol.md §2), plus ``created_at``."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Filter:
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)
