"""POST /v1/moderate: posts in, decisions out, for any front end (a reader app, a mobile client, ...).

The same engine as /get_feed (gateway.page_moderation): the user's filters, one provider call per
request, the verdict cache, the time budget and fallback, image jobs whose completion the worker
announces on the user's socket. Instead of a rewritten feed body the answer says, per post, every
matching filter with the action its intensity implies, and per image the job status.

Spans are in UTF-16 code units (JavaScript string indices, also Java/Kotlin/C#/Swift NSString), as
``[start, end)`` over the field they name, and never split a character: a span that would end before
a combining mark, a variation selector, a skin-tone modifier or a zero-width joiner is widened to
take the whole cluster in.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from gateway import apidoc
from gateway.apidoc import USER_ID, DocContext, Paths, Schema
from gateway.auth import authorised_user
from gateway.feeds import Blur, FeedPost, Overlay, Rewrite, TextEdit, markers
from gateway.inputs import read_json_object
from gateway.page_moderation import MAX_IMAGES_PER_POST, PageModeration, moderate_page
from gateway.policy import plan_post
from gateway.responses import ApiError, JSONResponse
from shared import keys
from shared.limits import (
    MAX_ALT_TEXT_CHARS,
    MAX_LANGUAGE_CHARS,
    MAX_MODERATE_POSTS,
    MAX_POST_ID_CHARS,
    MAX_POST_TEXT_CHARS,
    MAX_URL_CHARS,
)
from shared.moderation.types import PostVerdict
from shared.urls import http_url


@dataclass(frozen=True)
class PostIn:
    post: FeedPost
    language: str | None


def _text(value: Any, where: str, max_len: int, *, required: bool = False) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise ApiError(422, f"{where} must be a string")
    if len(value) > max_len:
        raise ApiError(422, f"{where} must be at most {max_len} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ApiError(422, f"{where} is not valid Unicode (lone surrogate)") from exc
    return value


def posts_value(raw: Any) -> list[PostIn]:
    if not isinstance(raw, list):
        raise ApiError(422, "posts must be an array")
    if not 1 <= len(raw) <= MAX_MODERATE_POSTS:
        raise ApiError(422, f"posts must hold 1 to {MAX_MODERATE_POSTS} posts")
    out: list[PostIn] = []
    seen: set[str] = set()
    for i, item in enumerate(raw):
        where = f"posts[{i}]"
        if not isinstance(item, dict):
            raise ApiError(422, f"{where} must be an object")
        post_id = item.get("id")
        if not isinstance(post_id, str) or not post_id or len(post_id) > MAX_POST_ID_CHARS:
            raise ApiError(422, f"{where}.id must be a string of 1 to {MAX_POST_ID_CHARS} characters")
        if post_id in seen:
            raise ApiError(422, f"{where}.id {post_id!r} is given twice")
        seen.add(post_id)
        text = _text(item.get("text"), f"{where}.text", MAX_POST_TEXT_CHARS, required=True)
        title = _text(item.get("title"), f"{where}.title", MAX_POST_TEXT_CHARS)
        language = _text(item.get("language"), f"{where}.language", MAX_LANGUAGE_CHARS) or None
        images = item.get("images") or []
        if not isinstance(images, list) or len(images) > MAX_IMAGES_PER_POST:
            raise ApiError(422, f"{where}.images must be an array of at most {MAX_IMAGES_PER_POST} images")
        urls: list[str] = []
        alts: list[str] = []
        for k, image in enumerate(images):
            if not isinstance(image, dict):
                raise ApiError(422, f"{where}.images[{k}] must be an object")
            url = image.get("url")
            normal = http_url(url) if isinstance(url, str) and len(url) <= MAX_URL_CHARS else None
            if normal is None:
                raise ApiError(422, f"{where}.images[{k}].url must be an absolute http(s) URL")
            urls.append(normal)
            alts.append(_text(image.get("alt"), f"{where}.images[{k}].alt", MAX_ALT_TEXT_CHARS))
        out.append(PostIn(FeedPost(post_id, title, text, urls, alts), language))
    return out


def _extends_cluster(ch: str) -> bool:
    return (
        unicodedata.category(ch) in ("Mn", "Me", "Mc")
        or ch in ("\u200d", "\ufe0f", "\ufe0e")
        or "\U0001f3fb" <= ch <= "\U0001f3ff"  # skin-tone modifiers
        or "\U000e0020" <= ch <= "\U000e007f"  # tag characters (subdivision flags)
    )


def whole_clusters(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen ``[start, end)`` (code points) so it neither starts nor ends inside a character cluster."""
    while start > 0 and start < len(text) and _extends_cluster(text[start]):
        start -= 1
    while end < len(text) and (_extends_cluster(text[end]) or (end > 0 and text[end - 1] == "\u200d")):
        end += 1
    return start, end


def utf16_index(text: str, index: int) -> int:
    return len(text[:index].encode("utf-16-le")) // 2


def spans_in(field: str, text: str, spans: tuple[str, ...]) -> list[dict[str, Any]]:
    out = []
    merged: list[tuple[int, int]] = []
    for a, b in markers.find_spans(text, spans):
        a, b = whole_clusters(text, a, b)
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    for a, b in merged:
        out.append({"field": field, "start": utf16_index(text, a), "end": utf16_index(text, b), "text": text[a:b]})
    return out


def action_of(post: FeedPost, title: TextEdit | None, body: TextEdit | None) -> dict[str, Any]:
    edit = body or title
    if isinstance(edit, Blur):
        spans = spans_in("title", post.title, edit.spans) + spans_in("body", post.body, edit.spans)
        return {"action": "blur", "spans": spans}
    if isinstance(edit, Overlay):
        return {"action": "overlay", "warning": edit.warning}
    if isinstance(edit, Rewrite):
        rewrite: dict[str, str] = {}
        if isinstance(title, Rewrite):
            rewrite["title"] = title.text
        if isinstance(body, Rewrite):
            rewrite["body"] = body.text
        return {"action": "rewrite", "rewrite": rewrite}
    return {"action": "none"}


def post_decision(item: PostIn, verdict: PostVerdict | None, page: PageModeration) -> dict[str, Any]:
    post = item.post
    by_id = {f.id: f for f in page.filters}
    matches: list[dict[str, Any]] = []
    for match in verdict.matches if verdict is not None else []:
        filter_ = by_id.get(match.filter_id)
        if filter_ is None:
            continue
        # The action this filter alone implies: the feed's policy, applied to this one match.
        assert verdict is not None
        alone = plan_post(PostVerdict(post.id, [match], verdict.rewritten_title, verdict.rewritten_body),
                          by_id, can_rewrite=page.can_rewrite, has_images=bool(post.image_urls))
        entry: dict[str, Any] = {
            "filter_id": filter_.id, "filter_text": filter_.filter_text, "intensity": filter_.intensity,
            "on": match.on, "confidence": match.confidence, "reason": match.reason,
        }
        if alone.text_intervention is not None:
            entry.update(action_of(post, alone.title, alone.body))
        else:
            entry["action"] = "image"
        entry["notes"] = alone.notes
        matches.append(entry)
    plan = page.plans.get(post.id)
    chosen = action_of(post, plan.title, plan.body) if plan is not None and plan.text_intervention else None
    images = []
    for url, config in page.images.get(post.id, {}).items():
        status: dict[str, Any] = {
            "url": url, "status": config["status"], "intervention": config["intervention"],
            "filters": config["filters"],
            "wait_id": keys.wait_id(url, config["filters"]),
            "job_id": keys.job_id(url, config["filters"], config["intervention"]),
        }
        if config["status"] == "COMPLETED":
            status["result_url"] = config["processedUrl"]
        images.append(status)
    out: dict[str, Any] = {"id": post.id, "matches": matches, "text": chosen, "images": images}
    if item.language is not None:
        out["language"] = item.language
    return out


async def moderate(request: Request) -> JSONResponse:
    started = time.perf_counter()
    data = await read_json_object(request, request.app.state.settings.max_body_bytes)
    user_id = await authorised_user(request, data.get("user_id"))
    items = posts_value(data.get("posts"))
    page = await moderate_page(request.app.state, user_id, [i.post for i in items], started)
    judgement = page.judgement
    verdicts = judgement.verdicts if judgement is not None else {}
    return JSONResponse({
        "status": "success",
        "posts": [post_decision(item, verdicts.get(item.post.id), page) for item in items],
        "moderation": {
            "filters": len(page.filters),
            "provider": judgement.provider if judgement is not None else None,
            "provider_calls": judgement.provider_calls if judgement is not None else 0,
            "cached_posts": judgement.cached if judgement is not None else 0,
            "fallback": judgement.fallback if judgement is not None else None,
            "undecided": judgement.undecided if judgement is not None else [],
            "images_inline": page.inline,
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 2),
        },
    })


SPAN: Schema = {
    "type": "object",
    "required": ["field", "start", "end", "text"],
    "description": "[start, end) in UTF-16 code units (JavaScript string indices) of the named field; never "
                   "splits a character cluster (combining marks, emoji modifiers and ZWJ sequences are kept whole).",
    "properties": {
        "field": {"type": "string", "enum": ["title", "body"]},
        "start": {"type": "integer", "minimum": 0},
        "end": {"type": "integer", "minimum": 0},
        "text": {"type": "string", "description": "The blurred text itself, to check the offsets against."},
    },
}
TEXT_ACTION: Schema = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"type": "string", "enum": ["blur", "overlay", "rewrite", "image", "none"]},
        "spans": {"type": "array", "items": SPAN, "description": "blur: what to blur."},
        "warning": {"type": "string", "description": "overlay: the warning to show over the post."},
        "rewrite": {"type": "object", "properties": {"title": {"type": "string"}, "body": {"type": "string"}},
                    "description": "rewrite: the rewritten text (providers that can rewrite only)."},
    },
}
EXAMPLE_REQUEST = {
    "user_id": "reader-42",
    "posts": [
        {"id": "p1", "title": "Front line report", "text": "Tanks near the border 🇺🇦, war footage inside.",
         "images": [{"url": "https://media.example/tank.jpg", "alt": "a tank"}], "language": "en"},
        {"id": "p2", "text": "Café opening today ☕"},
    ],
}
EXAMPLE_RESPONSE = {
    "status": "success",
    "posts": [
        {"id": "p1", "language": "en",
         "matches": [{"filter_id": 3, "filter_text": "war", "intensity": 2, "on": "text", "confidence": 0.93,
                      "reason": "mentions war", "action": "blur", "notes": [],
                      "spans": [{"field": "body", "start": 29, "end": 32, "text": "war"}]}],
         "text": {"action": "blur", "spans": [{"field": "body", "start": 29, "end": 32, "text": "war"}]},
         "images": [{"url": "https://media.example/tank.jpg", "status": "DEFERRED", "intervention": "blur",
                     "filters": ["war"], "wait_id": "9f2c…", "job_id": "41ab…"}]},
        {"id": "p2", "matches": [], "text": None, "images": []},
    ],
    "moderation": {"filters": 1, "provider": "local", "provider_calls": 1, "cached_posts": 0, "fallback": None,
                   "undecided": [], "images_inline": 0, "elapsed_ms": 4.1},
}

OPENAPI_SCHEMAS: dict[str, Schema] = {
    "ModerateRequest": {
        "type": "object",
        "required": ["posts"],
        "properties": {
            "user_id": USER_ID,
            "posts": {
                "type": "array", "minItems": 1, "maxItems": MAX_MODERATE_POSTS,
                "items": {
                    "type": "object",
                    "required": ["id", "text"],
                    "properties": {
                        "id": apidoc.string(MAX_POST_ID_CHARS, 1, description="Unique within the request."),
                        "text": apidoc.string(MAX_POST_TEXT_CHARS),
                        "title": apidoc.string(MAX_POST_TEXT_CHARS),
                        "language": apidoc.string(MAX_LANGUAGE_CHARS, description="BCP 47 tag; echoed back."),
                        "images": {
                            "type": "array", "maxItems": MAX_IMAGES_PER_POST,
                            "items": {"type": "object", "required": ["url"], "properties": {
                                "url": apidoc.string(MAX_URL_CHARS, 1, format="uri",
                                                     description="Absolute http(s) URL."),
                                "alt": apidoc.string(MAX_ALT_TEXT_CHARS),
                            }},
                        },
                    },
                },
            },
        },
        "examples": [EXAMPLE_REQUEST],
    },
    "ModerateResponse": {
        "type": "object",
        "required": ["status", "posts", "moderation"],
        "properties": {
            "status": {"const": "success"},
            "posts": {"type": "array", "items": {
                "type": "object",
                "required": ["id", "matches", "text", "images"],
                "properties": {
                    "id": {"type": "string"},
                    "language": {"type": "string"},
                    "matches": {"type": "array", "items": {"allOf": [TEXT_ACTION, {
                        "type": "object",
                        "required": ["filter_id", "filter_text", "on", "confidence", "reason"],
                        "properties": {
                            "filter_id": {"type": "integer"}, "filter_text": {"type": "string"},
                            "intensity": {"type": "integer"}, "on": {"type": "string", "enum": ["text", "image"]},
                            "confidence": {"type": "number"}, "reason": {"type": "string"},
                            "notes": {"type": "array", "items": {"type": "string"}},
                        },
                    }]}, "description": "Every matching filter, with the action its own intensity implies."},
                    "text": {"oneOf": [TEXT_ACTION, {"type": "null"}],
                             "description": "What /get_feed would do to the text (strongest filter wins)."},
                    "images": {"type": "array", "items": {
                        "type": "object",
                        "required": ["url", "status", "intervention", "filters", "wait_id", "job_id"],
                        "properties": {
                            "url": {"type": "string"},
                            "status": {"type": "string", "enum": ["DEFERRED", "COMPLETED"]},
                            "intervention": {"type": "string"},
                            "filters": {"type": "array", "items": {"type": "string"}},
                            "wait_id": {"type": "string",
                                        "description": "What the socket's completion frame and /get_img_result name."},
                            "job_id": {"type": "string"},
                            "result_url": {"type": "string", "description": "COMPLETED: the transformed image."},
                        },
                    }},
                },
            }},
            "moderation": {"type": "object", "description": "Provider, calls, cache hits, fallback, elapsed time."},
        },
        "examples": [EXAMPLE_RESPONSE],
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/v1/moderate": {"post": {
            "summary": "Moderate posts of any platform for one user",
            "description": f"Judges up to {MAX_MODERATE_POSTS} posts against the user's active filters in one "
                           "provider call (verdict "
                           "cache, time budget and fallback as /get_feed). Per post: every matching filter with "
                           "its action (blur spans in UTF-16 code units, overlay warning, rewrite text) and the "
                           "job status of each image; a DEFERRED image's completion arrives on the user's "
                           "WebSocket like a feed image's.",
            "tags": ["moderation"],
            "requestBody": {**apidoc.request_body(doc.user_body("ModerateRequest")),
                            "content": {"application/json": {
                                "schema": doc.user_body("ModerateRequest"),
                                "examples": {"two posts": {"value": EXAMPLE_REQUEST}}}}},
            "responses": {"200": {**apidoc.json_body(apidoc.ref("ModerateResponse"), "Decisions per post."),
                                  "content": {"application/json": {
                                      "schema": apidoc.ref("ModerateResponse"),
                                      "examples": {"two posts": {"value": EXAMPLE_RESPONSE}}}}},
                          **apidoc.errors(*doc.body_errors)},
        }},
    }
