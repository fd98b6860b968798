"""Bluesky feeds through any AppView host: ``app.bsky.feed.getTimeline``, ``getFeed``, ``getAuthorFeed``.

Shapes read (lexicons ``app.bsky.feed.defs``, ``app.bsky.embed.*``)::

    {"feed": [feedViewPost, ...], "cursor": ...}
    feedViewPost.post                      a PostView: uri, author.did, record, embed, labels
    feedViewPost.reply.parent / .root      PostViews the client shows above a reply (judged too)
    feedViewPost.reason                    a repost: ``post`` is already the reposted post
    post.record.text, .facets[]            plain text; facet.index.byteStart/byteEnd in UTF-8 bytes
    post.embed  images#view                images[]: thumb, fullsize, alt
                recordWithMedia#view       .media (images#view) and .record.record (the quote)
                record#view                .record: a viewRecord (the quoted post: value.text,
                                           value.facets, embeds[0] for its images)

A quoted post is its own :class:`FeedPost` (id = its at:// URI); the same URI met twice is one post
whose edit goes to every copy.

Text edits follow :mod:`.textsplice` (facets play the part of X's entities: the client renders
each facet as its own element, so a facet a blurred occurrence overlaps is dropped, its text kept).
Every facet after an edit is moved by the UTF-8 length of what was inserted before it; a facet
whose offsets do not fall on character boundaries is dropped when its post's text is edited.

Native warnings: the official client blurs media that carry the ``graphic-media`` label when the
label's ``src`` is the post's author (a self-label needs no labeler subscription). So an overlay
on a post with images, and an image whose job is still DEFERRED, add that self-label to the view's
``labels``; the text itself carries the overlay marker (Bluesky has no native text warning that a
self-label triggers). Bodies are edited in place (:mod:`.jsonsplice`); all else keeps its bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from . import jsonsplice
from .model import FeedParseError, FeedPost, Overlay, PostEdit, TextEdit
from .spliced import SplicedDocument, get_path
from .textsplice import Span, splice

Path = jsonsplice.Path

IMAGES_VIEW = "app.bsky.embed.images#view"
RECORD_VIEW = "app.bsky.embed.record#view"
RECORD_WITH_MEDIA_VIEW = "app.bsky.embed.recordWithMedia#view"
VIEW_RECORD = "app.bsky.embed.record#viewRecord"
WARN_LABEL = "graphic-media"
_ALLOWED_MEDIA_SCHEMES = ("https://",)


@dataclass(slots=True)
class _Post:
    post: FeedPost
    view: Path  # the PostView or viewRecord (holds labels, author)
    record: Path  # the record with text and facets (view.record or view.value)
    images: Path | None  # the images#view object, if any

    @property
    def prefixes(self) -> tuple[Path, ...]:
        return (self.view, self.record) + ((self.images,) if self.images is not None else ())


def _image_list(view: Any) -> list[dict[str, Any]]:
    images = view.get("images") if isinstance(view, dict) else None
    return [i for i in images if isinstance(i, dict)] if isinstance(images, list) else []


class BlueskyDocument(SplicedDocument[_Post]):
    platform = "bluesky"

    def __init__(self, body: str) -> None:
        tree = jsonsplice.load(body, "Bluesky feed")
        if not isinstance(tree, dict) or not isinstance(tree.get("feed"), list):
            raise FeedParseError('Bluesky feed body is not an object with a "feed" array')
        super().__init__(body, tree)
        for i, item in enumerate(tree["feed"]):
            if not isinstance(item, dict):
                continue
            for path in (("feed", i, "reply", "parent"), ("feed", i, "reply", "root"), ("feed", i, "post")):
                self._post_view(path)

    def _images_at(self, embed_path: Path) -> Path | None:
        """Where the images#view of an embed view is: the embed itself or its ``media``."""
        kind = get_path(self._tree, (*embed_path, "$type"))
        if kind == IMAGES_VIEW:
            return embed_path
        if kind == RECORD_WITH_MEDIA_VIEW and get_path(self._tree, (*embed_path, "media", "$type")) == IMAGES_VIEW:
            return (*embed_path, "media")
        return None

    def _post_view(self, path: Path) -> None:
        view = get_path(self._tree, path)
        if not isinstance(view, dict) or not isinstance(view.get("record"), dict):
            return  # notFoundPost, blockedPost, or no post at all
        kind = get_path(view, ("embed", "$type"))
        quote: Path | None = None
        if kind == RECORD_WITH_MEDIA_VIEW:
            quote = (*path, "embed", "record", "record")
        elif kind == RECORD_VIEW:
            quote = (*path, "embed", "record")
        self._add(view, path, (*path, "record"), self._images_at((*path, "embed")))
        quoted = get_path(self._tree, quote) if quote is not None else None
        if quote is not None and isinstance(quoted, dict) and quoted.get("$type") == VIEW_RECORD:
            if isinstance(quoted.get("value"), dict):
                self._add(quoted, quote, (*quote, "value"), self._images_at((*quote, "embeds", 0)))

    def _add(self, view: dict[str, Any], path: Path, record_path: Path, images: Path | None) -> None:
        record = get_path(self._tree, record_path)
        text = record.get("text") if isinstance(record, dict) else None
        uri = view.get("uri")
        post_id = uri if isinstance(uri, str) and uri else "unknown_" + "_".join(map(str, path))
        listed = _image_list(get_path(self._tree, images)) if images else []
        pictures = [i for i in listed if _web_url(i.get("fullsize"))]
        self._items.append(_Post(
            FeedPost(
                post_id,
                "",
                text.strip() if isinstance(text, str) else "",
                [p["fullsize"] for p in pictures],
                [a if isinstance(a := p.get("alt"), str) else "" for p in pictures],
            ),
            path,
            record_path,
            images,
        ))

    def _values(self, item: _Post, edit: PostEdit) -> dict[Path, Any]:
        values: dict[Path, Any] = {}
        warn = False
        record = get_path(self._tree, item.record)
        if edit.body is not None and isinstance(record, dict):
            values.update({(*item.record, k): v for k, v in edit_record(record, edit.body).items()})
            warn = isinstance(edit.body, Overlay) and bool(item.post.image_urls)
        if edit.images and item.images is not None:
            changed, deferred = _image_changes(get_path(self._tree, item.images), edit.images)
            values.update({(*item.images, *k): v for k, v in changed.items()})
            warn |= deferred
        view = get_path(self._tree, item.view)
        if warn and isinstance(view, dict):
            labels = with_warn_label(view)
            if labels is not None:
                values[(*item.view, "labels")] = labels
        return values


def _web_url(url: object) -> bool:
    return isinstance(url, str) and url.startswith(("https://", "http://"))


def _https(url: object) -> bool:
    return isinstance(url, str) and url.startswith(_ALLOWED_MEDIA_SCHEMES)


def utf8_to_cp(text: str, encoded: bytes, offset: object) -> int | None:
    """The code point index of a UTF-8 byte offset; None unless it is on a character boundary."""
    if type(offset) is not int or not 0 <= offset <= len(encoded):
        return None
    if offset < len(encoded) and (encoded[offset] & 0xC0) == 0x80:
        return None  # inside a multi-byte character
    return len(encoded[:offset].decode("utf-8"))


def edit_record(record: dict[str, Any], edit: TextEdit) -> dict[str, Any]:
    """New ``text`` (and ``facets``, when the record has them) of a post record; {} if unchanged."""
    text = record.get("text")
    if not isinstance(text, str):
        return {}
    encoded = text.encode("utf-8")
    facets = record.get("facets")
    proxies: list[Any] = []
    spans: list[Span] = []
    for facet in facets if isinstance(facets, list) else []:
        index = facet.get("index") if isinstance(facet, dict) else None
        a = utf8_to_cp(text, encoded, get_path(index, ("byteStart",)))
        b = utf8_to_cp(text, encoded, get_path(index, ("byteEnd",)))
        if a is None or b is None or a > b:
            continue  # broken offsets: the facet could not be kept right after an edit
        proxy = {"indices": [a, b], "facet": facet}
        proxies.append(proxy)
        spans.append(Span(proxies, proxy, a, b, False))
    done = splice(text, 0, len(text), spans, edit)
    if done is None:
        return {}
    new_text = done[0]
    out: dict[str, Any] = {"text": new_text}
    if isinstance(facets, list):
        out["facets"] = [_moved(new_text, p["facet"], *p["indices"]) for p in proxies]
    return out


def _moved(text: str, facet: dict[str, Any], a: int, b: int) -> dict[str, Any]:
    start = len(text[:a].encode("utf-8"))
    end = start + len(text[a:b].encode("utf-8"))
    return {**facet, "index": {**facet["index"], "byteStart": start, "byteEnd": end}}


def _image_changes(view: Any, images: Mapping[str, Mapping[str, Any]]) -> tuple[dict[Path, Any], bool]:
    """(new values under the images#view, whether any job is still DEFERRED)."""
    out: dict[Path, Any] = {}
    deferred = False
    raw = view.get("images") if isinstance(view, dict) else None
    for k, image in enumerate(raw if isinstance(raw, list) else []):
        if not isinstance(image, dict):
            continue
        config = images.get(image.get("fullsize"))  # type: ignore[arg-type]
        if config is None:
            continue
        out[("images", k, "diy_mod_config")] = orjson.dumps(config, default=str).decode()
        done = config.get("processedUrl") or config.get("processed_image_url")
        if str(config.get("status", "")).upper() == "COMPLETED" and _https(done):
            out[("images", k, "fullsize")] = done
            out[("images", k, "thumb")] = done
        else:
            deferred = True
    return out, deferred


def with_warn_label(view: dict[str, Any]) -> list[Any] | None:
    """The view's labels plus an author self-label ``graphic-media``; None if already there."""
    labels = view.get("labels")
    labels = list(labels) if isinstance(labels, list) else []
    did = get_path(view, ("author", "did"))
    if not isinstance(did, str):
        return None
    if any(isinstance(x, dict) and x.get("val") == WARN_LABEL and x.get("src") == did for x in labels):
        return None
    label: dict[str, Any] = {"src": did, "uri": view.get("uri"), "val": WARN_LABEL}
    if isinstance(view.get("cid"), str):
        label["cid"] = view["cid"]
    stamp = view.get("indexedAt")
    label["cts"] = stamp if isinstance(stamp, str) else "1970-01-01T00:00:00.000Z"
    return [*labels, label]

