"""A position-keeping HTML tokenizer: start tags, attributes and text runs with exact source offsets.

selectolax (lexbor) builds a browser-grade tree but forgets where things were in the source. The
Reddit codec needs both, so it tokenizes the source here, annotates a copy (one attribute per start
tag, one sentinel per text run) and lets lexbor parse that copy; the annotations then lead from any
lexbor node back to its bytes. This module follows the tokenizer states of the HTML Standard that
matter for finding tag boundaries (comments, bogus comments, doctype, raw text, RCDATA, script
escapes, CDATA in SVG/MathML); it does not build a tree. Every loop advances, so input of any shape
is scanned in linear time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_TAG_NAME_RE = re.compile(r"[^\t\n\f\r />]*")
_WS_RUN_RE = re.compile(r"[\t\n\f\r ]*")
_ATTR_NAME_RE = re.compile(r"[^\t\n\f\r />][^\t\n\f\r /=>]*")
_EQ_RE = re.compile(r"[\t\n\f\r ]*=[\t\n\f\r ]*")
_UNQUOTED_RE = re.compile(r"[^\t\n\f\r >]*")
_WS_ONLY_RE = re.compile(r"[\t\n\f\r ]*\Z")
# Fast path for a complete start tag in one match. Possessive quantifiers keep it linear; a name
# must not be followed by '=' unless a value follows, so an unterminated quote makes the match fail
# and the step-by-step parser decides (it drops the tag at EOF, as the standard does).
_SEP = r"""(?:[\t\n\f\r ]|/(?!>))*+"""
_VALUE = r"""(?:"[^"]*+"|'[^']*+'|(?!["'])[^\t\n\f\r >]*+)"""
_ATTR = _SEP + r"[^\t\n\f\r />][^\t\n\f\r /=>]*+(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+" + _VALUE + r"|(?![\t\n\f\r ]*=))"
_START_TAG_RE = re.compile(r"<([A-Za-z][^\t\n\f\r />]*+)((?>" + _ATTR + r")*+)" + _SEP + r"(/?)>")
_END_TAG_RE = re.compile(r"</([A-Za-z][^\t\n\f\r />]*+)(?>" + _ATTR + r")*+" + _SEP + r"/?>")
_ATTR_ITER_RE = re.compile(
    _SEP + r"""([^\t\n\f\r />][^\t\n\f\r /=>]*+)(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+"""
    r"""(?:"([^"]*+)"|'([^']*+)'|(?!["'])([^\t\n\f\r >]*+)))?"""
)

DEPTH_CAP = 10_000
RAWTEXT = frozenset({"style", "xmp", "iframe", "noembed", "noframes", "noscript"})
RCDATA = frozenset({"textarea", "title"})
_VOID = frozenset(
    "area base basefont bgsound br col embed frame hr image img input keygen link meta param source track wbr".split()
)
_SPECIAL = frozenset(
    "address applet area article aside base basefont bgsound blockquote body br button caption center col "
    "colgroup dd details dir div dl dt embed fieldset figcaption figure footer form frame frameset h1 h2 h3 "
    "h4 h5 h6 head header hgroup hr html iframe img input keygen li link listing main marquee menu meta nav "
    "noembed noframes noscript object ol p param plaintext pre script search section select source style "
    "summary table tbody td template textarea tfoot th thead title tr track ul wbr xmp".split()
)
_SPECIAL_BUT_BLOCKS = _SPECIAL - {"address", "div", "p"}
_DEFAULT_SCOPE = frozenset("applet caption html table td th marquee object template".split())
_BUTTON_SCOPE = _DEFAULT_SCOPE | {"button"}
_LIST_SCOPE = _DEFAULT_SCOPE | {"ol", "ul"}
_TABLE_SCOPE = frozenset("html table template".split())
_MARKERS = frozenset("applet caption marquee object td th template".split())  # formatting list markers
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())
# Starting one of these closes an open <p> in button scope (not <table>: quirks mode keeps the <p>).
_CLOSES_P = frozenset(
    "address article aside blockquote center details dialog dir div dl dd dt fieldset "
    "figcaption figure footer form h1 h2 h3 h4 h5 h6 header hgroup hr li main menu nav ol "
    "pre section summary ul listing plaintext xmp search".split()
)
# HTML elements that end SVG/MathML content when they start inside it (tree construction, foreign content).
_BREAKOUT = frozenset(
    "b big blockquote body br center code dd div dl dt em embed h1 h2 h3 h4 h5 h6 head hr i img li "
    "listing menu meta nobr ol p pre ruby s small span strong strike sub sup table tt u ul var".split()
)


@dataclass(slots=True)
class Attr:
    name: str  # ASCII-lowercased
    start: int  # offset of the name
    end: int  # offset just past the value (or the name, if there is no value)
    value_start: int  # raw value, without quotes (== end when there is no value)
    value_end: int


class StartTag:
    """A start tag; its attributes are parsed on first use (most tags are never looked at)."""

    __slots__ = ("_attrs", "_region", "_src", "end", "index", "name", "name_end", "self_closing", "start")

    def __init__(
        self,
        index: int,
        name: str,
        start: int,
        end: int,
        name_end: int,
        self_closing: bool,
        src: str,
        region: tuple[int, int],
        attrs: list[Attr] | None = None,
    ) -> None:
        self.index = index
        self.name = name  # ASCII-lowercased
        self.start = start  # offset of '<'
        self.end = end  # offset just past '>'
        self.name_end = name_end
        self.self_closing = self_closing
        self._src = src
        self._region = region
        self._attrs = attrs

    @property
    def attrs(self) -> list[Attr]:
        if self._attrs is None:
            self._attrs = _iter_attrs(self._src, *self._region)
        return self._attrs

    def attr(self, name: str) -> Attr | None:
        for a in self.attrs:
            if a.name == name:
                return a  # HTML keeps the first of duplicate attributes
        return None

    @property
    def insert_at(self) -> int:
        """Where a new attribute can go: before ``/>`` or ``>``."""
        return self.end - 2 if self.self_closing else self.end - 1


@dataclass(slots=True)
class TextRun:
    index: int
    start: int
    end: int
    raw: bool  # script/style/... content: never annotated or edited
    blank: bool  # only HTML whitespace


@dataclass(slots=True)
class Scan:
    tags: list[StartTag]
    texts: list[TextRun]
    # Offsets of every start and end tag name, for "is there a block boundary between a and b".
    boundaries: list[tuple[int, str]]
    max_depth: int = 0  # estimated deepest element nesting (see _Depth)
    max_attrs: int = 0  # most attributes on one tag


class _Depth:
    """An estimate of the browser's stack of open elements, to refuse nesting bombs.

    Tree builders (lexbor included) do work proportional to the stack depth on many tags, so
    100k nested ``<div>`` take lexbor minutes. This follows the tree-construction rules that pop
    elements (end tags with their scopes, implied end tags of ``li``/``dd``/``option``/cells/``p``,
    the adoption of formatting elements) and errs on the side of counting too deep.
    """

    __slots__ = ("counts", "max", "stack")

    def __init__(self) -> None:
        self.stack: list[str] = []
        self.counts: dict[str, int] = {}
        self.max = 0

    def _pop_to(self, index: int) -> None:
        for name in self.stack[index:]:
            self.counts[name] -= 1
        del self.stack[index:]

    def _find(self, names: frozenset[str] | tuple[str, ...], stop: frozenset[str]) -> int:
        """Index of the topmost element in ``names``, or -1 if one in ``stop`` comes first."""
        stack = self.stack
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] in names:
                return i
            if stack[i] in stop:
                return -1
        return -1

    def _close(self, names: frozenset[str] | tuple[str, ...], stop: frozenset[str]) -> None:
        if any(self.counts.get(n) for n in names):
            i = self._find(names, stop)
            if i >= 0:
                self._pop_to(i)

    def start(self, name: str, self_closing: bool, foreign: bool) -> None:
        if self.max > DEPTH_CAP:
            return  # already far too deep: stop spending time on the estimate
        stack, counts = self.stack, self.counts
        if name == "li":
            self._close(("li",), _SPECIAL_BUT_BLOCKS)
        elif name in ("dd", "dt"):
            self._close(("dd", "dt"), _SPECIAL_BUT_BLOCKS)
        elif name in ("option", "optgroup"):
            if stack and stack[-1] == "option":
                self._pop_to(len(stack) - 1)
            if name == "optgroup" and stack and stack[-1] == "optgroup":
                self._pop_to(len(stack) - 1)
        elif name in ("td", "th", "tr"):
            self._close(("td", "th", "tr") if name == "tr" else ("td", "th"), _TABLE_SCOPE)
        elif name in ("a", "nobr") and counts.get(name):
            i = self._find((name,), _MARKERS)
            if i >= 0:  # the adoption agency takes the old one off the stack, the rest stays
                del stack[i]
                counts[name] -= 1
        if name in _CLOSES_P or name == "p":
            self._close(("p",), _BUTTON_SCOPE)
        if name in _VOID or (foreign and self_closing):
            return
        stack.append(name)
        counts[name] = counts.get(name, 0) + 1
        if len(stack) > self.max:
            self.max = len(stack)

    def end(self, name: str) -> None:
        if self.max > DEPTH_CAP or not self.counts.get(name):
            return
        if name in _FORMATTING:
            i = self._find((name,), _MARKERS)
            if i >= 0:
                del self.stack[i]
                self.counts[name] -= 1
            return
        if name in _SPECIAL:
            stop = _BUTTON_SCOPE if name == "p" else _LIST_SCOPE if name == "li" else _DEFAULT_SCOPE
        else:
            stop = _SPECIAL  # "any other end tag" gives up at the first special element
        i = self._find((name,), stop)
        if i >= 0:
            self._pop_to(i)


def _lower(name: str) -> str:
    return name.translate(_ASCII_LOWER) if not name.islower() else name


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _parse_attrs(src: str, pos: int) -> tuple[list[Attr], int, bool] | None:
    """Attributes from ``pos`` to the end of the tag; None if the tag runs into EOF (it is dropped)."""
    attrs: list[Attr] = []
    n = len(src)
    while True:
        pos = _skip_ws(src, pos)
        if pos >= n:
            return None
        c = src[pos]
        if c == ">":
            return attrs, pos + 1, False
        if c == "/":
            if src.startswith(">", pos + 1):
                return attrs, pos + 2, True
            pos += 1  # a stray '/' is ignored
            continue
        name_m = _ATTR_NAME_RE.match(src, pos)
        assert name_m is not None  # c is neither whitespace, '/' nor '>'
        name_start, name_end = name_m.span()
        name = _lower(name_m.group(0))
        eq = _EQ_RE.match(src, name_end)
        if eq is None:
            attrs.append(Attr(name, name_start, name_end, name_end, name_end))
            pos = name_end
            continue
        pos = eq.end()
        if pos >= n:
            return None
        quote = src[pos]
        if quote == '"' or quote == "'":
            close = src.find(quote, pos + 1)
            if close < 0:
                return None
            attrs.append(Attr(name, name_start, close + 1, pos + 1, close))
            pos = close + 1
        else:
            uq = _UNQUOTED_RE.match(src, pos)
            assert uq is not None
            attrs.append(Attr(name, name_start, uq.end(), pos, uq.end()))
            pos = uq.end()


def _iter_attrs(src: str, start: int, end: int) -> list[Attr]:
    """Attributes of a region the fast start-tag pattern accepted."""
    attrs: list[Attr] = []
    for am in _ATTR_ITER_RE.finditer(src, start, end):
        if am.start(2) >= 0:
            vs, ve, stop = am.start(2), am.end(2), am.end(2) + 1
        elif am.start(3) >= 0:
            vs, ve, stop = am.start(3), am.end(3), am.end(3) + 1
        elif am.start(4) >= 0:
            vs, ve, stop = am.start(4), am.end(4), am.end(4)
        else:
            vs = ve = stop = am.end(1)
        attrs.append(Attr(_lower(am.group(1)), am.start(1), stop, vs, ve))
    return attrs


def _start_tag(src: str, lt: int, fast: bool = True) -> StartTag | None:
    """The start tag at ``lt`` (index still 0); None when it runs into EOF."""
    m = _START_TAG_RE.match(src, lt) if fast else None
    if m is not None:
        return StartTag(0, _lower(m.group(1)), lt, m.end(), m.end(1), m.group(3) == "/", src, m.span(2))
    # Slow path: unterminated quotes, EOF and the like, step by step as the standard reads them.
    name_m = _TAG_NAME_RE.match(src, lt + 1)
    assert name_m is not None
    parsed = _parse_attrs(src, name_m.end())
    if parsed is None:
        return None
    attrs, end, self_closing = parsed
    return StartTag(0, _lower(name_m.group(0)), lt, end, name_m.end(), self_closing, src, (0, 0), attrs)


def _skip_ws(src: str, pos: int) -> int:
    m = _WS_RUN_RE.match(src, pos)
    return m.end() if m else pos


def _raw_end(src: str, pos: int, name: str) -> int:
    """Offset of the ``</name`` that ends RAWTEXT/RCDATA content starting at ``pos`` (or len)."""
    m = _end_tag_re(name).search(src, pos)
    return m.start() if m else len(src)


_END_RES: dict[str, re.Pattern[str]] = {}


def _end_tag_re(name: str) -> re.Pattern[str]:
    pat = _END_RES.get(name)
    if pat is None:
        pat = re.compile(r"</" + re.escape(name) + r"(?=[\t\n\f\r />])", re.IGNORECASE)
        _END_RES[name] = pat
    return pat


_SCRIPT_TOKENS_RE = re.compile(r"<!--|-->|</script(?=[\t\n\f\r />])|<script(?=[\t\n\f\r />])", re.I)


def _script_end(src: str, pos: int) -> int:
    """End of script data, following the escaped / double-escaped states of the standard."""
    state = 0  # 0 data, 1 escaped (after <!--), 2 double escaped (after <!--<script)
    while True:
        m = _SCRIPT_TOKENS_RE.search(src, pos)
        if m is None:
            return len(src)
        tok = m.group(0).lower()
        if tok == "<!--":
            if state == 0:
                state = 1
            pos = m.start() + 2  # "<!-->" closes at once: let "-->" share the dashes
            continue
        if tok == "-->":
            if state:
                state = 0
            pos = m.end()
            continue
        if tok == "</script":
            if state == 2:
                state = 1
                pos = m.end()
                continue
            return m.start()
        # "<script"
        if state == 1:
            state = 2
        pos = m.end()


def scan(src: str) -> Scan:
    """Tokenize ``src``. Never raises on any input."""
    tags: list[StartTag] = []
    texts: list[TextRun] = []
    boundaries: list[tuple[int, str]] = []
    n = len(src)
    pos = 0
    text_start = 0
    foreign = 0  # depth of <svg>/<math>, where raw-text rules do not apply and CDATA exists
    depth = _Depth()
    max_attrs = 0

    def flush_text(end: int, raw: bool = False) -> None:
        if end > text_start:
            blank = _WS_ONLY_RE.match(src, text_start, end) is not None
            texts.append(TextRun(len(texts), text_start, end, raw, blank))

    while pos < n:
        lt = src.find("<", pos)
        if lt < 0 or lt + 1 >= n:
            break
        c = src[lt + 1]
        if c.isascii() and c.isalpha():
            parsed = _start_tag(src, lt)
            if parsed is None:  # EOF inside a tag: the standard drops it and everything after
                flush_text(lt)
                text_start = n
                pos = n
                break
            tag = parsed
            name, end, self_closing = tag.name, tag.end, tag.self_closing
            flush_text(lt)
            depth.start(name, self_closing, foreign > 0)
            if end - lt > 2000:  # only a long tag can hold enough attributes to matter
                max_attrs = max(max_attrs, len(tag.attrs))
            tag.index = len(tags)
            tags.append(tag)
            boundaries.append((lt, name))
            pos = text_start = end
            if foreign:
                if name in _BREAKOUT or (
                    name == "font" and any(a.name in ("color", "face", "size") for a in tag.attrs)
                ):
                    foreign = 0
                elif name in ("svg", "math") and not self_closing:
                    foreign += 1
                continue
            if name in ("svg", "math") and not self_closing:
                foreign = 1
                continue
            if name == "script":
                raw_end = _script_end(src, end)
            elif name in RAWTEXT or name in RCDATA:
                raw_end = _raw_end(src, end, name)
            elif name == "plaintext":
                raw_end = n
            else:
                continue
            # RCDATA (title, textarea) is decoded text in the DOM: keep it editable.
            flush_text(raw_end, raw=name not in RCDATA)
            pos = text_start = raw_end
            continue
        if c == "/":
            if lt + 2 < n and src[lt + 2].isascii() and src[lt + 2].isalpha():
                end_m = _END_TAG_RE.match(src, lt)
                if end_m is not None:
                    raw_name, tag_end = end_m.group(1), end_m.end()
                else:
                    name_m = _TAG_NAME_RE.match(src, lt + 2)
                    assert name_m is not None
                    parsed = _parse_attrs(src, name_m.end())
                    if parsed is None:
                        flush_text(lt)
                        text_start = n
                        pos = n
                        break
                    raw_name, tag_end = name_m.group(0), parsed[1]
                flush_text(lt)
                name = _lower(raw_name)
                boundaries.append((lt, "/" + name))
                depth.end(name)
                if foreign and name in ("svg", "math"):
                    foreign -= 1
                pos = text_start = tag_end
                continue
            if src.startswith(">", lt + 2):  # "</>" is dropped
                flush_text(lt)
                pos = text_start = lt + 3
                continue
            if lt + 2 >= n:
                break
            flush_text(lt)  # bogus comment up to '>'
            gt = src.find(">", lt + 2)
            pos = text_start = n if gt < 0 else gt + 1
            continue
        if c == "!":
            flush_text(lt)
            if src.startswith("<!--", lt):
                body = lt + 4
                if src.startswith(">", body):
                    end = body + 1
                elif src.startswith("->", body):
                    end = body + 2
                else:
                    e1 = src.find("-->", body)
                    e2 = src.find("--!>", body)
                    cands = [e + k for e, k in ((e1, 3), (e2, 4)) if e >= 0]
                    end = min(cands) if cands else n
            elif foreign and src.startswith("<![CDATA[", lt):
                close = src.find("]]>", lt + 9)
                end = n if close < 0 else close + 3
            else:  # doctype and bogus comments end at the next '>'
                gt = src.find(">", lt + 2)
                end = n if gt < 0 else gt + 1
            pos = text_start = end
            continue
        if c == "?":
            flush_text(lt)
            gt = src.find(">", lt + 2)
            pos = text_start = n if gt < 0 else gt + 1
            continue
        pos = lt + 1  # a literal '<'
    flush_text(n)
    return Scan(tags, texts, boundaries, depth.max, max_attrs)
