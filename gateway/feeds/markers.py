"""Builders for the text markers the browser extension turns into blur, warning and rewrite effects.

Marker grammar (docs/protocol.md §3.1; in the extension ``shared/constants.ts`` / ``utils/markers.ts``)::

    __BLUR_START__<text>__BLUR_END__
    __OVERLAY_START__<warning>|<text>__OVERLAY_END__   regex (.*?)\\|([\\s\\S]*?): warning = one line, no '|'
    __REWRITE_START__<text>__REWRITE_END__

Escaping (why the output of every builder here is HTML-escaped once)
-------------------------------------------------------------------
The extension looks for DOM *text nodes* containing a START token, runs its regexes over the node's
text and assigns the result to ``span.innerHTML`` -- for the whole text node, not only for the
marked part. The warning is also interpolated, unescaped, into ``data-warning="..."`` and into a
``<div>``. So whatever the page shows in such a text node is parsed as HTML a second time.

Decoding therefore happens twice between the backend and the screen:

* Reddit: the page's HTML parser decodes the fragment we return into a text node (decode 1), the
  extension's ``innerHTML`` decodes that text again (decode 2).
* X: ``legacy.full_text`` carries X's own entity escaping (``&amp;``, ``&lt;``, ``&gt;``); X's client
  decodes it once and renders a text node (decode 1); the extension's ``innerHTML`` is decode 2.

For a title such as ``<img src=x onerror=alert(1)>`` to be shown as text, the text node after
decode 1 must read ``&lt;img src=x onerror=alert(1)&gt;``. The builders in this module produce
exactly that "text node content" (one round of escaping of ``&``, ``<``, ``>`` over the *whole*
string they return, markers excluded, which contain none of those characters). Each codec then
adds its platform's own round on top, when it writes the text:

* Reddit writes ``html_text_escape(builder_output)`` into the source, i.e. ``&amp;lt;img ...&amp;gt;``.
* X writes ``x_escape(builder_output)`` into ``full_text``, i.e. ``&amp;lt;img ...&amp;gt;``.

Any *other* text that ends up in the same DOM text node as a marker must be escaped the same way
(the codecs do that), and the warning is stripped of ``<>"'&|`` and line breaks instead of escaped,
because it lands in an attribute. If the extension is not running the user sees ``&lt;`` literally
in a marked post; that is the price of never emitting live HTML.

Text that already contains marker tokens (typed by a post's author, or returned by an LLM) is
*defanged*: the first letter of ``START``/``END``/``SEPARATOR``/``IMAGE`` is replaced by a Cyrillic
look-alike, so the extension no longer recognises it. The replacement keeps the length in code
points, which keeps X's entity indices valid.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from collections.abc import Iterable, Sequence

BLUR_START = "__BLUR_START__"
BLUR_END = "__BLUR_END__"
OVERLAY_START = "__OVERLAY_START__"
OVERLAY_END = "__OVERLAY_END__"
REWRITE_START = "__REWRITE_START__"
REWRITE_END = "__REWRITE_END__"

DEFAULT_WARNING = "Content filtered"
WARNING_MAX_CHARS = 100
# Bounds on what a caller (ultimately an LLM) may ask for, so span matching stays cheap.
MAX_SPANS = 100
MAX_SPAN_CHARS = 1000
MAX_OCCURRENCES = 2000  # per text node

# The extension's own patterns (multi-line, non-greedy), used by tests and strip_markers.
BLUR_RE = re.compile(r"__BLUR_START__([\s\S]*?)__BLUR_END__")
OVERLAY_RE = re.compile(r"__OVERLAY_START__(.*?)\|([\s\S]*?)__OVERLAY_END__")
REWRITE_RE = re.compile(r"__REWRITE_START__([\s\S]*?)__REWRITE_END__")

# The part of every token the extension knows (constants.ts), including the unused ones.
_TOKEN_CORE_RE = re.compile(r"(BLUR|OVERLAY|REWRITE|PROCESSED)_(START|END|SEPARATOR|IMAGE)")
_ANY_TOKEN_RE = re.compile(r"__(?:BLUR|OVERLAY|REWRITE|PROCESSED)_(?:START|END|SEPARATOR|IMAGE)__")
_HOMOGLYPH = {"S": "\u0405", "E": "\u0415", "I": "\u0406"}  # Cyrillic DZE, IE, Byelorussian I

_WARNING_DROP = frozenset("\"'&`\\")
_WARNING_SPACE = frozenset("|<>")  # word separators: dropping them would glue words together
_WS_RE = re.compile(r"\s+")


def contains_token(text: str) -> bool:
    """True if ``text`` holds anything the extension could take for a marker token."""
    return _TOKEN_CORE_RE.search(text) is not None


def defang(text: str) -> str:
    """Make marker tokens in foreign text unrecognisable, keeping the length in code points."""
    if not contains_token(text):
        return text
    return _TOKEN_CORE_RE.sub(lambda m: f"{m[1]}_{_HOMOGLYPH[m[2][0]]}{m[2][1:]}", text)


def html_text_escape(text: str) -> str:
    """One round of escaping for HTML text content (quotes are harmless there)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_content(text: str) -> str:
    """Text as it must read inside a DOM text node that the extension re-parses with innerHTML."""
    return html_text_escape(defang(text))


def sanitize_warning(s: object) -> str:
    """One short line without ``|``, markers or HTML-significant characters; never empty."""
    text = s if isinstance(s, str) else ("" if s is None else str(s))
    text = defang(strip_markers(text))
    out: list[str] = []
    for ch in text:
        if ch in _WARNING_DROP:
            continue
        if ch in _WARNING_SPACE:
            out.append(" ")
            continue
        cat = unicodedata.category(ch)
        if cat in ("Cc", "Zl", "Zp"):  # JS '.' stops at \n, \r, U+2028, U+2029: keep one line
            out.append(" ")
        elif cat in ("Cf", "Cs", "Co", "Cn"):  # bidi overrides, lone surrogates, unassigned
            continue
        else:
            out.append(ch)
    text = _WS_RE.sub(" ", "".join(out)).strip()
    if len(text) > WARNING_MAX_CHARS:
        cut = text[: WARNING_MAX_CHARS - 1]
        if " " in cut[WARNING_MAX_CHARS // 2 :]:
            cut = cut.rsplit(" ", 1)[0]
        text = cut.rstrip() + "\u2026"
    return text or DEFAULT_WARNING


def _clean_spans(spans: Iterable[object]) -> list[str]:
    seen: set[str] = set()
    cleaned: list[str] = []
    for raw in spans:
        if not isinstance(raw, str):
            continue
        span = _WS_RE.sub(" ", strip_markers(raw)).strip()
        if not span or len(span) > MAX_SPAN_CHARS or span in seen:
            continue
        seen.add(span)
        cleaned.append(span)
        if len(cleaned) >= MAX_SPANS:
            break
    # Longest first, so "war crimes" wins over "war" where both match.
    cleaned.sort(key=len, reverse=True)
    return cleaned


def compile_spans(spans: Iterable[object]) -> list[re.Pattern[str]]:
    """Patterns for :func:`find_ranges`, longest span first; whitespace matches any whitespace run."""
    return [re.compile(r"\s+".join(re.escape(word) for word in span.split(" "))) for span in _clean_spans(spans)]


def find_spans(text: str, spans: Iterable[object]) -> list[tuple[int, int]]:
    """Non-overlapping ``(start, end)`` ranges of every occurrence of the spans in ``text``.

    Longer spans are placed first; a shorter one is skipped where it would overlap. Whitespace in a
    span matches any run of whitespace, because LLMs and HTML disagree about line breaks.
    """
    return find_ranges(text, compile_spans(spans))


def find_ranges(text: str, patterns: Sequence[re.Pattern[str]]) -> list[tuple[int, int]]:
    """Like :func:`find_spans`, with patterns from :func:`compile_spans` (reused across text nodes)."""
    starts: list[int] = []  # sorted, parallel to ends; the taken ranges never overlap
    ends: list[int] = []
    for pattern in patterns:
        for m in pattern.finditer(text):
            a, b = m.span()
            i = bisect_right(starts, a)
            # Overlaps the range starting before it, or the one starting inside it?
            if a == b or (i and ends[i - 1] > a) or (i < len(starts) and starts[i] < b):
                continue
            starts.insert(i, a)
            ends.insert(i, b)
            if len(starts) >= MAX_OCCURRENCES:
                return list(zip(starts, ends, strict=True))
    return list(zip(starts, ends, strict=True))


def blur_ranges(text: str, ranges: Sequence[tuple[int, int]]) -> str:
    """Wrap the given sorted, non-overlapping ranges of ``text`` in blur markers (escaped output)."""
    out: list[str] = []
    pos = 0
    for a, b in ranges:
        if a < pos or b <= a or b > len(text):
            continue
        out.append(escape_content(text[pos:a]))
        out.append(BLUR_START + escape_content(text[a:b]) + BLUR_END)
        pos = b
    out.append(escape_content(text[pos:]))
    return "".join(out)


def blur_spans(text: str, spans: list[str]) -> str:
    """``text`` with every occurrence of each span wrapped in blur markers, escaped for innerHTML."""
    return blur_ranges(text, find_spans(text, spans))


def overlay(warning: str, text: str) -> str:
    """``__OVERLAY_START__<warning>|<text>__OVERLAY_END__`` with a sanitised warning, escaped text."""
    return f"{OVERLAY_START}{sanitize_warning(warning)}|{escape_content(text)}{OVERLAY_END}"


def rewrite(text: str) -> str:
    """``__REWRITE_START__<text>__REWRITE_END__``, escaped for innerHTML."""
    return f"{REWRITE_START}{escape_content(text)}{REWRITE_END}"


def overlay_rewrite(warning: str, text: str) -> str:
    """Aggressive mode (docs/protocol.md §3.1): a warning over rewritten text."""
    return f"{OVERLAY_START}{sanitize_warning(warning)}|{rewrite(text)}{OVERLAY_END}"


def strip_markers(text: str) -> str:
    """Remove marker syntax: blur/rewrite keep their text, overlays keep the text and drop the warning.

    Works on plain text and does not unescape anything; use it to clean LLM output or to recover the
    "original" reading of a marked string.
    """
    if "__" not in text:
        return text
    text = OVERLAY_RE.sub(lambda m: m[2], text)
    return _ANY_TOKEN_RE.sub("", text)
