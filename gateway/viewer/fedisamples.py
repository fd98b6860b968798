"""Realistic Mastodon and Bluesky timelines for the viewer's samples, tests and benchmarks.

Written from the public API shapes (Mastodon's REST Status entity, Bluesky's ``app.bsky.feed``
lexicons), generated here rather than copied. Like :mod:`gateway.viewer.samplegen` the output is
deterministic for a seed and comes with the posts a correct parser should find. Mastodon bodies are
encoded as Mastodon's Rails serializer writes them (``<``, ``>``, ``&`` as ``\\u003c``-style escapes);
Bluesky bodies as ``JSON.stringify`` does.
"""

from __future__ import annotations

import html
import json
import random
from typing import Any

from gateway.feeds.model import FeedPost
from gateway.viewer.samplegen import TWEETS, GeneratedFeed

MASTODON_MEDIA = "https://files.mastodon.social/media_attachments/files"
BSKY_CDN = "https://cdn.bsky.app/img"
WARNINGS = ["", "", "", "politics", "food, eye contact", "spiders (photo)"]
NAMES = ["Ana 🌻", "Bob <b>", "Chloé", "Dmitri Иванов", "Eve & co", "舞"]


def rails_json(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _stamp(i: int) -> str:
    return f"2026-12-01T{10 + i // 60 % 10:02d}:{i % 60:02d}:00.000Z"


# -- Mastodon ---------------------------------------------------------------------------------


def _mastodon_content(text: str, rng: random.Random, i: int) -> tuple[str, str]:
    """(HTML content, the plain text a reader sees), with mentions, hashtags and links as Mastodon writes them."""
    paragraphs = [html.escape(p, quote=False) for p in text.split("\n\n")]
    paragraphs = [p.replace("\n", "<br>") for p in paragraphs]
    plain = text
    extra = rng.choice(["mention", "tag", "link", ""])
    if extra == "mention":
        paragraphs[0] = ('<span class="h-card" translate="no"><a href="https://mastodon.social/@bob" '
                         'class="u-url mention">@<span>bob</span></a></span> ') + paragraphs[0]
        plain = "@bob " + plain
    elif extra == "tag":
        paragraphs[-1] += (' <a href="https://mastodon.social/tags/news" class="mention hashtag" rel="tag">'
                           "#<span>news</span></a>")
        plain += " #news"
    elif extra == "link":
        paragraphs[-1] += (f' <a href="https://example.com/story/{i}" target="_blank" rel="nofollow noopener">'
                           f'<span class="invisible">https://</span><span class="">example.com/story/{i}</span>'
                           '<span class="invisible"></span></a>')
        plain += f" https://example.com/story/{i}"
    return "".join(f"<p>{p}</p>" for p in paragraphs), plain


def _mastodon_status(rng: random.Random, i: int, text: str, images: int) -> tuple[dict[str, Any], FeedPost]:
    content, plain = _mastodon_content(text, rng, i)
    warning = rng.choice(WARNINGS)
    sid = str(113_500_000_000_000_000 + i * 1000 + rng.randrange(1000))
    media = [{
        "id": f"{sid}{k}", "type": "image", "url": f"{MASTODON_MEDIA}/{sid}/original/{k}.jpg",
        "preview_url": f"{MASTODON_MEDIA}/{sid}/small/{k}.jpg", "remote_url": None,
        "description": rng.choice(["A spider on a porch", "Sourdough loaf", "Lake at dawn", ""]),
        "blurhash": "UBL_:rOpGG-oBUNG,qRj2so|=eE1w^n4S5NH",
        "meta": {"original": {"width": 1200, "height": 800}, "small": {"width": 480, "height": 320}},
    } for k in range(images)]
    account = {"id": str(100 + i % 6), "username": f"user{i % 6}", "acct": f"user{i % 6}@mastodon.social",
               "display_name": NAMES[i % 6], "avatar": f"https://files.mastodon.social/accounts/{i % 6}.png",
               "url": f"https://mastodon.social/@user{i % 6}"}
    status = {
        "id": sid, "created_at": _stamp(i), "in_reply_to_id": None, "in_reply_to_account_id": None,
        "sensitive": bool(warning), "spoiler_text": warning, "visibility": "public", "language": "en",
        "uri": f"https://mastodon.social/users/user{i % 6}/statuses/{sid}",
        "url": f"https://mastodon.social/@user{i % 6}/{sid}",
        "replies_count": rng.randrange(5), "reblogs_count": rng.randrange(9), "favourites_count": rng.randrange(40),
        "edited_at": None, "content": content, "reblog": None, "account": account,
        "media_attachments": media, "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None,
    }
    post = FeedPost(sid, warning, plain.strip(), [m["url"] for m in media], [m["description"] for m in media])
    return status, post


def mastodon_timeline(n_posts: int = 25, *, seed: int = 0) -> GeneratedFeed:
    """A ``/api/v1/timelines/home`` page: statuses with CWs, images, boosts, mentions, escapes."""
    rng = random.Random(f"mastodon-{seed}")
    statuses: list[dict[str, Any]] = []
    expected: list[FeedPost] = []
    kinds: dict[str, str] = {}
    for i in range(n_posts):
        kind = rng.choice(["text", "text", "image", "gallery", "boost"])
        images = {"image": 1, "gallery": 3}.get(kind, 0)
        status, post = _mastodon_status(rng, i, rng.choice(TWEETS), images)
        if kind == "boost":
            outer_id = str(int(status["id"]) + 1)
            status = {**status, "id": outer_id, "content": "", "spoiler_text": "", "sensitive": False,
                      "media_attachments": [], "reblog": status,
                      "account": {**status["account"], "id": "999", "username": "booster", "display_name": "Booster"}}
        statuses.append(status)
        expected.append(post)
        kinds[post.id] = kind
    return GeneratedFeed(rails_json(statuses), expected, kinds=kinds)


# -- Bluesky ----------------------------------------------------------------------------------


def _facet(text: str, needle: str, feature: dict[str, Any]) -> dict[str, Any]:
    start = len(text[: text.index(needle)].encode("utf-8"))
    return {"index": {"byteStart": start, "byteEnd": start + len(needle.encode("utf-8"))}, "features": [feature]}


def _bsky_text(rng: random.Random, i: int) -> tuple[str, list[dict[str, Any]]]:
    text = rng.choice(TWEETS)
    extra = rng.choice(["mention", "link", "tag", ""])
    if extra == "mention":
        text = f"@carol.bsky.social {text}"
        return text, [_facet(text, "@carol.bsky.social", {"$type": "app.bsky.richtext.facet#mention",
                                                          "did": "did:plc:carol"})]
    if extra == "link":
        link = f"example.com/café/{i}"
        text = f"{text} {link}"
        return text, [_facet(text, link, {"$type": "app.bsky.richtext.facet#link", "uri": f"https://{link}"})]
    if extra == "tag":
        text = f"{text} #news 🗞️"
        return text, [_facet(text, "#news", {"$type": "app.bsky.richtext.facet#tag", "tag": "news"})]
    return text, []


def _bsky_images(did: str, rng: random.Random, count: int) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.images#view", "images": [{
        "thumb": f"{BSKY_CDN}/feed_thumbnail/plain/{did}/bafk{rng.randrange(10**9)}@jpeg",
        "fullsize": f"{BSKY_CDN}/feed_fullsize/plain/{did}/bafk{rng.randrange(10**9)}@jpeg",
        "alt": rng.choice(["A spider on a porch", "Sourdough loaf", "Lake at dawn", ""]),
        "aspectRatio": {"width": 1200, "height": 800},
    } for _ in range(count)]}


def _bsky_post(rng: random.Random, i: int, embed: dict[str, Any] | None = None) -> tuple[dict[str, Any], FeedPost]:
    did = f"did:plc:user{i % 6}"
    text, facets = _bsky_text(rng, i)
    uri = f"at://{did}/app.bsky.feed.post/3l{i:04d}{rng.randrange(10**6):06d}"
    view: dict[str, Any] = {
        "uri": uri, "cid": f"bafyrei{i:04d}",
        "author": {"did": did, "handle": f"user{i % 6}.bsky.social", "displayName": NAMES[i % 6],
                   "avatar": f"{BSKY_CDN}/avatar/plain/{did}/bafk@jpeg", "labels": []},
        "record": {"$type": "app.bsky.feed.post", "createdAt": _stamp(i), "langs": ["en"], "text": text,
                   **({"facets": facets} if facets else {})},
        "replyCount": rng.randrange(5), "repostCount": rng.randrange(9), "likeCount": rng.randrange(40),
        "quoteCount": 0, "indexedAt": _stamp(i), "labels": [],
    }
    images: list[dict[str, Any]] = []
    if embed is not None:
        view["embed"] = embed
        media = embed.get("media", embed)
        images = media.get("images", []) if media.get("$type") == "app.bsky.embed.images#view" else []
    return view, FeedPost(uri, "", text.strip(), [x["fullsize"] for x in images], [x["alt"] for x in images])


def _view_record(view: dict[str, Any], embeds: list[dict[str, Any]]) -> dict[str, Any]:
    return {"$type": "app.bsky.embed.record#viewRecord", "uri": view["uri"], "cid": view["cid"],
            "author": view["author"], "value": view["record"], "labels": [], "indexedAt": view["indexedAt"],
            "embeds": embeds}


def bluesky_timeline(n_posts: int = 25, *, seed: int = 0) -> GeneratedFeed:
    """An ``app.bsky.feed.getTimeline`` page: facets over multi-byte text, images, quotes, reposts, replies."""
    rng = random.Random(f"bluesky-{seed}")
    feed: list[dict[str, Any]] = []
    expected: list[FeedPost] = []
    kinds: dict[str, str] = {}
    for i in range(n_posts):
        kind = rng.choice(["text", "text", "image", "gallery", "quote", "quote_media", "repost", "reply"])
        did = f"did:plc:user{i % 6}"
        item: dict[str, Any] = {}
        found: list[FeedPost] = []
        if kind in ("image", "gallery"):
            view, post = _bsky_post(rng, i, _bsky_images(did, rng, 1 if kind == "image" else 3))
        elif kind in ("quote", "quote_media"):
            quoted, quoted_post = _bsky_post(rng, i + 1000, _bsky_images(did, rng, 1) if rng.random() < 0.5 else None)
            record = _view_record(quoted, [quoted["embed"]] if "embed" in quoted else [])
            embed = ({"$type": "app.bsky.embed.record#view", "record": record} if kind == "quote" else
                     {"$type": "app.bsky.embed.recordWithMedia#view", "media": _bsky_images(did, rng, 1),
                      "record": {"$type": "app.bsky.embed.record#view", "record": record}})
            view, post = _bsky_post(rng, i, embed)
            found.append(quoted_post)
        else:
            view, post = _bsky_post(rng, i)
        if kind == "repost":
            item["reason"] = {"$type": "app.bsky.feed.defs#reasonRepost", "indexedAt": _stamp(i),
                              "by": {"did": "did:plc:booster", "handle": "booster.bsky.social"}}
        if kind == "reply":
            parent, parent_post = _bsky_post(rng, i + 2000)
            item["reply"] = {"root": {**parent, "$type": "app.bsky.feed.defs#postView"},
                             "parent": {**parent, "$type": "app.bsky.feed.defs#postView"}}
            expected.append(parent_post)
            kinds[parent_post.id] = "parent"
        item["post"] = view
        feed.append(item)
        expected.append(post)
        kinds[post.id] = kind
        for extra in found:
            expected.append(extra)
            kinds[extra.id] = "quoted"
    body = json.dumps({"feed": feed, "cursor": _stamp(n_posts)}, ensure_ascii=False, separators=(",", ":"))
    return GeneratedFeed(body, expected, kinds=kinds)
