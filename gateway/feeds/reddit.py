"""Reddit (shreddit) HTML: find posts, then splice edits into the original string.

Nothing is re-serialised: :meth:`RedditDocument.render` copies the input and replaces only the text
runs and start tags it changes, so markup, attribute order, quoting and entities elsewhere stay
byte-for-byte as Reddit sent them (BeautifulSoup, used by the original backend, rewrote all of it).

How positions are found: :mod:`.htmlscan` tokenizes the source with offsets. A copy of the source
gets one extra attribute per start tag (its token index) and a sentinel before every text run;
lexbor parses that copy the way a browser would, answers the CSS queries, and every node it returns
carries its way back to the source. Text nodes tell which runs the browser merges into one DOM
text node, which matters for escaping (see :mod:`.markers`). Where the two tokenizers disagree
about a node we touch, parsing fails with :class:`FeedParseError` rather than guess.
"""

from __future__ import annotations

import html
import re
import secrets
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import orjson
from selectolax.lexbor import LexborDocumentOptions, LexborHTMLParser, LexborNode

from . import markers
from .htmlscan import Scan, StartTag, scan
from .model import Blur, FeedDocument, FeedParseError, FeedPost, Overlay, PostEdit, Rewrite, TextEdit

PROCESSED_CLASS = "diy-mod-processed"
IMAGE_ATTR = "diy-mod-image"
CURSOR_ATTR = "more-posts-cursor"
PAGE_BASE = "https://www.reddit.com/"
# docs/protocol.md §2.1: feeds whose partial id is rewritten, and the posts that get the cursor (6 and 7,
# as the original backend did).
CURSOR_FEEDS = ("home-feed", "popular-feed", "all-feed")
CURSOR_POST_INDEXES = (6, 7)
CURSOR_COPY_BACK = 13

_POST_TAGS = ("shreddit-post", "shreddit-ad-post")
# A text node directly inside one of these would put a whole overlay into bold, a link, ...
_INLINE = frozenset(
    "a abbr b bdi bdo cite code del dfn em i ins kbd mark q s samp small span strong sub sup time u var".split()
)
# Tags that start a new line in the judged text.
_BLOCK = frozenset(
    "address article aside blockquote br dd div dl dt figcaption figure footer h1 h2 h3 h4 "
    "h5 h6 header hr li main nav ol p pre section table td th tr ul".split()
)
_ALLOWED_SRC_SCHEMES = ("https:", "data:image/")
# Limits far above real pages (depth ~50, a few dozen attributes) that keep lexbor's work linear.
MAX_DEPTH = 1024
MAX_ATTRS = 1000
# Formatting elements get no index attribute: distinct attributes would defeat the parser's
# "Noah's Ark" de-duplication, change the tree and make misnested markup quadratic.
_FORMATTING = frozenset("a b big code em font i nobr s small strike strong tt u".split())


@dataclass(slots=True)
class _Region:
    """The text of a title or body element: its runs, grouped by the DOM text node they form."""

    groups: list[list[int]]  # run indexes, each inner list one DOM text node
    runs: list[int]  # all run indexes, source order
    target: int | None  # run that receives a whole-text overlay or rewrite
    text: str  # what the user reads (entity-decoded, whitespace-normalised)


@dataclass(slots=True)
class _Image:
    url: str
    alt: str
    tag: int
    classes: str  # decoded class attribute, "" if absent


@dataclass(slots=True)
class _Post:
    post: FeedPost
    tag: int
    cursor: str | None
    title: _Region | None
    body: _Region | None
    images: list[_Image]


def _decode(raw: str) -> str:
    """Text content as the browser's DOM holds it (newline normalisation, character references)."""
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in raw:
        raw = html.unescape(raw)
    return raw.replace("\0", "") if "\0" in raw else raw


def _attr_escape(value: str) -> str:
    return (
        value.replace("&", "&amp;")
        .replace('"', "&quot;")
        .replace("'", "&#39;")
        .replace("<", "&lt;")
        .replace(">", "&gt;")
    )


def _browser_url(raw: str) -> str:
    """``img.src`` as the page reports it: trimmed, tab/newline-free, absolute."""
    url = raw.strip("\t\n\f\r ").replace("\t", "").replace("\n", "").replace("\r", "")
    if not url:
        return ""
    try:
        return urljoin(PAGE_BASE, url)
    except ValueError:
        return url


def _has_class(classes: str, name: str) -> bool:
    return name in classes.split()


class RedditDocument(FeedDocument):
    platform = "reddit"

    def __init__(self, src: str) -> None:
        if not isinstance(src, str):
            raise FeedParseError("Reddit feed body must be text")
        try:
            src.encode("utf-8")
        except UnicodeEncodeError as exc:  # lone surrogates: no browser sent this
            raise FeedParseError("Reddit feed body is not valid Unicode") from exc
        self._src = src
        self._scan: Scan = scan(src)
        if self._scan.max_depth > MAX_DEPTH or self._scan.max_attrs > MAX_ATTRS:
            raise FeedParseError("HTML nesting or attribute count beyond any real feed")
        self._decoded: dict[int, str] = {}
        self._boundary_offsets = [b[0] for b in self._scan.boundaries]
        nonce = secrets.token_hex(4)
        self._attr = f"data-dmo{nonce}"
        self._sentinel_re = re.compile("\ue000" + nonce + r"\.(\d+)\ue001")
        try:
            tree = LexborHTMLParser(self._annotated(nonce), scripting=True, options=LexborDocumentOptions.WO_EVENTS)
        except Exception as exc:  # selectolax raises plain exceptions on allocation failures
            raise FeedParseError(f"HTML could not be parsed: {exc}") from exc
        self._posts: list[_Post] = []
        self._seen_attrs: dict[int, set[str]] = {}
        self._partials: list[tuple[int, str]] = []
        self._defang_groups: list[list[int]] = []
        self._extract(tree)

    # -- parsing -----------------------------------------------------------------------------

    def _annotated(self, nonce: str) -> str:
        """The source with a tag-index attribute on every start tag and a sentinel before text runs."""
        src = self._src
        inserts: list[tuple[int, str]] = [
            (t.name_end, f' {self._attr}="{t.index}"') for t in self._scan.tags if t.name not in _FORMATTING
        ]
        # Whitespace-only runs stay bare: a sentinel would change how tables and <head> treat them.
        inserts += [(r.start, f"\ue000{nonce}.{r.index}\ue001") for r in self._scan.texts if not r.raw and not r.blank]
        inserts.sort(key=lambda x: x[0])
        out: list[str] = []
        pos = 0
        for at, piece in inserts:
            out.append(src[pos:at])
            out.append(piece)
            pos = at
        out.append(src[pos:])
        return "".join(out)

    def _tag_of(self, node: LexborNode) -> StartTag:
        """The source start tag a lexbor element came from, checked against what lexbor saw."""
        attrs = node.attributes
        raw = attrs.get(self._attr)
        tags = self._scan.tags
        if raw is None or not raw.isdigit() or int(raw) >= len(tags):
            raise FeedParseError(f"cannot locate <{node.tag}> in the source")
        tag = tags[int(raw)]
        if tag.name != node.tag:
            raise FeedParseError(f"tokenizer disagreement at offset {tag.start}")
        # What lexbor read, to check our attribute offsets against before a tag is rewritten.
        self._seen_attrs[tag.index] = attrs.keys() - {self._attr}
        return tag

    def _decoded_run(self, index: int) -> str:
        text = self._decoded.get(index)
        if text is None:
            run = self._scan.texts[index]
            text = self._decoded[index] = _decode(self._src[run.start : run.end])
        return text

    def _groups(self, root: LexborNode) -> list[tuple[list[int], LexborNode | None]]:
        """For each annotated DOM text node under ``root``: its run indexes and its parent element."""
        groups: list[tuple[list[int], LexborNode | None]] = []
        for node in root.traverse(include_text=True):
            if node.tag != "-text":
                continue
            content = node.text_content or ""
            parts = self._sentinel_re.split(content) if "\ue000" in content else []
            if len(parts) < 2:
                continue  # script/style text, or text the tokenizer saw as whitespace only
            # parts = [before, idx, text, idx, text, ...]; before may only be unannotated whitespace.
            if parts[0].strip("\t\n\f\r "):
                raise FeedParseError("text outside the tokenizer's runs")
            runs: list[int] = []
            for i in range(1, len(parts), 2):
                idx = int(parts[i])
                if idx >= len(self._scan.texts) or not parts[i + 1].startswith(self._decoded_run(idx)):
                    raise FeedParseError("tokenizer disagreement in text")
                runs.append(idx)
            groups.append((runs, node.parent))
        return groups

    def _region(self, node: LexborNode, *, multiline: bool) -> _Region:
        groups = self._groups(node)
        runs = [r for g, _ in groups for r in g]
        # Prefer a text node that sits in a block (or directly in the region), not in <b> or <a>.
        region_id = node.mem_id
        target = next(
            (g[0] for g, parent in groups if parent is None or parent.mem_id == region_id or parent.tag not in _INLINE),
            None,
        )
        if target is None and runs:
            target = runs[0]
        pieces: list[str] = []
        prev: int | None = None
        for r in runs:
            if prev is not None:
                pieces.append(self._separator(prev, r))
            pieces.append(self._decoded_run(r))
            prev = r
        joined = "".join(pieces)
        if multiline:
            lines = (" ".join(line.split()) for line in joined.split("\n"))
            text = "\n".join(line for line in lines if line)
        else:
            text = " ".join(joined.split())
        return _Region([g for g, _ in groups], runs, target, text)

    def _separator(self, a: int, b: int) -> str:
        """What separates two runs in the judged text: a line break at block tags, else a space."""
        texts = self._scan.texts
        start, end = texts[a].end, texts[b].start
        i = bisect_left(self._boundary_offsets, start)
        bounds = self._scan.boundaries
        while i < len(bounds) and bounds[i][0] < end:
            if bounds[i][1].lstrip("/") in _BLOCK:
                return "\n"
            i += 1
        return " " if b - a > 1 else ""

    @staticmethod
    def _by_owner(tree: LexborHTMLParser, selector: str, posts: dict[int, int]) -> dict[int, LexborNode]:
        """The first match of ``selector`` per post (by index), skipping matches in nested posts."""
        found: dict[int, LexborNode] = {}
        for node in tree.css(selector):
            parent = node.parent
            while parent is not None and parent.tag not in _POST_TAGS:
                parent = parent.parent
            owner = posts.get(parent.mem_id) if parent is not None else None
            if owner is not None and owner not in found:
                found[owner] = node
        return found

    def _images(self, box: LexborNode | None) -> list[_Image]:
        if box is None:
            return []
        img: LexborNode | None = None
        if box.css_first('gallery-carousel, shreddit-async-loader[bundlename="gallery_carousel"]'):
            img = next(iter(box.css("figure img[src]")), None)
        elif box.css_first(
            'shreddit-player-2, shreddit-player, shreddit-async-loader[bundlename="shreddit_player_2_loader"]'
        ):
            img = None  # video thumbnails are not processed (the extension's original backend skips them too)
        else:
            img = box.css_first("div.media-lightbox-img img.i18n-post-media-img")
            if img is None:
                img = next(
                    (
                        i
                        for i in box.css("img")
                        if not _has_class(i.attributes.get("class") or "", "post-background-image-filter")
                    ),
                    None,
                )
        if img is None:
            return []
        url = _browser_url(img.attributes.get("src") or "")
        if not url.startswith(("https://", "http://")):
            return []
        attrs = img.attributes
        return [_Image(url, attrs.get("alt") or "", self._tag_of(img).index, attrs.get("class") or "")]

    def _extract(self, tree: LexborHTMLParser) -> None:
        nodes = tree.css("shreddit-post")
        index = {node.mem_id: n for n, node in enumerate(nodes)}
        # Three document-wide queries instead of three per post.
        titles = self._by_owner(tree, 'a[slot="title"]', index)
        bodies = self._by_owner(tree, '[slot="text-body"]', index)
        media = self._by_owner(tree, 'div[slot="post-media-container"]', index)
        for n, node in enumerate(nodes):
            tag = self._tag_of(node)
            attrs = node.attributes
            title = self._region(titles[n], multiline=False) if n in titles else None
            body = self._region(bodies[n], multiline=True) if n in bodies else None
            images = self._images(media.get(n))
            post_id = attrs.get("id") or f"post-{n}"
            feed_post = FeedPost(
                post_id,
                title.text if title else "",
                body.text if body else "",
                [im.url for im in images],
                [im.alt for im in images],
            )
            self._posts.append(_Post(feed_post, tag.index, attrs.get(CURSOR_ATTR), title, body, images))
        for node in tree.css("faceplate-partial"):
            src = node.attributes.get("src") or ""
            if any(name in src for name in CURSOR_FEEDS):
                self._partials.append((self._tag_of(node).index, src))
        root = tree.root
        if root is not None:
            full = self._sentinel_re.sub("", root.text() or "")
            if markers.contains_token(full):
                self._defang_groups = [
                    g for g, _ in self._groups(root) if markers.contains_token("".join(self._decoded_run(r) for r in g))
                ]

    # -- rendering ---------------------------------------------------------------------------

    @property
    def posts(self) -> list[FeedPost]:
        return [p.post for p in self._posts]

    def render(self, edits: Mapping[str, PostEdit] | None = None, *, shift_cursor_for: str | None = None) -> str:
        runs: dict[int, str] = {}  # run index -> new source text
        tags: dict[int, dict[str, str]] = {}  # tag index -> attribute -> new decoded value
        for group in self._defang_groups:
            # Marker tokens typed by an author would make the extension innerHTML this text node.
            runs[group[0]] = markers.html_text_escape(markers.defang("".join(self._decoded_run(r) for r in group)))
            for r in group[1:]:
                runs[r] = ""
        for p in self._posts:
            edit = (edits or {}).get(p.post.id)
            if edit is None:
                continue
            if edit.title is not None and p.title is not None:
                self._edit_region(p.title, edit.title, runs)
            if edit.body is not None and p.body is not None:
                self._edit_region(p.body, edit.body, runs)
            for im in p.images:
                config = edit.images.get(im.url)
                if config is not None:
                    tags.setdefault(im.tag, {}).update(self._image_attrs(im, config))
        if shift_cursor_for:
            self._shift_cursor(shift_cursor_for, tags)
        if not runs and not tags:
            return self._src
        return self._splice(runs, tags)

    def _edit_region(self, region: _Region, edit: TextEdit, runs: dict[int, str]) -> None:
        if not region.runs:
            return  # no text node to carry a marker
        if isinstance(edit, Blur):
            patterns = markers.compile_spans(edit.spans)
            for group in region.groups:
                marked: dict[int, str] = {}
                for r in group:
                    text = self._decoded_run(r)
                    ranges = markers.find_ranges(text, patterns)
                    if ranges:
                        marked[r] = markers.blur_ranges(text, ranges)
                if marked:
                    # The extension re-parses the whole DOM text node: escape all of its runs.
                    for r in group:
                        body = marked.get(r) or markers.escape_content(self._decoded_run(r))
                        runs[r] = markers.html_text_escape(body)
            return
        if isinstance(edit, Overlay):
            if edit.rewrite is not None:
                marker = markers.overlay_rewrite(edit.warning, edit.rewrite)
            else:
                marker = markers.overlay(edit.warning, region.text)
        elif isinstance(edit, Rewrite):
            marker = markers.rewrite(edit.text)
        else:
            return
        target = region.target if region.target is not None else region.runs[0]
        # Keep the layout whitespace around the text; everything else moves into the one marker.
        own = self._decoded_run(target)
        lead = own[: len(own) - len(own.lstrip())] if len(region.runs) == 1 else ""
        trail = own[len(own.rstrip()) :] if len(region.runs) == 1 else ""
        for r in region.runs:
            runs[r] = ""
        runs[target] = markers.html_text_escape(lead + marker + trail)

    def _image_attrs(self, im: _Image, config: Mapping[str, Any]) -> dict[str, str]:
        attrs = {
            IMAGE_ATTR: orjson.dumps(config, default=str).decode(),
            "srcset": "",
        }
        if not _has_class(im.classes, PROCESSED_CLASS):
            attrs["class"] = f"{im.classes.strip()} {PROCESSED_CLASS}".strip()
        if str(config.get("status", "")).upper() == "COMPLETED":
            done = config.get("processedUrl") or config.get("processed_image_url")
            if isinstance(done, str) and done.startswith(_ALLOWED_SRC_SCHEMES):
                attrs["src"] = done
        return attrs

    def _shift_cursor(self, request_url: str, tags: dict[int, dict[str, str]]) -> None:
        """docs/protocol.md §2.1: make Reddit ask for the next batch earlier, to win processing time."""
        try:
            path = urlsplit(request_url).path
        except ValueError:
            return
        if any(name in path for name in CURSOR_FEEDS):
            for tag_index, src in self._partials:
                try:
                    after = dict(parse_qsl(urlsplit(src).query, keep_blank_values=True)).get("after")
                except ValueError:
                    continue
                token = (after or "").rstrip("=")
                if not token:
                    continue
                tags.setdefault(tag_index, {})["id"] = f"partial-more-posts-{token}"
                for i in CURSOR_POST_INDEXES:
                    if i < len(self._posts):
                        tags.setdefault(self._posts[i].tag, {})[CURSOR_ATTR] = token
                return
            return
        first = next((i for i, p in enumerate(self._posts) if p.cursor), None)
        if first is None:
            return
        cursor = self._posts[first].cursor or ""
        for p in self._posts[max(0, first - CURSOR_COPY_BACK) : first]:
            tags.setdefault(p.tag, {})[CURSOR_ATTR] = cursor

    def _splice(self, runs: dict[int, str], tags: dict[int, dict[str, str]]) -> str:
        src = self._src
        pieces: list[tuple[int, int, str]] = []
        for r, text in runs.items():
            run = self._scan.texts[r]
            pieces.append((run.start, run.end, text))
        for t, changes in tags.items():
            tag = self._scan.tags[t]
            pieces.append((tag.start, tag.end, self._rewrite_tag(tag, changes)))
        pieces.sort()
        out: list[str] = []
        pos = 0
        for start, end, text in pieces:
            out.append(src[pos:start])
            out.append(text)
            pos = end
        out.append(src[pos:])
        return "".join(out)

    def _rewrite_tag(self, tag: StartTag, changes: Mapping[str, str]) -> str:
        """The start tag with some attribute values replaced or added; all other bytes kept."""
        if {a.name for a in tag.attrs} != self._seen_attrs.get(tag.index):
            raise FeedParseError(f"tokenizer disagreement in the attributes at offset {tag.start}")
        src = self._src
        pending = dict(changes)
        out: list[str] = []
        pos = tag.start
        for a in tag.attrs:
            if a.name not in pending or tag.attr(a.name) is not a:
                continue
            raw_name = src[a.start : a.start + len(a.name)]
            out.append(src[pos : a.start])
            out.append(f'{raw_name}="{_attr_escape(pending.pop(a.name))}"')
            pos = a.end
        out.append(src[pos : tag.insert_at])
        for name, value in pending.items():
            out.append(f' {name}="{_attr_escape(value)}"')
        out.append(src[tag.insert_at : tag.end])
        return "".join(out)
