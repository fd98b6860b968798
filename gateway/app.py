"""The gateway: the stateless HTTP API the extension calls.

Routes are listed in one table below; each handler lives in the module named after its concern.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator

import redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp

from gateway import feed, filters, health, images, metrics, moderate, openapi
from gateway.chat import routes as chat
from gateway.chat.factory import make_chat_engine
from gateway.completions import CompletionWatcher
from gateway.cors import with_cors
from gateway.embedding_cache import RedisVectors
from gateway.expansions import FilterExpansions
from gateway.feed_judge import FeedJudge
from gateway.filter_store import FilterStore
from gateway.image_jobs import ImageQueue
from gateway.moderation.filter_expansion import make_expander
from gateway.moderation.from_settings import make_provider
from gateway.responses import ApiError, JSONResponse, error_response
from gateway.viewer import pages as viewer_pages
from gateway.viewer import samples as viewer_samples
from gateway.viewer import status as viewer_status
from shared import jobqueue, redisconn, speedups
from shared.auth import TokenVerifier
from shared.config import Settings, load_settings
from shared.moderation.offline import load_offline_model
from shared.moderation.open_vocab import OpenVocabMatcher
from shared.moderation.wordnet import shared_wordnet
from shared.serving import release_freed_memory

log = logging.getLogger("gateway")


def routes() -> list[BaseRoute]:
    return [
        Route("/ping", health.ping, methods=["GET"]),
        Route("/healthz", health.healthz, methods=["GET"]),
        Route("/metrics", metrics.metrics_endpoint, methods=["GET"]),
        Route("/get_feed", feed.get_feed, methods=["POST"]),
        Route("/v1/moderate", moderate.moderate, methods=["POST"]),
        Route("/filters", filters.list_filters, methods=["GET"]),
        Route("/filters", filters.create_filter, methods=["POST"]),
        Route("/filters/{filter_id}", filters.update_filter, methods=["PUT"]),
        Route("/filters/{filter_id}", filters.delete_filter, methods=["DELETE"]),
        Route("/user/update", filters.update_user, methods=["POST"]),
        Route("/chat", chat.chat, methods=["POST"]),
        Route("/chat/image", chat.chat_image, methods=["POST"]),
        Route("/images/jobs", images.queue_image_job, methods=["POST"]),
        Route("/get_img_result", images.get_img_result, methods=["GET"]),
        Route("/images/{blob_id}", images.serve_image, methods=["GET"]),
        # The demo viewer: page, its config, sample feeds and images, operator status.
        Route("/viewer", viewer_pages.page, methods=["GET"]),
        Route("/viewer/config", viewer_pages.config, methods=["GET"]),
        Route("/viewer/status", viewer_status.status, methods=["GET"]),
        Route("/viewer/samples/{platform}", viewer_samples.sample, methods=["GET"]),
        Route("/viewer/sample-image/{name}", viewer_samples.sample_image, methods=["GET"]),
        Mount("/viewer/static", app=viewer_pages.static_files(), name="viewer-static"),
        # This API described (OpenAPI 3.1) and rendered; the page's assets are served here, no CDN.
        Route("/openapi.json", openapi.openapi_json, methods=["GET"]),
        Route("/docs", openapi.docs_page, methods=["GET"]),
        Mount("/docs/static", app=openapi.docs_static(), name="docs-static"),
    ]


async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.message)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    return error_response(exc.status_code, str(exc.detail))


async def on_redis_down(request: Request, exc: Exception) -> JSONResponse:
    log.warning("redis unavailable during %s %s: %s", request.method, request.url.path, exc)
    return error_response(503, "storage temporarily unavailable, retry shortly")


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error in %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal error")


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or load_settings()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        client = redisconn.async_client(settings.require_redis_url(), cluster=settings.redis_cluster,
                                        parser=settings.redis_parser)
        broker = jobqueue.make_broker(settings.queue_broker_url(), middleware=[], parser=settings.redis_parser)
        app.state.settings = settings
        app.state.redis = client
        app.state.broker = broker
        app.state.filters = FilterStore(client)
        app.state.image_queue = ImageQueue(client, broker, settings.job_ttl_seconds, log_len=settings.event_log_len,
                                           log_seconds=settings.event_log_seconds, sharded=settings.redis_cluster)
        # Warm and loud: a missing or corrupt model stops the start with what to do (ModelUnavailable).
        model = await asyncio.to_thread(load_offline_model, settings)
        log.info("offline model ready in %.2f s (%s)", model.embedder.load.seconds, model.embedder.load.path)
        await asyncio.to_thread(shared_wordnet)  # the concepts' WordNet extract, sha256-checked (WordNetUnavailable)
        release_freed_memory()  # what loading freed (decompression, graph work) goes back to the OS
        app.state.vectors = RedisVectors(client, model.embedder)
        offline = OpenVocabMatcher(app.state.vectors, model.words)
        provider = make_provider(settings)
        if provider.name == offline.name:
            provider = offline  # "local" is the open-vocabulary matcher; the lexicon is its precision layer
        # With a cloud key, each distinct filter text is expanded once (in the background) for every provider.
        expander = make_expander(settings)
        app.state.expansions = expansions = None if expander is None else FilterExpansions(
            client, expander, app.state.vectors, ttl_seconds=settings.filter_expansion_ttl_seconds,
            retry_seconds=settings.filter_expansion_retry_seconds)
        # The offline matcher stands in when a cloud provider fails or runs out of time.
        app.state.judge = FeedJudge(client, provider, offline, settings.feed_time_budget_seconds, expansions)
        log.info("gateway process %d: moderation provider %s, filter expansion %s, %s", os.getpid(), provider.name,
                 expander.name if expander is not None else "off", speedups.describe_server(settings, client))
        app.state.chat = make_chat_engine(client, app.state.filters, settings)
        await app.state.completions.start()
        try:
            yield
        finally:
            await app.state.completions.stop()
            await app.state.chat.aclose()
            await app.state.judge.drain()  # verdicts being cached in the background, before Redis closes
            if expansions is not None:
                await expansions.aclose()
            closer = getattr(provider, "aclose", None)
            if closer is not None:
                await closer()
            broker.close()
            await app.state.vectors.aclose()  # background embedding writes finish first
            await client.aclose()

    app = Starlette(
        routes=routes(),
        lifespan=lifespan,
        exception_handlers={
            ApiError: on_api_error,
            HTTPException: on_http_error,
            redis.ConnectionError: on_redis_down,
            redis.TimeoutError: on_redis_down,
            Exception: on_unexpected,
        },
    )
    app.state.settings = settings
    app.state.verifier = TokenVerifier(settings) if settings.auth_mode == "token" else None
    # Created here, connected in the lifespan: the server's shutdown hook (gateway/__main__.py)
    # releases held polls before uvicorn waits for open requests.
    app.state.completions = CompletionWatcher(
        settings.redis_url, settings.poll_hold_max, sharded=settings.redis_cluster
    )
    return app


def wrap_asgi(app: Starlette) -> ASGIApp:
    """The app as served: request metrics around CORS around the routes."""
    return metrics.RequestMetrics(with_cors(app, app.state.settings.extra_origins))


def asgi_app(settings: Settings) -> ASGIApp:
    """The app as served, from settings (tests serve this one in process)."""
    return wrap_asgi(create_app(settings))


def configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("pika").setLevel(max(logging.WARNING, logging.getLogger().level))  # every AMQP step at INFO


def create_asgi_app() -> ASGIApp:
    """Entry point for uvicorn (``--factory``)."""
    settings = load_settings()
    configure_logging(settings)
    return asgi_app(settings)
