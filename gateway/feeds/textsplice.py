"""Write a text edit into a plain text whose links, mentions and styles are ranges over it.

X's ``full_text`` and note text, and Bluesky's ``record.text`` share one rendering model: each plain
stretch between ranged entities is one text node, so a marker pair must sit inside one stretch.

* Blur: markers go around each occurrence; an entity that an occurrence overlaps is dropped (its
  text stays, as plain text). The rest of a stretch holding a marker is escaped for the extension.
* Overlay / rewrite: the whole visible range becomes one marker; entities inside it are dropped,
  media entities are kept and pinned to the end of the marker.
* Entities after an edit move by the number of code points inserted before them.

Positions here are code points; a codec whose ranges count something else (Bluesky: UTF-8 bytes)
converts before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import markers
from .model import Blur, Overlay, Rewrite, TextEdit


@dataclass(slots=True)
class Span:
    """A ranged entity: ``item`` (in ``holder``) covers ``[start, end)`` of the text."""

    holder: list[Any]
    item: dict[str, Any]
    start: int
    end: int
    media: bool
    keys: tuple[str, str] | None = None  # (start key, end key); None for an ``indices`` pair

    def move(self, start: int, end: int) -> None:
        if self.keys is None:
            self.item["indices"] = [start, end]
        else:
            self.item[self.keys[0]], self.item[self.keys[1]] = start, end


def splice(text: str, start: int, end: int, entities: list[Span], edit: TextEdit) -> tuple[str, int] | None:
    """Apply ``edit`` to ``text[start:end]``; move, pin or drop ``entities`` in place.

    Returns the new decoded text and the new end of the visible range, or None when nothing changes.
    """
    # (segment start, segment end, replacement) in the decoded text, in order, not overlapping.
    changes: list[tuple[int, int, str]] = []
    dropped: set[int] = set()
    if isinstance(edit, Blur):
        ranges = [
            (a + start, b + start) for a, b in markers.find_ranges(text[start:end], markers.compile_spans(edit.spans))
        ]
        if not ranges:
            return None
        for ent in entities:
            if not ent.media and any(a < ent.end and ent.start < b for a, b in ranges):
                dropped.add(id(ent.item))
        kept = sorted(
            (max(e.start, start), min(e.end, end))
            for e in entities
            if id(e.item) not in dropped and e.start < end and e.end > start
        )
        for seg_a, seg_b in _gaps(start, end, kept):
            local = [(a - seg_a, b - seg_a) for a, b in ranges if seg_a <= a and b <= seg_b]
            if local:
                changes.append((seg_a, seg_b, markers.blur_ranges(text[seg_a:seg_b], local)))
        if not changes:
            return None
    else:
        visible = text[start:end]
        if not visible.strip():
            return None
        if isinstance(edit, Overlay):
            marker = (
                markers.overlay_rewrite(edit.warning, edit.rewrite)
                if edit.rewrite is not None
                else markers.overlay(edit.warning, visible)
            )
        elif isinstance(edit, Rewrite):
            marker = markers.rewrite(edit.text)
        else:
            return None
        changes.append((start, end, marker))
        for ent in entities:
            if not ent.media and ent.start < end and ent.end > start:
                dropped.add(id(ent.item))

    out: list[str] = []
    pos = 0
    shifts: list[tuple[int, int, int]] = []  # (old start, old end, delta after old end)
    delta = 0
    for a, b, new in changes:
        out.append(text[pos:a])
        out.append(new)
        pos = b
        delta += len(new) - (b - a)
        shifts.append((a, b, delta))
    out.append(text[pos:])

    def shift(p: int) -> int:
        d = 0
        for _, b, after in shifts:
            if p >= b:
                d = after
        return p + d

    for ent in entities:
        if id(ent.item) in dropped:
            ent.holder[:] = [x for x in ent.holder if x is not ent.item]
            continue
        inside = next((b + after for a, b, after in shifts if ent.start < b and ent.end > a), None)
        # A media link inside a replaced stretch cannot point into the marker: pin it to its end.
        if inside is not None:
            ent.move(inside, inside)
        else:
            ent.move(shift(ent.start), shift(ent.end))
    return "".join(out), shift(end)


def _gaps(start: int, end: int, taken: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of ``[start, end)`` not covered by the sorted ranges in ``taken``."""
    gaps: list[tuple[int, int]] = []
    cur = start
    for a, b in taken:
        if a > cur:
            gaps.append((cur, a))
        cur = max(cur, b)
    if cur < end:
        gaps.append((cur, end))
    return gaps
