"""Mastodon REST timelines (any instance): statuses in, the same JSON out with interventions.

Shapes read (``GET /api/v1/timelines/home``, ``/public``, ``/tag/:tag``, ``/list/:id``)::

    [ status, ... ]                  a JSON array of Status entities
    status.reblog                    a boost: the client shows the boosted status, so that is judged
    status.quote.quoted_status       a quote post (Mastodon 4.4): the client shows the quoted status
                                     inside the quoting one, so it is judged and edited as a post of its
                                     own (its own ``quote`` is shallow: an id, nothing shown, not read);
                                     null, or absent, when the quote is not accepted or is filtered
    status.content                   sanitised HTML (<p>, <br>, <a>, <span>)
    status.spoiler_text              the author's content warning ("" when none)
    status.sensitive                 media hidden behind the client's "sensitive" veil
    status.media_attachments[]       type "image": url, preview_url, description (alt text)

Interventions, in Mastodon's own vocabulary where it has one, so an unmodified web client shows them:

* Overlay (warning): ``spoiler_text`` becomes the warning (the author's own CW is kept after it), so
  the client collapses the post behind its native "Show more" button; ``sensitive`` is set when the
  post has media. With a rewrite (aggressive mode) the content becomes the rewrite marker as well.
* Blur: blur markers around each occurrence inside one HTML text run of ``content`` (a match that
  crosses a tag, e.g. a link, is not marked). The run is escaped for the extension (see
  :mod:`.markers`) and then for HTML; other runs are left as they were.
* Rewrite: ``content`` becomes ``<p>`` + the rewrite marker (escaped twice, as above) + ``</p>``.
* Images: each attachment gets ``diy_mod_config`` (the marker config, a JSON string, as on X); a
  COMPLETED result with an https URL replaces ``url`` and ``preview_url``; while a job is DEFERRED
  the status is marked ``sensitive`` so the web client veils the picture until the user clicks.

The post's ``title`` is the author's content warning (judged, never edited). A status met twice (in the
timeline and quoted, or boosted twice) is one post, edited wherever it appears. Bodies are edited in
place (:mod:`.jsonsplice`): everything outside changed values keeps its bytes, Rails escapes included.
Anything of another shape is skipped; only a body that is not a JSON array is refused.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Any

import orjson

from . import htmlscan, jsonsplice, markers
from .model import Blur, FeedParseError, FeedPost, Overlay, PostEdit, Rewrite, TextEdit
from .spliced import SplicedDocument, get_path

Path = jsonsplice.Path

_BREAK_RE = re.compile(r"<br\s*/?>", re.I)
_PARAGRAPH_RE = re.compile(r"</p>\s*<p[^>]*>", re.I)
_TAG_RE = re.compile(r"<[^>]*>")
_ALLOWED_MEDIA_SCHEMES = ("https://",)
CW_JOIN = " \u00b7 "  # warning · author's own CW


def content_text(content: str) -> str:
    """What the reader sees of ``content``: paragraphs and line breaks as newlines, tags dropped."""
    text = _PARAGRAPH_RE.sub("\n\n", _BREAK_RE.sub("\n", content))
    return html.unescape(_TAG_RE.sub("", text)).strip()


@dataclass(slots=True)
class _Status:
    post: FeedPost
    path: Path  # to the status object the client shows (the boosted one for a boost)
    media: list[int]  # indices in media_attachments of the images in post.image_urls

    @property
    def prefixes(self) -> tuple[Path, ...]:
        return (self.path,)


def _images(status: dict[str, Any]) -> tuple[list[int], list[str], list[str]]:
    media = status.get("media_attachments")
    found: tuple[list[int], list[str], list[str]] = ([], [], [])
    for k, item in enumerate(media if isinstance(media, list) else []):
        if not isinstance(item, dict) or item.get("type") != "image":
            continue
        url = item.get("url")
        if isinstance(url, str) and url:
            alt = item.get("description")
            found[0].append(k)
            found[1].append(url)
            found[2].append(alt if isinstance(alt, str) else "")
    return found


class MastodonDocument(SplicedDocument[_Status]):
    platform = "mastodon"

    def __init__(self, body: str) -> None:
        tree = jsonsplice.load(body, "Mastodon timeline")
        if not isinstance(tree, list):
            raise FeedParseError("Mastodon timeline body is not a JSON array of statuses")
        super().__init__(body, tree)
        for i, status in enumerate(tree):
            if not isinstance(status, dict):
                continue
            path: Path = (i,)
            if isinstance(status.get("reblog"), dict):
                status, path = status["reblog"], (i, "reblog")
            self._add(status, path, f"unknown_{i}")
            quote = status.get("quote")
            quoted = quote.get("quoted_status") if isinstance(quote, dict) else None
            if isinstance(quoted, dict):
                self._add(quoted, (*path, "quote", "quoted_status"), f"unknown_{i}_quoted")

    def _add(self, status: dict[str, Any], path: Path, fallback_id: str) -> None:
        sid = status.get("id")
        content = status.get("content")
        spoiler = status.get("spoiler_text")
        indices, urls, alts = _images(status)
        post = FeedPost(
            sid if isinstance(sid, str) and sid else fallback_id,
            spoiler.strip() if isinstance(spoiler, str) else "",
            content_text(content) if isinstance(content, str) else "",
            urls,
            alts,
        )
        self._items.append(_Status(post, path, indices))

    def _values(self, item: _Status, edit: PostEdit) -> dict[Path, Any]:
        node = get_path(self._tree, item.path)
        if not isinstance(node, dict):
            return {}
        return {
            (*item.path, *key) if isinstance(key, tuple) else (*item.path, key): value
            for key, value in _status_changes(node, edit, item.media).items()
        }


def _status_changes(status: dict[str, Any], edit: PostEdit, media: list[int]) -> dict[Any, Any]:
    """New values by key (or by (media_attachments, k, key) for an attachment) for one status."""
    out: dict[Any, Any] = {}
    content = status.get("content")
    if edit.body is not None and isinstance(content, str):
        out.update(_text_changes(status, content, edit.body, bool(media)))
    attachments = status.get("media_attachments")
    veil = False
    for k in media:
        item = attachments[k] if isinstance(attachments, list) and k < len(attachments) else None
        if not isinstance(item, dict):
            continue
        config = edit.images.get(item.get("url"))  # type: ignore[arg-type]
        if config is None:
            continue
        out[("media_attachments", k, "diy_mod_config")] = orjson.dumps(config, default=str).decode()
        done = config.get("processedUrl") or config.get("processed_image_url")
        if str(config.get("status", "")).upper() == "COMPLETED" and isinstance(done, str) and done.startswith(
            _ALLOWED_MEDIA_SCHEMES
        ):
            out[("media_attachments", k, "url")] = done
            if "preview_url" in item:
                out[("media_attachments", k, "preview_url")] = done
        else:
            veil = True
    if veil and status.get("sensitive") is not True:
        out["sensitive"] = True
    return out


def _text_changes(status: dict[str, Any], content: str, edit: TextEdit, has_media: bool) -> dict[Any, Any]:
    if isinstance(edit, Blur):
        blurred = blur_content(content, edit.spans)
        return {"content": blurred} if blurred != content else {}
    if isinstance(edit, Rewrite):
        return {"content": _paragraph(markers.rewrite(edit.text))}
    if isinstance(edit, Overlay):
        own = status.get("spoiler_text")
        own = own.strip() if isinstance(own, str) else ""
        warning = markers.sanitize_warning(edit.warning)
        out: dict[Any, Any] = {"spoiler_text": warning + CW_JOIN + own if own else warning}
        if has_media or status.get("media_attachments"):
            if status.get("sensitive") is not True:
                out["sensitive"] = True
        if edit.rewrite is not None:
            out["content"] = _paragraph(markers.rewrite(edit.rewrite))
        return out
    return {}


def _paragraph(marker: str) -> str:
    return "<p>" + markers.html_text_escape(marker) + "</p>"


def blur_content(content: str, spans: tuple[str, ...]) -> str:
    """``content`` with blur markers around each occurrence inside a text run; other bytes kept."""
    patterns = markers.compile_spans(spans)
    if not patterns:
        return content
    scan = htmlscan.scan(content)
    out: list[str] = []
    pos = 0
    for run in scan.texts:
        if run.raw or run.blank:
            continue
        text = html.unescape(content[run.start : run.end])
        ranges = markers.find_ranges(text, patterns)
        if not ranges:
            continue
        out.append(content[pos : run.start])
        out.append(markers.html_text_escape(markers.blur_ranges(text, ranges)))
        pos = run.end
    out.append(content[pos:])
    return "".join(out)
