"""Image routes: queue a job, poll for its result (the shipped extension's path), serve results."""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive

from gateway import apidoc, metrics
from gateway.apidoc import USER_ID, DocContext, Paths, Schema, ref
from gateway.auth import authorised_user
from gateway.completions import CompletionWatcher
from gateway.image_jobs import ImageQueue, Lookup
from gateway.inputs import query_param, read_json_object, string_field
from gateway.responses import ApiError, JSONResponse
from shared import keys, storage
from shared.imagejobs import ImageJob
from shared.jobqueue import CLOUD_INTERVENTIONS, INTERVENTION_ALIASES, LOCAL_INTERVENTIONS, canonical_intervention
from shared.limits import MAX_FILTER_TEXT_CHARS, MAX_FILTERS_PER_REQUEST, MAX_URL_CHARS
from shared.urls import http_url


def image_url_value(value: Any, name: str = "image_url") -> str:
    if not isinstance(value, str) or not value:
        raise ApiError(422, f"{name} must be a non-empty string")
    if len(value) > MAX_URL_CHARS:
        raise ApiError(422, f"{name} is longer than {MAX_URL_CHARS} characters")
    url = http_url(value)
    if url is None:
        raise ApiError(422, f"{name} must be an absolute http(s) URL")
    return url  # the browser's serialisation (shared/urls.py), as jobs are keyed


def filters_value(value: Any) -> list[str]:
    """Filters as a list of strings; a bare string is one filter (as the original accepted)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(f, str) for f in value):
        raise ApiError(422, "filters must be a list of strings")
    if len(value) > MAX_FILTERS_PER_REQUEST or any(len(f) > MAX_FILTER_TEXT_CHARS for f in value):
        raise ApiError(422, f"at most {MAX_FILTERS_PER_REQUEST} filters of up to {MAX_FILTER_TEXT_CHARS} characters")
    return value


def filters_query(raw: str) -> list[str]:
    """``filters`` query parameter: a JSON array (what the extension sends) or a bare string."""
    if raw.lstrip().startswith("["):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ApiError(400, "filters looks like JSON but does not parse") from exc
        return filters_value(parsed)
    return filters_value(raw)


def _queue(request: Request) -> ImageQueue:
    return request.app.state.image_queue


def completed_body(result: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"status": "COMPLETED", "processed_value": result["url"]}
    if result.get("base64_url"):
        body["base64_url"] = result["base64_url"]
    for extra in ("intervention", "note"):
        if result.get(extra):
            body[extra] = result[extra]
    return body


async def queue_image_job(request: Request) -> JSONResponse:
    """POST /images/jobs {user_id, image_url, filters, intervention, filter_text?, intensity?}."""
    data = await read_json_object(request, request.app.state.settings.max_body_bytes)
    user_id = await authorised_user(request, data.get("user_id"))
    image_url = image_url_value(data.get("image_url"))
    filters = filters_value(data.get("filters", []))
    requested = string_field(data, "intervention", required=False, default="blur", max_len=64)
    intervention = canonical_intervention(requested or "blur")
    if intervention is None:
        raise ApiError(422, f"unknown intervention {requested!r}")
    intensity = data.get("intensity", 3)
    if isinstance(intensity, bool) or not isinstance(intensity, int) or not 1 <= intensity <= 5:
        raise ApiError(422, "intensity must be an integer from 1 to 5")
    filter_text = string_field(data, "filter_text", required=False, default="", max_len=MAX_FILTER_TEXT_CHARS) or ""
    job = ImageJob(
        image_url=image_url,
        filters=tuple(filters),
        intervention=intervention,
        filter_text=filter_text or ", ".join(filters),
        intensity=intensity,
    )
    outcome = await _queue(request).request(user_id, job)
    if outcome.state == "done" and outcome.result is not None:
        return JSONResponse({**completed_body(dict(outcome.result)), "job_id": job.job_id}, status_code=200)
    if outcome.state == "failed":
        # Failed within the failure TTL: said at once, as a poll would say it; no new job.
        return JSONResponse({**failed_body(outcome.failure or {}), "job_id": job.job_id}, status_code=200)
    return JSONResponse(
        {"status": outcome.state, "job_id": job.job_id, "wait_id": job.wait_id}, status_code=202
    )


def failed_body(failure: dict[str, Any]) -> dict[str, Any]:
    # Not in the original: a job that failed for good says so instead of "pending forever".
    return {"status": "FAILED", "reason": failure.get("reason", "failed")}


def poll_answer(found: Lookup) -> dict[str, Any]:
    if found.result is not None:
        return completed_body(dict(found.result))
    if found.failure is not None:
        return failed_body(found.failure)
    return {"status": "NOT FOUND"}


async def client_gone(receive: Receive) -> None:
    """Returns when the client disconnects (a GET's only other message is its empty body)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def get_img_result(request: Request) -> JSONResponse:
    """GET /get_img_result?img_url=&filters= (docs/protocol.md §4). Always 200: the extension burns its
    poll attempts without waiting on non-2xx answers.

    While a job for the image is queued or running, the poll is held (up to POLL_HOLD_SECONDS)
    and answered the moment the job ends, so the extension's first poll, sent right after the
    feed, already brings the result. Past the hold, at the cap of held polls, or when the gateway
    shuts down, it answers as it always did."""
    image_url = image_url_value(query_param(request, "img_url"), "img_url")
    filters = filters_query(query_param(request, "filters"))
    queue = _queue(request)
    wait = keys.wait_id(image_url, filters)
    found = await queue.lookup(wait)
    hold = request.app.state.settings.poll_hold_seconds
    if found.result is not None or found.failure is not None or not found.pending or hold <= 0:
        return JSONResponse(poll_answer(found))
    watcher: CompletionWatcher = request.app.state.completions
    async with watcher.watch([wait]) as futures:
        if futures is None:
            metrics.poll_holds.labels("refused").inc()
            return JSONResponse(poll_answer(found))
        # Subscribed before this second read: a job ending from here on is heard of.
        found = await queue.lookup(wait)
        if found.result is None and found.failure is None and found.pending:
            metrics.held_polls.inc()
            try:
                outcome = await hold_until_ended(futures[wait], request.receive, hold)
            finally:
                metrics.held_polls.dec()
            metrics.poll_holds.labels(outcome).inc()
            if outcome == "disconnect":
                return JSONResponse({"status": "NOT FOUND"})  # nobody reads it
            found = await queue.lookup(wait)
    return JSONResponse(poll_answer(found))


async def hold_until_ended(ended: asyncio.Future[str], receive: Receive, hold: float) -> str:
    """Wait for the job's end, the client leaving or the hold running out; say which it was."""
    gone = asyncio.ensure_future(client_gone(receive))
    try:
        await asyncio.wait((ended, gone), timeout=hold, return_when=asyncio.FIRST_COMPLETED)
        if ended.done():
            return ended.result()
        return "disconnect" if gone.done() else "timeout"
    finally:
        gone.cancel()


async def serve_image(request: Request) -> Response:
    blob_id = request.path_params["blob_id"]
    if not storage.valid_blob_id(blob_id):
        raise ApiError(404, "no such image")
    found = await storage.get_blob(request.app.state.redis, blob_id)
    if found is None:
        raise ApiError(404, "no such image (expired or never stored)")
    data, mime = found
    # Content-addressed: the bytes behind a URL never change.
    return Response(
        data,
        media_type=mime,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
            "Cross-Origin-Resource-Policy": "cross-origin",
        },
    )


OPENAPI_SCHEMAS: dict[str, Schema] = {
    "ImageJobRequest": {
        "type": "object",
        "required": ["image_url"],
        "properties": {
            "user_id": USER_ID,
            "image_url": apidoc.string(MAX_URL_CHARS, 1, format="uri", description="Absolute http(s) URL."),
            "filters": {
                "oneOf": [
                    {"type": "array", "maxItems": MAX_FILTERS_PER_REQUEST,
                     "items": apidoc.string(MAX_FILTER_TEXT_CHARS)},
                    apidoc.string(MAX_FILTER_TEXT_CHARS, description="One filter."),
                ],
            },
            "intervention": {"type": "string",
                             "enum": sorted({*LOCAL_INTERVENTIONS, *CLOUD_INTERVENTIONS, *INTERVENTION_ALIASES})},
            "filter_text": apidoc.string(MAX_FILTER_TEXT_CHARS),
            "intensity": {"type": "integer", "minimum": 1, "maximum": 5},
        },
    },
    "ImageJobQueued": {
        "type": "object",
        "required": ["status", "job_id", "wait_id"],
        "properties": {
            "status": {"type": "string", "enum": ["queued", "pending"]},
            "job_id": {"type": "string"},
            "wait_id": {"type": "string"},
        },
    },
    "ImageCompleted": {
        "type": "object",
        "required": ["status", "processed_value"],
        "properties": {
            "status": {"const": "COMPLETED"},
            "processed_value": apidoc.string(description="URL of the processed image on this gateway."),
            "base64_url": apidoc.string(description="The same image as a data: URL when small."),
            "intervention": apidoc.string(),
            "note": apidoc.string(),
            "job_id": apidoc.string(),
        },
    },
    "ImageFailed": {
        "type": "object",
        "required": ["status", "reason"],
        "properties": {"status": {"const": "FAILED"}, "reason": {"type": "string"}, "job_id": {"type": "string"}},
    },
    "ImagePoll": {
        "oneOf": [
            ref("ImageCompleted"),
            ref("ImageFailed"),
            {"type": "object", "required": ["status"], "properties": {"status": {"const": "NOT FOUND"}}},
        ],
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/images/jobs": {"post": {
            "summary": "Queue an image job (or get its finished result)", "tags": ["images"],
            "requestBody": apidoc.request_body(doc.user_body("ImageJobRequest")),
            "responses": {
                "200": apidoc.json_body({"oneOf": [ref("ImageCompleted"), ref("ImageFailed")]},
                                        "Already done, or failed within the failure TTL (no job queued)."),
                "202": apidoc.json_body(ref("ImageJobQueued"), "Queued (first waiter) or pending (already queued)."),
                **apidoc.errors(*doc.body_errors),
            },
        }},
        "/get_img_result": {"get": {
            "summary": "Poll an image result (what the shipped extension does)", "tags": ["images"],
            "description": "While a job for the image is queued or running, the answer waits for it (up to "
                           "POLL_HOLD_SECONDS) and comes the moment it ends.",
            "parameters": [
                apidoc.query("img_url", apidoc.string(MAX_URL_CHARS, 1, format="uri"), required=True),
                apidoc.query("filters", apidoc.string(min_len=1), required=True,
                             description="A JSON array of strings, or one bare filter."),
            ],
            "responses": {"200": apidoc.json_body(ref("ImagePoll"), "Always 200 for a well-formed poll."),
                          **apidoc.errors(400, 422, 503)},
        }},
        "/images/{blob_id}": {"get": {
            "summary": "A processed image (content-addressed, immutable)", "tags": ["images"],
            "parameters": [apidoc.path_param("blob_id", {"type": "string"})],
            "responses": {"200": {"description": "The image.",
                                  "content": {"image/*": {"schema": {"type": "string"}}}},
                          **apidoc.errors(404, 503)},
        }},
    }
