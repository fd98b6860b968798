"""Prompts of the generative interventions, and the styles ``stylize`` knows.

Filter text and replacement objects come from users (and LLMs), so they are cleaned (control
characters out, length capped) and quoted; styles are picked from a fixed table, never pasted in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\"`]")
MAX_SUBJECT_CHARS = 120


def clean_text(text: object, limit: int = MAX_SUBJECT_CHARS) -> str:
    """One line of user text, safe to quote in a prompt."""
    value = " ".join(_CONTROL.sub(" ", str(text or "")).split())
    return value[:limit].rstrip(" .")


def subject_of(filter_text: str) -> str:
    return clean_text(filter_text) or "anything disturbing"


_KEEP = (
    "Keep everything else exactly as it is: composition, framing, people, background, lighting and "
    "colours. Return only the edited image."
)


def cartoon_prompt(filter_text: str) -> str:
    return (
        "Redraw this image as a friendly, flat-colour cartoon illustration with clean outlines and soft "
        f'colours. Show any "{subject_of(filter_text)}" in a simplified, harmless, non-threatening way. '
        "Keep the same composition."
    )


def replacement_prompt(filter_text: str, options: Mapping[str, Any]) -> str:
    chosen = clean_text(options.get("replacement_object"), 60)
    target = (
        f'"{chosen}"'
        if chosen
        else "something harmless and pleasant that fits the scene (for example a potted plant, a cartoon "
        "star, a small cloud or a teddy bear)"
    )
    return (
        f'Edit this image: replace every instance of "{subject_of(filter_text)}" with {target}, at the same '
        f"place and size. {_KEEP}"
    )


def inpainting_prompt(filter_text: str) -> str:
    return (
        f'Edit this image: remove every instance of "{subject_of(filter_text)}" completely and fill the '
        f"area with a plausible continuation of the surrounding background. {_KEEP}"
    )


@dataclass(frozen=True)
class Style:
    description: str  # goes into the prompt
    local: str  # the closest local intervention, used when the provider is unavailable


STYLES: dict[str, Style] = {
    "ghibli": Style("a soft, hand-painted Studio Ghibli-like anime illustration", "cartoonish"),
    "anime": Style("a clean anime illustration with flat cel shading", "cartoonish"),
    "cartoon": Style("a friendly flat-colour cartoon with clean outlines", "cartoonish"),
    "comic": Style("a comic-book drawing with bold ink lines and halftone shading", "cartoonish"),
    "cubism": Style("a cubist painting of fragmented geometric planes, like early Picasso", "cartoonish"),
    "watercolor": Style("a loose watercolour painting with soft washes and bleeding edges", "impressionism"),
    "impressionism": Style("an impressionist oil painting with visible short brush strokes", "impressionism"),
    "oil_painting": Style("a classical oil painting with thick brushwork", "impressionism"),
    "pointillism": Style("a pointillist painting made entirely of small dots of colour", "pointillism"),
    "mosaic": Style("a mosaic of small coloured tiles", "pointillism"),
}
DEFAULT_STYLE = "ghibli"
_STYLE_ALIASES = {"watercolour": "watercolor", "oil": "oil_painting", "oil painting": "oil_painting",
                  "impressionist": "impressionism", "cubist": "cubism", "pointillist": "pointillism"}


def style_name(options: Mapping[str, Any]) -> str:
    """The job's ``options["style"]`` if known, else the default."""
    raw = str(options.get("style") or "").strip().lower().replace("-", "_")
    raw = _STYLE_ALIASES.get(raw.replace("_", " "), _STYLE_ALIASES.get(raw, raw))
    return raw if raw in STYLES else DEFAULT_STYLE


def stylize_prompt(filter_text: str, options: Mapping[str, Any]) -> str:
    style = STYLES[style_name(options)]
    subject = subject_of(filter_text)
    if options.get("selective"):
        return (
            f'Repaint only the "{subject}" in this image as {style.description}, abstracted and symbol-like '
            f"with little detail. {_KEEP}"
        )
    return (
        f"Repaint this whole image as {style.description}. Keep the composition recognisable, but render "
        f'any "{subject}" abstractly, with little detail, so it is not disturbing. Return only the image.'
    )
