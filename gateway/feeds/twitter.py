"""X (Twitter) GraphQL home timelines: find tweets, write markers into ``legacy.full_text``.

Shapes read (``HomeTimeline`` / ``HomeLatestTimeline``)::

    data.home.home_timeline_urt.instructions[]            type TimelineAddEntries (.entries[]) or
                                                          TimelinePinEntry (.entry)
      entry.content.itemContent.tweet_results.result      a single tweet
      entry.content.items[].item.itemContent...           conversation modules
      result.__typename == "TweetWithVisibilityResults"   the tweet is under .tweet
      legacy.retweeted_status_result.result               a retweet shows the retweeted tweet
      result.note_tweet.note_tweet_results.result         a long post: full ``text`` with its own
                                                          ``entity_set`` and ``richtext.richtext_tags``
      result.quoted_status_result.result                  the quoted post, shown inside the card

Promoted entries (``itemContent.promotedMetadata``, entry ids starting with ``promoted``) are
skipped. Anything of another shape is skipped and left as it is; nothing here raises on odd JSON.

Text and indices. X escapes ``&``, ``<`` and ``>`` in ``full_text``; entity ``indices`` and
``display_text_range`` count code points of the *decoded* text, and X's client renders each plain
stretch between entities (links, mentions, hashtags) as one text node and hides what lies outside
``display_text_range``. So a marker pair must sit inside one plain stretch, within the range:

* Blur: markers go around each occurrence inside the visible text. An entity that an occurrence
  overlaps is dropped (its text stays, as plain text), so the marker pair is in one text node.
  The rest of the stretch holding a marker is escaped for the extension (see :mod:`.markers`).
* Overlay / rewrite: the whole visible range becomes one marker; entities inside it are dropped
  (a link would otherwise split the marker across elements), media entities are kept and moved.
* Entities after an edit are shifted by the number of code points inserted before them, and the
  end of ``display_text_range`` grows by the same amount, so the marker stays visible and the
  trailing media link stays hidden.

``FeedPost.body`` is the decoded visible range (what the user reads, without the hidden reply
prefix and media link). For a long post it is the ``note_tweet`` text, which X's client shows in
place of the truncated ``full_text``; an edit is written to both (the note with its own entity
ranges and rich-text ranges shifted the same way), so whichever copy a client shows carries it.
The note text is read and written with the same ``& < >`` escaping as ``full_text``.

A quoted post is its own :class:`FeedPost` (its own id) judged like any other; its edit is written
into ``quoted_status_result.result``. The same tweet met twice (quoted and in the timeline, or
quoted twice) is one post whose edit is written to every copy.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from . import jsonsplice, markers
from .model import FeedDocument, FeedParseError, FeedPost, PostEdit, TextEdit
from .spliced import first_by_id
from .textsplice import Span, splice

Path = tuple[str | int, ...]

_TIMELINE = ("data", "home", "home_timeline_urt", "instructions")
_X_ENTITY_RE = re.compile(r"&(amp|lt|gt|quot|#39);")
_X_ENTITY = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "#39": "'"}
_ALLOWED_MEDIA_SCHEMES = ("https://",)


def x_unescape(raw: str) -> str:
    """``full_text`` as X's client shows it (X itself only ever escapes ``& < >``)."""
    return _X_ENTITY_RE.sub(lambda m: _X_ENTITY[m[1]], raw) if "&" in raw else raw


def x_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def loads(body: str | bytes) -> Any:
    return jsonsplice.load(body.decode() if isinstance(body, bytes) else body, "X feed")


def dumps(tree: Any) -> str:
    """Compact JSON with key order and non-ASCII kept, as ``JSON.stringify`` writes it."""
    try:
        return orjson.dumps(tree).decode()
    except TypeError:
        return json.dumps(tree, ensure_ascii=False, separators=(",", ":"))


def _get(node: Any, *keys: str | int) -> Any:
    for key in keys:
        if isinstance(key, int):
            if not isinstance(node, list) or not -len(node) <= key < len(node):
                return None
        elif not isinstance(node, dict):
            return None
        node = node[key] if isinstance(key, int) else node.get(key)
    return node


@dataclass(slots=True)
class _Tweet:
    post: FeedPost
    legacy_path: Path  # to the legacy dict whose text and media the user sees
    note_path: Path | None = None  # to the long-post note result, when the tweet has one


_NOTE = ("note_tweet", "note_tweet_results", "result")


def _note(tweet: dict[str, Any]) -> dict[str, Any] | None:
    note = _get(tweet, *_NOTE)
    return note if isinstance(note, dict) and isinstance(note.get("text"), str) else None


def _unwrap(result: Any, path: Path) -> tuple[dict[str, Any], Path] | None:
    """The tweet inside a ``TweetWithVisibilityResults`` wrapper; None for tombstones and the like."""
    if not isinstance(result, dict):
        return None
    if result.get("__typename") == "TweetWithVisibilityResults" or (
        "legacy" not in result and isinstance(result.get("tweet"), dict)
    ):
        result, path = result.get("tweet"), (*path, "tweet")
        if not isinstance(result, dict):
            return None
    if not isinstance(result.get("legacy"), dict):
        return None
    return result, path


def _display_range(legacy: dict[str, Any], length: int) -> tuple[int, int]:
    r = legacy.get("display_text_range")
    if isinstance(r, list) and len(r) == 2 and all(type(v) is int for v in r) and 0 <= r[0] <= r[1] <= length:
        return r[0], r[1]
    return 0, length


def _photos(legacy: dict[str, Any]) -> list[dict[str, Any]]:
    media = _get(legacy, "extended_entities", "media")
    if not isinstance(media, list) or not media:
        media = _get(legacy, "entities", "media")
    if not isinstance(media, list):
        return []
    return [
        m
        for m in media
        if isinstance(m, dict)
        and m.get("type") == "photo"
        and isinstance(m.get("media_url_https"), str)
        and m["media_url_https"]
    ]


class XDocument(FeedDocument):
    platform = "x"

    def __init__(self, body: str) -> None:
        if not isinstance(body, str):
            raise FeedParseError("X feed body must be text")
        try:
            tree = loads(body)
        except UnicodeEncodeError as exc:  # lone surrogates in the str
            raise FeedParseError("X feed body is not valid Unicode") from exc
        if not isinstance(tree, dict):
            raise FeedParseError("X feed body is not a JSON object")
        self._src = body
        self._tweets: list[_Tweet] = []
        # Marker tokens typed by users anywhere in the JSON (names, bios, texts) are defanged on render.
        self._foreign = markers.contains_token(body) or ("\\u00" in body and _has_token(tree))
        instructions = _get(tree, *_TIMELINE)
        if not isinstance(instructions, list):
            return
        for i, ins in enumerate(instructions):
            kind = _get(ins, "type")
            if kind == "TimelineAddEntries":
                entries = _get(ins, "entries")
                for j, entry in enumerate(entries if isinstance(entries, list) else []):
                    self._entry(entry, (*_TIMELINE, i, "entries", j))
            elif kind == "TimelinePinEntry":
                self._entry(_get(ins, "entry"), (*_TIMELINE, i, "entry"))

    # -- parsing -----------------------------------------------------------------------------

    def _entry(self, entry: Any, path: Path) -> None:
        entry_id = _get(entry, "entryId")
        entry_id = entry_id if isinstance(entry_id, str) else ""
        if entry_id.startswith("promoted"):
            return
        item = _get(entry, "content", "itemContent")
        if isinstance(item, dict):
            self._item(item, (*path, "content", "itemContent"), entry_id, 0)
        items = _get(entry, "content", "items")
        for k, module_item in enumerate(items if isinstance(items, list) else []):
            sub_id = _get(module_item, "entryId")
            sub_id = sub_id if isinstance(sub_id, str) else entry_id
            if "promoted" in sub_id:
                continue
            item = _get(module_item, "item", "itemContent")
            if isinstance(item, dict):
                self._item(item, (*path, "content", "items", k, "item", "itemContent"), sub_id, k)

    def _item(self, item: dict[str, Any], path: Path, entry_id: str, index: int) -> None:
        if item.get("promotedMetadata"):
            return
        found = _unwrap(_get(item, "tweet_results", "result"), (*path, "tweet_results", "result"))
        if found is None:
            return
        tweet, tweet_path = found
        if tweet.get("promotedMetadata"):
            return
        legacy = tweet["legacy"]
        post_id = legacy.get("id_str") or tweet.get("rest_id")
        if not isinstance(post_id, str) or not post_id:
            post_id = f"unknown_{entry_id}_{index}"
        legacy_path: Path = (*tweet_path, "legacy")
        # A retweet's own full_text is a truncated "RT @user: ..."; X shows the retweeted tweet.
        inner = _unwrap(
            _get(legacy, "retweeted_status_result", "result"), (*legacy_path, "retweeted_status_result", "result")
        )
        if inner is not None:
            tweet, tweet_path = inner
        self._add(tweet, tweet_path, post_id, entry_id, index)
        quoted = _unwrap(
            _get(tweet, "quoted_status_result", "result"), (*tweet_path, "quoted_status_result", "result")
        )
        if quoted is not None:  # X shows one level of quote: a quote inside a quote is not rendered
            self._add(quoted[0], quoted[1], None, f"{entry_id}_quote", index)

    def _add(self, tweet: dict[str, Any], tweet_path: Path, post_id: str | None, entry_id: str, index: int) -> None:
        legacy = tweet["legacy"]
        if post_id is None:
            own = legacy.get("id_str") or tweet.get("rest_id")
            post_id = own if isinstance(own, str) and own else f"unknown_{entry_id}_{index}"
        raw = legacy.get("full_text")
        text = x_unescape(raw) if isinstance(raw, str) else ""
        start, end = _display_range(legacy, len(text))
        visible = text[start:end]
        note = _note(tweet)
        if note is not None:
            visible = x_unescape(note["text"])
        photos = _photos(legacy)
        alts = [a if isinstance(a := p.get("ext_alt_text"), str) else "" for p in photos]
        post = FeedPost(post_id, "", visible.strip(), [p["media_url_https"] for p in photos], alts)
        self._tweets.append(
            _Tweet(post, (*tweet_path, "legacy"), (*tweet_path, *_NOTE) if note is not None else None)
        )

    # -- rendering ---------------------------------------------------------------------------

    @property
    def posts(self) -> list[FeedPost]:
        return first_by_id([t.post for t in self._tweets])

    def render(self, edits: Mapping[str, PostEdit] | None = None, *, shift_cursor_for: str | None = None) -> str:
        todo = [
            (t, e)
            for t in self._tweets
            if (e := (edits or {}).get(t.post.id)) is not None and (e.body is not None or e.images)
        ]
        if not todo and not self._foreign:
            return self._src
        tree = loads(self._src)  # a fresh copy: render never mutates the parsed document
        changed = _defang_tree(tree) if self._foreign else False
        for tweet, edit in todo:
            legacy = _get(tree, *tweet.legacy_path)
            if not isinstance(legacy, dict):
                continue
            if edit.body is not None:
                changed |= _edit_text(legacy, edit.body)
                note = _get(tree, *tweet.note_path) if tweet.note_path is not None else None
                if isinstance(note, dict):
                    changed |= _edit_note(note, edit.body)
            if edit.images:
                changed |= _edit_images(legacy, edit.images)
        return dumps(tree) if changed else self._src


def _walk_strings(tree: Any) -> Iterator[tuple[dict[str, Any] | list[Any], str | int, str]]:
    stack = [tree]
    while stack:
        node = stack.pop()
        pairs = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in pairs:
            if isinstance(value, str):
                yield node, key, value
            elif isinstance(value, dict | list):
                stack.append(value)


def _has_token(tree: Any) -> bool:
    return any(markers.contains_token(v) for _, _, v in _walk_strings(tree))


def _defang_tree(tree: Any) -> bool:
    hits = [(node, key, value) for node, key, value in _walk_strings(tree) if markers.contains_token(value)]
    for node, key, value in hits:
        node[key] = markers.defang(value)  # type: ignore[index]  # same length: indices stay valid
    return bool(hits)


def _entities(lists: list[tuple[str, Any]], length: int) -> list[Span]:
    found: list[Span] = []
    for key, holder in lists:
        if not isinstance(holder, list):
            continue
        for item in holder:
            idx = item.get("indices") if isinstance(item, dict) else None
            if (
                isinstance(idx, list)
                and len(idx) == 2
                and all(type(v) is int for v in idx)
                and 0 <= idx[0] <= idx[1] <= length
            ):
                found.append(Span(holder, item, idx[0], idx[1], key == "media"))
    return found


def _legacy_entities(legacy: dict[str, Any], length: int) -> list[Span]:
    lists: list[tuple[str, Any]] = []
    ents = legacy.get("entities")
    if isinstance(ents, dict):
        lists += list(ents.items())
    lists.append(("media", _get(legacy, "extended_entities", "media")))
    return _entities(lists, length)


def _note_entities(note: dict[str, Any], length: int) -> list[Span]:
    """Links, mentions, hashtags of a long post, and its bold/italic ranges (``from_index``/``to_index``)."""
    ents = note.get("entity_set")
    found = _entities(list(ents.items()) if isinstance(ents, dict) else [], length)
    tags = _get(note, "richtext", "richtext_tags")
    for tag in tags if isinstance(tags, list) else []:
        a, b = _get(tag, "from_index"), _get(tag, "to_index")
        if type(a) is int and type(b) is int and 0 <= a <= b <= length:
            found.append(Span(tags, tag, a, b, False, ("from_index", "to_index")))
    return found


def _edit_text(legacy: dict[str, Any], edit: TextEdit) -> bool:
    raw = legacy.get("full_text")
    if not isinstance(raw, str):
        return False
    text = x_unescape(raw)
    start, end = _display_range(legacy, len(text))
    done = splice(text, start, end, _legacy_entities(legacy, len(text)), edit)
    if done is None:
        return False
    legacy["full_text"] = x_escape(done[0])
    if isinstance(legacy.get("display_text_range"), list):
        legacy["display_text_range"] = [start, done[1]]
    return True


def _edit_note(note: dict[str, Any], edit: TextEdit) -> bool:
    """The long-post copy: the whole text is shown, so the visible range is all of it."""
    text = x_unescape(note["text"])
    done = splice(text, 0, len(text), _note_entities(note, len(text)), edit)
    if done is None:
        return False
    note["text"] = x_escape(done[0])
    return True


def _edit_images(legacy: dict[str, Any], images: Mapping[str, Mapping[str, Any]]) -> bool:
    changed = False
    for holder in (_get(legacy, "extended_entities", "media"), _get(legacy, "entities", "media")):
        for media in holder if isinstance(holder, list) else []:
            if not isinstance(media, dict) or media.get("type") != "photo":
                continue
            config = images.get(media.get("media_url_https"))  # type: ignore[arg-type]
            if config is None:
                continue
            media["diy_mod_config"] = orjson.dumps(config, default=str).decode()
            if str(config.get("status", "")).upper() == "COMPLETED":
                done = config.get("processedUrl") or config.get("processed_image_url")
                if isinstance(done, str) and done.startswith(_ALLOWED_MEDIA_SCHEMES):
                    media["media_url_https"] = done
                    if "media_url" in media:
                        media["media_url"] = done
            changed = True
    return changed
