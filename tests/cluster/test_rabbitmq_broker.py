"""Image jobs queued on RabbitMQ (BROKER_URL=amqp://...) with the job protocol still in Redis.

Real processes: gateway, notifier and worker against a private RabbitMQ node and the session's Redis.
Checked: a job reaches the user's socket and the polling path; a SIGKILLed worker's job is
redelivered by RabbitMQ and announced exactly once; a queued job survives a RabbitMQ restart
(durable queue, persistent message); /metrics reads queue depths from RabbitMQ.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx
import pytest

from devtools.rabbitmq_server import RabbitMQServer
from shared.config import ConfigError, load_settings
from shared.jobqueue import broker_kind, make_broker
from tests.harness import make_test_jpeg, wait_until
from tests.reliability import procs
from tests.wsclient import Socket


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def job_request(user: str, image_url: str) -> dict[str, object]:
    return {"user_id": user, "image_url": image_url, "filters": ["spiders"], "intervention": "blur"}


def test_broker_is_chosen_by_url_scheme() -> None:
    assert broker_kind("redis://127.0.0.1:6379/0") == "redis"
    assert broker_kind("amqp://guest:guest@127.0.0.1:5672/%2F") == "rabbitmq"
    with pytest.raises(ValueError, match="no queue broker"):
        broker_kind("kafka://127.0.0.1:9092")
    with pytest.raises(ConfigError, match="BROKER_URL scheme"):
        load_settings({"BROKER_URL": "kafka://127.0.0.1:9092"})
    with pytest.raises(ConfigError, match="needs BROKER_URL"):
        load_settings({"REDIS_URL": "redis://127.0.0.1:7000", "REDIS_CLUSTER": "1"})
    settings = load_settings({"REDIS_URL": "redis://127.0.0.1:1/0"})
    assert settings.queue_broker_url() == "redis://127.0.0.1:1/0"  # default: the same Redis


def test_job_on_rabbitmq_reaches_socket_and_poll(rabbitmq: RabbitMQServer, redis_url: str, tmp_path: Path) -> None:
    broker = {"BROKER_URL": rabbitmq.url}
    gw = procs.gateway(redis_url, tmp_path, **broker)
    nt = procs.notifier(redis_url, tmp_path, **broker)
    wk = procs.worker(redis_url, tmp_path, gw.url, **broker)
    user = uid("rmq")
    with procs.hostile_server() as images:
        image_url = images.route(f"/{uuid.uuid4().hex}.jpg", procs.serve(make_test_jpeg()))
        sock = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}")
        try:
            sock.wait_for("connected")
            r = httpx.post(gw.url + "/images/jobs", json=job_request(user, image_url), timeout=10)
            assert (r.status_code, r.json()["status"]) == (202, "queued"), r.text
            event = sock.wait_for("image_processed", timeout=30)[0]["data"]
            assert event["image_url"] == image_url
            poll = httpx.get(gw.url + "/get_img_result", params={"img_url": image_url, "filters": "spiders"},
                             timeout=5).json()
            assert poll["status"] == "COMPLETED" and poll["processed_value"] == event["result"]
            metrics = httpx.get(gw.url + "/metrics", timeout=10).text
            assert 'gateway_image_queue_depth{queue="images_local"} 0.0' in metrics, metrics[-2000:]
        finally:
            sock.close()
            for p in (wk, nt, gw):
                p.stop()


def test_killed_worker_job_is_redelivered_and_announced_once(
    rabbitmq: RabbitMQServer, redis_url: str, tmp_path: Path
) -> None:
    broker = {"BROKER_URL": rabbitmq.url}
    worker_env = {**broker, "FETCH_TIMEOUT_SECONDS": "30", "WORKER_THREADS": "1"}
    gw = procs.gateway(redis_url, tmp_path, **broker)
    nt = procs.notifier(redis_url, tmp_path, **broker)
    first = procs.worker(redis_url, tmp_path, gw.url, name="worker-first", **worker_env)
    second = None
    user = uid("rmq-kill")
    with procs.hostile_server() as images:
        path = f"/held-{uuid.uuid4().hex[:6]}.jpg"
        image_url = images.route(path, procs.serve(make_test_jpeg(seed=3), first_delay=25.0))
        sock = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}")
        try:
            sock.wait_for("connected")
            r = httpx.post(gw.url + "/images/jobs", json=job_request(user, image_url), timeout=10)
            assert r.json()["status"] == "queued", r.text
            wait_until(lambda: images.hits.get(path, 0) >= 1, 15, "the first worker to start fetching")
            second = procs.worker(redis_url, tmp_path, gw.url, name="worker-second", **worker_env)
            time.sleep(1.0)
            assert images.hits[path] == 1, "a live worker's job was handed out twice"
            killed_at = time.monotonic()
            first.kill()
            sock.wait_for("image_processed", timeout=30)
            resumed_after = time.monotonic() - killed_at
            time.sleep(1.0)  # room for a duplicate to show up
            got = [f for f in sock.of_type("image_processed") if f["data"]["image_url"] == image_url]
            assert len(got) == 1, got
            assert images.hits[path] == 2  # once by the killed worker, once by the redelivery
            print(f"RABBITMQ redelivery after SIGKILL: {resumed_after:.2f} s")
        finally:
            sock.close()
            for p in (second, first, nt, gw):
                if p is not None:
                    p.stop()


def test_queued_job_survives_a_rabbitmq_restart(rabbitmq: RabbitMQServer, redis_url: str, tmp_path: Path) -> None:
    broker = {"BROKER_URL": rabbitmq.url}
    gw = procs.gateway(redis_url, tmp_path, **broker)
    wk = None
    user = uid("rmq-durable")
    with procs.hostile_server() as images:
        image_url = images.route(f"/{uuid.uuid4().hex}.jpg", procs.serve(make_test_jpeg(seed=5)))
        try:
            r = httpx.post(gw.url + "/images/jobs", json=job_request(user, image_url), timeout=10)
            assert r.json()["status"] == "queued", r.text  # no worker yet: the message waits in RabbitMQ
            rabbitmq.stop()
            rabbitmq.start()
            gw.stop()  # its broker connection died with the node; a new gateway polls
            wk = procs.worker(redis_url, tmp_path, gw.url, **broker)
            gw = procs.gateway(redis_url, tmp_path, name="gateway-2", **broker)

            def done() -> bool:
                poll = httpx.get(gw.url + "/get_img_result", params={"img_url": image_url, "filters": "spiders"},
                                 timeout=5).json()
                return poll["status"] == "COMPLETED"

            wait_until(done, 30, "the job queued before the restart to complete")
        finally:
            for p in (wk, gw):
                if p is not None:
                    p.stop()


def test_enqueue_only_broker_has_no_consumers(rabbitmq: RabbitMQServer) -> None:
    broker = make_broker(rabbitmq.url, middleware=[])
    try:
        assert broker.get_declared_queues() == set()
    finally:
        broker.close()
