"""JSON Schema (the subset OpenAI's strict structured outputs accept) to the schema Gemini takes.

Every caller writes its reply schema once, as JSON Schema, and derives Gemini's ``response_schema``
from it here, so the two providers can never be asked for different shapes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` in the OpenAPI 3.0 subset Gemini's ``response_schema`` takes.

    Gemini has no type unions (``nullable`` instead) and no ``additionalProperties``; it orders properties
    alphabetically unless told otherwise, and the order matters for generation (reason before spans).
    """
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "additionalProperties":
            continue
        if key == "type" and isinstance(value, list):
            kinds = [k for k in value if k != "null"]
            out["type"] = kinds[0]
            if "null" in value:
                out["nullable"] = True
        elif key == "properties":
            out["properties"] = {name: gemini_schema(sub) for name, sub in value.items()}
            out["propertyOrdering"] = list(value)
        elif key == "items":
            out["items"] = gemini_schema(value)
        else:
            out[key] = value
    return out
