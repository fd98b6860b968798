"""End to end with real processes: gateway, notifier, worker, Redis and a local image server."""

from __future__ import annotations

import io
import time
import uuid

import httpx
from PIL import Image, ImageChops

from tests.conftest import Stack
from tests.harness import make_test_jpeg
from tests.wsclient import Socket


def uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def queue(stack: Stack, user: str, image_url: str, filters: list[str], intervention: str = "blur") -> httpx.Response:
    return httpx.post(
        stack.gateway.url + "/images/jobs",
        json={"user_id": user, "image_url": image_url, "filters": filters, "intervention": intervention},
        timeout=10,
    )


def test_job_reaches_every_socket_of_its_user_only(stack: Stack) -> None:
    alice, bob = uid("alice"), uid("bob")
    path = f"/{uuid.uuid4().hex}.jpg"
    original = make_test_jpeg()
    image_url = stack.images.add(path, original)
    a1, a2, b1 = (Socket(f"{stack.ws_base}/{u}") for u in (alice, alice, bob))
    try:
        for sock in (a1, a2, b1):
            sock.wait_for("connected")  # attached and subscribed
        r = queue(stack, alice, image_url, ["Spiders"], "cartoonish")
        assert r.status_code == 202, r.text
        assert r.json()["status"] == "queued"

        events = [s.wait_for("image_processed", timeout=30)[0] for s in (a1, a2)]
        for event in events:
            data = event["data"]
            assert data["image_url"] == image_url
            assert data["filters"] == ["Spiders"]
            assert data["result"].startswith(stack.gateway.url + "/images/")
        result_url = events[0]["data"]["result"]

        served = httpx.get(result_url, timeout=10)
        assert served.status_code == 200
        assert served.headers["cache-control"].startswith("public, max-age=")
        processed = Image.open(io.BytesIO(served.content))
        processed.load()
        source = Image.open(io.BytesIO(original)).convert("RGB")
        assert processed.size == source.size
        diff = ImageChops.difference(processed.convert("RGB"), source).getbbox()
        assert diff is not None, "processed image is identical to the original"

        # Polling (the shipped extension's path) sees the same result, with filter normalisation.
        poll = httpx.get(
            stack.gateway.url + "/get_img_result", params={"img_url": image_url, "filters": '["spiders."]'}, timeout=10
        ).json()
        assert poll["status"] == "COMPLETED"
        assert poll["processed_value"] == result_url

        # The same job again: answered from the result, not run again.
        again = queue(stack, alice, image_url, ["spiders"], "cartoonish")
        assert again.status_code == 200 and again.json()["status"] == "COMPLETED"
        time.sleep(0.5)
        assert stack.images.hits[path] == 1
        assert len(a1.of_type("image_processed")) == 1

        time.sleep(0.5)
        assert b1.of_type("image_processed") == []
    finally:
        for s in (a1, a2, b1):
            s.close()


def test_same_job_from_two_users_runs_once_and_notifies_both(stack: Stack) -> None:
    carol, dave = uid("carol"), uid("dave")
    path = f"/{uuid.uuid4().hex}.jpg"
    stack.images.delay = 0.5  # keep the job running while the second request arrives
    try:
        image_url = stack.images.add(path, make_test_jpeg(seed=3))
        sc, sd = Socket(f"{stack.ws_base}/{carol}"), Socket(f"{stack.ws_base}/{dave}")
        for sock in (sc, sd):
            sock.wait_for("connected")
        first = queue(stack, carol, image_url, ["blood"])
        second = queue(stack, dave, image_url, ["blood"])
        assert first.json()["status"] == "queued"
        assert second.json()["status"] == "pending"
        assert first.json()["job_id"] == second.json()["job_id"]
        for s in (sc, sd):
            s.wait_for("image_processed", timeout=30)
        assert stack.images.hits[path] == 1
        sc.close()
        sd.close()
    finally:
        stack.images.delay = 0.0


def test_wait_for_image_answers_at_once_when_done_and_later_when_pending(stack: Stack) -> None:
    erin = uid("erin")
    path = f"/{uuid.uuid4().hex}.jpg"
    image_url = stack.images.add(path, make_test_jpeg(seed=5))
    s = Socket(f"{stack.ws_base}/{erin}")
    try:
        s.wait_for("connected")
        # Registered before the job exists (a socket wait from another tab): notified on completion.
        s.send({"type": "wait_for_image", "data": {"image_url": image_url, "filters": ["needles"]}, "id": "1"})
        time.sleep(0.2)
        assert s.of_type("image_processed") == []
        other = uid("frank")
        assert queue(stack, other, image_url, ["needles"], "pixelate").status_code == 202
        s.wait_for("image_processed", timeout=30)
        # Now done: a fresh socket's wait is answered immediately from the result.
        s2 = Socket(f"{stack.ws_base}/{uid('gina')}")
        s2.send({"type": "wait_for_image", "data": {"image_url": image_url, "filters": ["Needles."]}})
        got = s2.wait_for("image_processed", timeout=5)[0]["data"]
        assert got["image_url"] == image_url and got["result"].startswith("http")
        s2.close()
    finally:
        s.close()


def test_unreachable_image_publishes_image_failed(stack: Stack) -> None:
    user = uid("hank")
    s = Socket(f"{stack.ws_base}/{user}")
    try:
        # Attached first: a 404 fails fast, and an event published before the socket's attach is
        # at the log head it starts from (a client would resume by offset to see it).
        s.wait_for("connected")
        missing = stack.images.url(f"/missing-{uuid.uuid4().hex}.jpg")
        assert queue(stack, user, missing, ["spiders"]).status_code == 202
        failed = s.wait_for("image_failed", timeout=30)[0]["data"]
        assert failed["image_url"] == missing
        assert "404" in failed["reason"]  # the image host answered 404: a permanent failure, said as such
        poll = httpx.get(
            stack.gateway.url + "/get_img_result", params={"img_url": missing, "filters": "spiders"}, timeout=10
        ).json()
        assert poll["status"] == "FAILED"
        # Another socket asking after the failure is told at once (no job is claimed while it is
        # recorded, so no event would ever come).
        s2 = Socket(f"{stack.ws_base}/{uid('ivy')}")
        try:
            s2.wait_for("connected")
            s2.send({"type": "wait_for_image", "data": {"image_url": missing, "filters": ["spiders"]}})
            told = s2.wait_for("image_failed", timeout=5)[0]["data"]
            assert told["image_url"] == missing and "404" in told["reason"]
        finally:
            s2.close()
    finally:
        s.close()
