"""``GET /viewer/status``: live figures for operators, from the processes' own metrics.

* notifier: its Prometheus text at ``NOTIFIER_URL/metrics`` (sockets, users, events in, frames out,
  replays); rates per second are computed against the previous sample this process took;
* imaging queues: Dramatiq's Redis keys, read directly (``<namespace>:<queue>`` and its ``.DQ``
  delay queue are lists, ``.XQ`` dead letters a sorted set, ``__acks__.<broker>.<queue>`` sets hold
  the messages a worker has taken, running or prefetched). Brokers with a recent heartbeat in
  ``__heartbeats__`` are the ones looked at; gateways enqueue through a broker too, so that count
  is not a count of workers and is reported as ``brokers_alive``;
* gateway: this process's own metrics registry, when the gateway has one.

Every part degrades on its own: a notifier that is down or a Redis error shows up as an error in its
part, never as a failed request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx
import redis
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import DramatiqError
from pika.exceptions import AMQPError
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request

from gateway import apidoc
from gateway import metrics as gateway_metrics
from gateway.apidoc import OBJECT, DocContext, Paths, Schema
from gateway.responses import JSONResponse
from shared.config import Settings
from shared.jobqueue import CLOUD_QUEUE, HEARTBEAT_TIMEOUT_MS, LOCAL_QUEUE, NAMESPACE, rabbitmq_queue_counts
from shared.metrics_export import all_processes

NOTIFIER_TIMEOUT_SECONDS = 1.5
BROKER_HEARTBEAT_MS = HEARTBEAT_TIMEOUT_MS  # brokers seen within this are alive
RATE_WINDOW_SECONDS = 30.0
NOTIFIER_GAUGES = {
    "notifier_sockets": "sockets",
    "notifier_users": "users",
    "notifier_send_queue_frames": "send_queue_frames",
}
NOTIFIER_COUNTERS = {
    "notifier_events_in": "events_in_total",
    "notifier_frames_out": "frames_out_total",
    "notifier_replayed": "replayed_total",
    "notifier_idle_closes": "idle_closes_total",
    "notifier_slow_client_closes": "slow_closes_total",
    "notifier_pubsub_reconnects": "pubsub_reconnects_total",
}


@dataclass
class RateMemory:
    """The previous notifier sample of this gateway process, for per-second rates."""

    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)

    def rates(self, now: float, totals: dict[str, float]) -> dict[str, float | None]:
        self.samples = [s for s in self.samples if now - s[0] <= RATE_WINDOW_SECONDS]
        out: dict[str, float | None] = {}
        base = self.samples[0] if self.samples else None
        for name in ("events_in_total", "frames_out_total"):
            key = name.replace("_total", "_per_second")
            if base is None or now - base[0] < 0.5 or name not in base[1] or name not in totals:
                out[key] = None
                continue
            delta = totals[name] - base[1][name]
            out[key] = round(max(0.0, delta) / (now - base[0]), 2)  # a restarted notifier counts from 0
        self.samples.append((now, totals))
        return out


def parse_notifier_metrics(text: str) -> dict[str, float]:
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in NOTIFIER_GAUGES:
                values[NOTIFIER_GAUGES[sample.name]] = sample.value
            elif sample.name.endswith("_total") and sample.name[: -len("_total")] in NOTIFIER_COUNTERS:
                values[NOTIFIER_COUNTERS[sample.name[: -len("_total")]]] = sample.value
    return values


async def notifier_status(settings: Settings, memory: RateMemory) -> dict[str, Any]:
    url = settings.notifier_url.rstrip("/") + "/metrics"
    out: dict[str, Any] = {"url": url}
    try:
        async with httpx.AsyncClient(timeout=NOTIFIER_TIMEOUT_SECONDS) as client:
            response = await client.get(url)
        response.raise_for_status()
        values = parse_notifier_metrics(response.text)
    except (httpx.HTTPError, ValueError) as exc:
        out.update(ok=False, error=f"{type(exc).__name__}: {exc}"[:200] or "unreachable")
        return out
    out.update(ok=True, **values, **memory.rates(time.monotonic(), values))
    return out


async def rabbitmq_queue_status(broker: Any) -> dict[str, Any]:
    """The same shape from RabbitMQ: it reports ready, delayed and dead-lettered messages; messages
    a worker holds unacknowledged are not counted there, so ``running`` is not known (None)."""
    by_queue: dict[str, dict[str, int | None]] = {}
    try:
        for queue in (LOCAL_QUEUE, CLOUD_QUEUE):
            ready, delayed, dead = await anyio.to_thread.run_sync(rabbitmq_queue_counts, broker, queue)
            by_queue[queue] = {"queued": ready, "delayed": delayed, "claimed": None, "dead": dead}
    except (AMQPError, DramatiqError) as exc:
        return {"ok": False, "error": f"rabbitmq: {exc}"[:200]}
    return {
        "ok": True,
        "brokers_alive": None,
        "queues": by_queue,
        "queued": sum((q["queued"] or 0) + (q["delayed"] or 0) for q in by_queue.values()),
        "running": None,
    }


async def queue_status(client: Any, broker: Any = None) -> dict[str, Any]:
    """Per imaging queue: queued, delayed (retry backoff), claimed (running or prefetched), dead."""
    if broker is not None and not isinstance(broker, RedisBroker):
        return await rabbitmq_queue_status(broker)
    now_ms = int(time.time() * 1000)
    try:
        brokers = [w.decode() if isinstance(w, bytes) else str(w) for w in await client.zrangebyscore(
            f"{NAMESPACE}:__heartbeats__", now_ms - BROKER_HEARTBEAT_MS, "+inf")]
        pipe = client.pipeline(transaction=False)
        queues = (LOCAL_QUEUE, CLOUD_QUEUE)
        for queue in queues:
            pipe.llen(f"{NAMESPACE}:{queue}")
            pipe.llen(f"{NAMESPACE}:{queue}.DQ")
            pipe.zcard(f"{NAMESPACE}:{queue}.XQ")
            for broker in brokers:
                pipe.scard(f"{NAMESPACE}:__acks__.{broker}.{queue}")
                pipe.scard(f"{NAMESPACE}:__acks__.{broker}.{queue}.DQ")
        replies = iter(await pipe.execute())
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        return {"ok": False, "error": f"redis: {exc}"[:200]}
    by_queue: dict[str, dict[str, int]] = {}
    for queue in queues:
        queued, delayed, dead = next(replies), next(replies), next(replies)
        claimed = sum(next(replies) + next(replies) for _ in brokers)
        by_queue[queue] = {"queued": int(queued), "delayed": int(delayed), "claimed": int(claimed),
                           "dead": int(dead)}
    return {
        "ok": True,
        "brokers_alive": len(brokers),
        "queues": by_queue,
        "queued": sum(q["queued"] + q["delayed"] for q in by_queue.values()),
        "running": sum(q["claimed"] for q in by_queue.values()),
    }


def gateway_status(settings: Settings) -> dict[str, Any]:
    registry = getattr(gateway_metrics, "registry", None)
    if registry is None:
        return {"available": False, "reason": "this gateway has no metrics registry"}
    registry = all_processes(registry, settings)
    totals: dict[str, dict[str, float]] = {}
    requests = 0.0
    for family in registry.collect():
        for sample in family.samples:
            if sample.name == "gateway_requests_total":
                requests += sample.value
                route = sample.labels.get("route", "")
                if route in ("/get_feed", "/filters", "/get_img_result"):
                    by_route = totals.setdefault("requests_by_route", {})
                    by_route[route] = by_route.get(route, 0) + sample.value
            elif sample.name in ("gateway_image_jobs_total", "gateway_provider_calls_total",
                                 "gateway_posts_judged_total"):
                label = next(iter(sample.labels.values()), "")
                group = totals.setdefault(sample.name[len("gateway_"): -len("_total")], {})
                group[label] = group.get(label, 0) + sample.value
    return {"available": True, "requests_total": requests, **totals,
            "note": "figures of the gateway process that answered"}


async def status(request: Request) -> JSONResponse:
    app = request.app
    memory = getattr(app.state, "viewer_rates", None)
    if memory is None:
        memory = app.state.viewer_rates = RateMemory()
    notifier, jobs = await asyncio.gather(
        notifier_status(app.state.settings, memory),
        queue_status(app.state.redis, getattr(app.state, "broker", None)),
    )
    return JSONResponse({
        "time": time.time(),
        "notifier": notifier,
        "jobs": jobs,
        "gateway": gateway_status(app.state.settings),
    })


OPENAPI_SCHEMAS: dict[str, Schema] = {
    "ViewerStatus": {
        "type": "object",
        "required": ["time", "notifier", "jobs", "gateway"],
        "properties": {"time": {"type": "number"}, "notifier": OBJECT, "jobs": OBJECT, "gateway": OBJECT},
    },
}


def openapi_paths(doc: DocContext) -> Paths:
    return {
        "/viewer/status": {"get": {
            "summary": "Sockets, jobs and rates for the viewer's status panel", "tags": ["viewer"],
            "responses": {"200": apidoc.json_body(apidoc.ref("ViewerStatus"), "Status.")},
        }},
    }
