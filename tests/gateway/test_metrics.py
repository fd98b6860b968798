"""Prometheus metrics of the gateway and the notifier."""

from __future__ import annotations

import httpx
from starlette.testclient import TestClient

from tests.conftest import Stack


def test_gateway_metrics_count_requests_by_route_and_show_queue_depths(api: TestClient) -> None:
    api.get("/ping")
    api.get("/filters")  # 400: counted with its status
    text = api.get("/metrics").text
    assert 'gateway_requests_total{method="GET",route="/ping",status="200"}' in text
    assert 'gateway_requests_total{method="GET",route="/filters",status="400"}' in text
    assert 'gateway_image_queue_depth{queue="images_local"}' in text
    assert "gateway_request_seconds_bucket" in text


def test_notifier_metrics_exist(notifier_api: TestClient) -> None:
    text = notifier_api.get("/metrics").text
    for name in ("notifier_sockets", "notifier_events_in_total", "notifier_frames_out_total",
                 "notifier_fanout_latency_seconds_bucket", "notifier_replayed_total",
                 "notifier_slow_client_closes_total", "notifier_send_queue_frames"):
        assert name in text, name


def test_worker_metrics_and_health(stack: Stack) -> None:
    import uuid

    from tests.harness import make_test_jpeg, wait_until

    url = stack.images.add(f"/{uuid.uuid4().hex}.jpg", make_test_jpeg(seed=21))
    r = httpx.post(stack.gateway.url + "/images/jobs",
                   json={"user_id": "metrics-user", "image_url": url, "filters": ["x"], "intervention": "pixelate"})
    assert r.status_code == 202
    worker = f"http://127.0.0.1:{stack.worker.port}"

    def counted() -> bool:
        text = httpx.get(worker + "/metrics").text
        return 'worker_jobs_total{actor="process_image",outcome="ok",queue="images_local"}' in text

    wait_until(counted, 30, "a processed job in the worker's metrics")
    assert "worker_job_seconds_bucket" in httpx.get(worker + "/metrics").text
    assert httpx.get(worker + "/healthz").json() == {"status": "ok"}
