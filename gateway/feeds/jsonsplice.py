"""Edit a JSON text in place: find where each value sits in the source, replace only those bytes.

Mastodon's Rails serializer writes ``<``, ``>`` and ``&`` as ``\\u003c``-style escapes, Bluesky's
AppView writes plain ``JSON.stringify`` output; re-serialising a whole page would rewrite every post.
So the codecs parse the body once for reading, and on render ask :func:`value_spans` where the values
they change are, then :func:`splice` new values in, encoded in the source's own style
(:func:`encoder_for`). Every byte outside the changed values stays as it was.

The scanner assumes text that a JSON parser already accepted (the codecs parse it first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import orjson

from . import markers
from .model import FeedParseError

Path = tuple[str | int, ...]

_WS = re.compile(r"[ \t\n\r]*")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*+"', re.S)
_SCALAR = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|true|false|null")


def load(body: object, what: str) -> Any:
    """The parsed body; :class:`FeedParseError` for anything that is not JSON text."""
    if not isinstance(body, str):
        raise FeedParseError(f"{what} body must be text")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "exceeds" not in str(exc):
            raise FeedParseError(f"{what} body is not JSON: {exc}") from exc
    except UnicodeEncodeError as exc:  # lone surrogates in the str
        raise FeedParseError(f"{what} body is not valid Unicode") from exc
    try:  # numbers outside orjson's range: the stdlib keeps them exactly
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise FeedParseError(f"{what} body is not JSON: {exc}") from exc


def _key(token: str) -> str:
    return token[1:-1] if "\\" not in token else json.loads(token)


def under(prefixes: set[Path]) -> Callable[[Path], bool]:
    """A ``wanted`` test for :func:`value_spans`: the values at or below one of ``prefixes``."""
    lengths = sorted({len(p) for p in prefixes})
    return lambda path: any(path[:n] in prefixes for n in lengths if n <= len(path))


def value_spans(src: str, wanted: Callable[[Path], bool] | None = None) -> dict[Path, tuple[int, int]]:
    """``{path: (start, end)}`` of every value (objects and arrays too) whose path ``wanted`` accepts
    (all of them when ``wanted`` is None).

    Iterative, so nesting depth costs no stack. A duplicated key maps to its last value, as parsers do.
    """
    spans: dict[Path, tuple[int, int]] = {}
    stack: list[tuple[Path, int, bool]] = []  # (container path, its start, is object)
    counts: list[int] = []
    pos = _WS.match(src).end()  # type: ignore[union-attr]
    path: Path = ()
    while True:
        ch = src[pos]
        if ch in "{[":
            stack.append((path, pos, ch == "{"))
            counts.append(0)
            pos = _WS.match(src, pos + 1).end()  # type: ignore[union-attr]
            if src[pos] not in "}]":
                path = _next_path(src, pos, stack[-1], 0)
                if stack[-1][2]:
                    pos = _after_key(src, pos)
                continue
        else:
            m = _STRING.match(src, pos) if ch == '"' else _SCALAR.match(src, pos)
            if m is None:
                raise FeedParseError(f"unexpected character at offset {pos}")
            if wanted is None or wanted(path):
                spans[path] = (pos, m.end())
            pos = _WS.match(src, m.end()).end()  # type: ignore[union-attr]
        # A value ended (or an empty container is about to): close containers until a comma.
        while stack:
            if src[pos] == ",":
                counts[-1] += 1
                pos = _WS.match(src, pos + 1).end()  # type: ignore[union-attr]
                path = _next_path(src, pos, stack[-1], counts[-1])
                if stack[-1][2]:
                    pos = _after_key(src, pos)
                break
            cpath, start, _ = stack.pop()
            counts.pop()
            if wanted is None or wanted(cpath):
                spans[cpath] = (start, pos + 1)
            pos = _WS.match(src, pos + 1).end()  # type: ignore[union-attr]
        else:
            return spans


def _next_path(src: str, pos: int, container: tuple[Path, int, bool], count: int) -> Path:
    if not container[2]:
        return (*container[0], count)
    m = _STRING.match(src, pos)
    if m is None:
        raise FeedParseError(f"expected a key at offset {pos}")
    return (*container[0], _key(m.group()))


def _after_key(src: str, pos: int) -> int:
    m = _STRING.match(src, pos)
    assert m is not None  # _next_path matched the same key
    colon = _WS.match(src, m.end()).end()  # type: ignore[union-attr]
    return _WS.match(src, colon + 1).end()  # type: ignore[union-attr]


def encoder_for(src: str) -> Callable[[Any], str]:
    """Serialise values the way ``src`` was written: Rails' ``\\u003c`` escapes, or ASCII-only."""
    html_safe = "\\u003c" in src or "\\u003e" in src or "\\u0026" in src
    ascii_only = src.isascii() and "\\u" in src

    def encode(value: Any) -> str:
        text = (
            json.dumps(value, separators=(",", ":"))
            if ascii_only
            else orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
        )
        if html_safe:
            text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return text

    return encode


def splice(src: str, changes: Iterable[tuple[int, int, str]]) -> str:
    """``src`` with each ``[start, end)`` replaced; the ranges must not overlap."""
    out: list[str] = []
    pos = 0
    for start, end, text in sorted(changes, key=lambda c: (c[0], c[1])):
        if start < pos:
            raise ValueError("overlapping JSON edits")
        out.append(src[pos:start])
        out.append(text)
        pos = end
    out.append(src[pos:])
    return "".join(out)


def add_key(src: str, span: tuple[int, int], key: str, encoded_value: str) -> tuple[int, int, str]:
    """The change that appends ``"key":value`` to the object at ``span`` (insert before its ``}``)."""
    start, end = span
    empty = not src[start + 1 : end - 1].strip()
    return end - 1, end - 1, ("" if empty else ",") + json.dumps(key) + ":" + encoded_value


def has_foreign_token(src: str, tree: Any) -> bool:
    """True if any string in the body holds a marker token (typed by an author, say)."""
    if markers.contains_token(src):
        return True
    if "\\u00" not in src:  # a token can only hide behind escapes of its ASCII letters
        return False
    stack = [tree]
    while stack:
        node = stack.pop()
        for value in node.values() if isinstance(node, dict) else node if isinstance(node, list) else ():
            if isinstance(value, str):
                if markers.contains_token(value):
                    return True
            elif isinstance(value, dict | list):
                stack.append(value)
    return False


def changes_for(src: str, spans: dict[Path, tuple[int, int]], values: dict[Path, Any]) -> list[tuple[int, int, str]]:
    """The changes that set each path to its value: replace the value where it exists, else add the
    key to its parent object (a path whose parent is missing too is skipped)."""
    encode = encoder_for(src)
    changes: list[tuple[int, int, str]] = []
    for path, value in values.items():
        if path in spans:
            changes.append((*spans[path], encode(value)))
        elif path and isinstance(path[-1], str) and path[:-1] in spans and src[spans[path[:-1]][0]] == "{":
            changes.append(add_key(src, spans[path[:-1]], path[-1], encode(value)))
    return changes


def defang_changes(src: str, spans: dict[Path, tuple[int, int]], skip: set[Path]) -> list[tuple[int, int, str]]:
    """Rewrites of every string value (outside ``skip`` and the subtrees of ``skip``) holding something
    the extension would take for a marker token; :func:`markers.defang` keeps the length in code points."""
    changes: list[tuple[int, int, str]] = []
    encode = encoder_for(src)
    inside = under(skip) if skip else None
    for path, (start, end) in spans.items():
        if src[start] != '"' or (inside is not None and inside(path)):
            continue
        token = src[start:end]
        if not markers.contains_token(token) and "\\u00" not in token:
            continue
        value = json.loads(token)
        if markers.contains_token(value):
            changes.append((start, end, encode(markers.defang(value))))
    return changes
