"""Base of the codecs that edit a JSON body in place (Mastodon, Bluesky): posts, render, defanging."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, Generic, Protocol, TypeVar

from . import jsonsplice, markers
from .model import FeedDocument, FeedPost, PostEdit

Path = jsonsplice.Path


class Located(Protocol):
    post: FeedPost

    @property
    def prefixes(self) -> tuple[Path, ...]: ...  # the subtrees its edits may touch


L = TypeVar("L", bound=Located)


def first_by_id(posts: list[FeedPost]) -> list[FeedPost]:
    """One post per id (the same post may appear twice: quoted and in the timeline, boosted twice)."""
    seen: dict[str, FeedPost] = {}
    for post in posts:
        seen.setdefault(post.id, post)
    return list(seen.values())


def get_path(tree: Any, path: Path) -> Any:
    for key in path:
        if isinstance(key, int):
            tree = tree[key] if isinstance(tree, list) and 0 <= key < len(tree) else None
        else:
            tree = tree.get(key) if isinstance(tree, dict) else None
    return tree


class SplicedDocument(FeedDocument, Generic[L]):
    """Subclasses fill ``_items`` while parsing and say, per item, which values an edit sets."""

    def __init__(self, body: str, tree: Any) -> None:
        self._src = body
        self._tree = tree
        self._items: list[L] = []

    @property
    def posts(self) -> list[FeedPost]:
        return first_by_id([item.post for item in self._items])

    @abstractmethod
    def _values(self, item: L, edit: PostEdit) -> dict[Path, Any]:
        """New values by full path (an existing value, or a new key of an existing object)."""

    def render(self, edits: Mapping[str, PostEdit] | None = None, *, shift_cursor_for: str | None = None) -> str:
        todo = [(i, e) for i in self._items if (e := (edits or {}).get(i.post.id)) is not None and not e.is_empty()]
        foreign = jsonsplice.has_foreign_token(self._src, self._tree)
        if not todo and not foreign:
            return self._src
        prefixes = {p for item, _ in todo for p in item.prefixes}
        spans = jsonsplice.value_spans(self._src, None if foreign else jsonsplice.under(prefixes))
        values: dict[Path, Any] = {}
        for item, edit in todo:
            values.update(self._values(item, edit))
        if foreign:  # containers we re-encode (facets, labels) carry their strings over: defang those too
            values = {p: _defanged(v) if isinstance(v, dict | list) else v for p, v in values.items()}
        changes = jsonsplice.changes_for(self._src, spans, values)
        if foreign:
            changes += jsonsplice.defang_changes(self._src, spans, skip=set(values))
        return jsonsplice.splice(self._src, changes) if changes else self._src


def _defanged(value: Any) -> Any:
    if isinstance(value, str):
        return markers.defang(value)
    if isinstance(value, list):
        return [_defanged(v) for v in value]
    if isinstance(value, dict):
        return {k: _defanged(v) for k, v in value.items()}
    return value
