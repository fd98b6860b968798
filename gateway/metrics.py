"""Prometheus metrics of the gateway (served at /metrics, summed over its processes), and the
middleware that times requests. Queue depths are read from the queue broker (Redis or RabbitMQ) when scraped."""

from __future__ import annotations

import time

import anyio
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import DramatiqError
from pika.exceptions import AMQPError
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.apidoc import TEXT, DocContext, Paths, Schema
from shared.jobqueue import CLOUD_QUEUE, LOCAL_QUEUE, NAMESPACE, rabbitmq_queue_counts
from shared.metrics_export import exposition

registry = CollectorRegistry()

requests_total = Counter("gateway_requests_total", "HTTP requests", ["route", "method", "status"], registry=registry)
request_seconds = Histogram(
    "gateway_request_seconds", "HTTP request duration", ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=registry,
)
provider_calls = Counter("gateway_provider_calls_total", "Moderation provider calls", ["provider"], registry=registry)
provider_fallbacks = Counter("gateway_provider_fallbacks_total", "Pages judged by the fallback provider",
                             registry=registry)
posts_judged = Counter("gateway_posts_judged_total", "Posts judged", ["source"], registry=registry)
filter_expansions = Counter("gateway_filter_expansions_total", "Filter expansion calls by outcome (stored, failed)",
                            ["outcome"], registry=registry)
image_jobs = Counter("gateway_image_jobs_total", "Image requests by outcome (queued, pending, done, failed)", ["state"],
                     registry=registry)
held_polls = Gauge("gateway_held_polls", "/get_img_result polls held while their job runs", registry=registry)
poll_holds = Counter(
    "gateway_poll_holds_total",
    "Held polls by how they ended (done, failed, timeout, disconnect, closing, lost; refused: not held)",
    ["outcome"], registry=registry,
)
inline_images = Counter("gateway_inline_images_total", "Deferred local images of /get_feed, by whether they "
                        "finished within FEED_INLINE_WAIT_SECONDS", ["finished"], registry=registry)
# Several processes: the depth read by the latest scrape, whichever process served it.
queue_depth = Gauge("gateway_image_queue_depth", "Messages waiting in an imaging queue", ["queue"], registry=registry,
                    multiprocess_mode="mostrecent")


def route_name(scope: Scope) -> str:
    for route in scope["app"].routes if "app" in scope else ():
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", "other")
    return "unmatched"


class RequestMetrics:
    """Counts and times every HTTP request by route template (not raw path: bounded labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_name(scope)
            requests_total.labels(route, scope["method"], str(status)).inc()
            request_seconds.labels(route).observe(time.perf_counter() - started)


async def metrics_endpoint(request: Request) -> Response:
    client = request.app.state.redis
    broker = getattr(request.app.state, "broker", None)
    try:
        for queue in (LOCAL_QUEUE, CLOUD_QUEUE):
            if broker is not None and not isinstance(broker, RedisBroker):
                depth, delayed, _dead = await anyio.to_thread.run_sync(rabbitmq_queue_counts, broker, queue)
            else:
                depth = await client.llen(f"{NAMESPACE}:{queue}")
                delayed = await client.llen(f"{NAMESPACE}:{queue}.DQ")  # retries waiting for their backoff
            queue_depth.labels(queue).set(depth)
            queue_depth.labels(queue + ".delayed").set(delayed)
    except (redis.ConnectionError, redis.TimeoutError, AMQPError, DramatiqError):
        pass  # the scrape still answers; depths keep their last values
    return Response(exposition(registry, request.app.state.settings), media_type=CONTENT_TYPE_LATEST)


OPENAPI_SCHEMAS: dict[str, Schema] = {}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/metrics": {"get": {
            "summary": "Prometheus metrics of this gateway (summed over its processes)", "tags": ["health"],
            "responses": {"200": {"description": "Prometheus text format.", **TEXT}},
        }},
    }
