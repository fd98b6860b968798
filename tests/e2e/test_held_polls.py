"""Held polls and inline results with real processes: gateways, a worker, Redis and an image server
whose images are released by the test, so "the job is still running" is a fact, not a timing guess.

The module has its own Redis and worker, so the worker's processed-image URLs come from its
GATEWAY_PORT alone (no PUBLIC_GATEWAY_URL anywhere): the public URL follows the port.
"""

from __future__ import annotations

import html
import json
import re
import signal
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from redis import Redis

from devtools.redis_server import EmbeddedRedis, free_port
from shared import keys
from tests.harness import ImageServer, Proc, base_env, make_test_jpeg, start_process, wait_http, wait_until
from tests.wsclient import Socket

REDDIT_URL = "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=dDNfZ2VuMDI0&t=DAY"
JPEG = make_test_jpeg(seed=4)
FAILURE_TTL = 4


class GatedImages(ImageServer):
    """The test image server with helpers for gated images (see ``ImageServer.gates``)."""

    def gated(self, name: str) -> str:
        return self.gate(f"/img/{name}-{uuid.uuid4().hex[:8]}.jpg")

    def gate(self, path: str) -> str:
        """Gate ``path`` as the server receives it (percent-encoded); returns its URL."""
        self.gates[path] = threading.Event()
        return self.add(path, JPEG)

    def open(self, url: str, *, found: bool = True) -> None:
        path = url.split(str(self.port), 1)[1].split("?")[0]
        if not found:
            del self.files[path]
        self.gates[path].set()


@dataclass
class Rig:
    redis_url: str
    logs: Path
    images: GatedImages
    gateway_port: int  # the port the worker's result URLs point at (the main gateway's)
    gateways: list[Proc] = field(default_factory=list)

    def gateway(self, port: int | None = None, **env: str) -> Proc:
        port = port or free_port()
        e = base_env(self.redis_url, GATEWAY_PORT=str(port), **env)
        e.pop("PUBLIC_GATEWAY_URL", None)
        proc = start_process(f"gateway-{port}", ["-m", "gateway"], e, self.logs, port)
        wait_http(proc, "/ping")
        self.gateways.append(proc)
        return proc


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    tmp = tmp_path_factory.mktemp("held")
    redis = EmbeddedRedis(tmp / "redis")
    redis.start()
    images = GatedImages()
    images.start()
    rig = Rig(redis.url, tmp / "logs", images, free_port())
    # Failures are remembered for 4 s (not 5 min), so a test sees the record expire and the job run again.
    env = base_env(redis.url, GATEWAY_PORT=str(rig.gateway_port), WORKER_METRICS_PORT=str(free_port()),
                   FAILURE_TTL_SECONDS=str(FAILURE_TTL))
    env.pop("PUBLIC_GATEWAY_URL", None)
    worker = start_process("worker", ["-m", "imaging.worker"], env, rig.logs)
    wait_until(lambda: "imaging worker ready" in worker.log_path.read_text(errors="replace")
               or worker.popen.poll() is not None, 30, "worker start")
    assert worker.popen.poll() is None, worker.log_tail()
    try:
        yield rig
    finally:
        for proc in (*rig.gateways, worker):
            proc.stop()
        images.stop()
        redis.stop()


@pytest.fixture(scope="module")
def gateway(rig: Rig) -> Proc:
    """Holds long enough for tests that open gates by hand (the default 3 s is not); at most 2 held."""
    return rig.gateway(rig.gateway_port, POLL_HOLD_SECONDS="30", POLL_HOLD_MAX="2")


def queue_job(gw: Proc, image_url: str, filters: list[str], intervention: str = "blur") -> None:
    r = httpx.post(gw.url + "/images/jobs", json={"user_id": f"u-{uuid.uuid4().hex[:6]}", "image_url": image_url,
                                                  "filters": filters, "intervention": intervention}, timeout=10)
    assert r.status_code == 202 and r.json()["status"] == "queued", r.text


def poll(gw: Proc, image_url: str, filters: list[str], timeout: float = 60) -> httpx.Response:
    return httpx.get(gw.url + "/get_img_result", params={"img_url": image_url, "filters": json.dumps(filters)},
                     timeout=timeout)


def metric(gw: Proc, name: str, labels: str = "") -> float:
    text = httpx.get(gw.url + "/metrics", timeout=5).text
    found = re.search(rf"^{re.escape(name + labels)} ([0-9.e+-]+)$", text, re.M)
    return float(found.group(1)) if found else 0.0


def held(gw: Proc) -> float:
    return metric(gw, "gateway_held_polls")


def wait_held(gw: Proc, n: int) -> None:
    wait_until(lambda: held(gw) == n, 20, f"{n} held polls")


@pytest.fixture()
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(8) as executor:
        yield executor


def in_background(pool: ThreadPoolExecutor, call: Callable[[], httpx.Response]) -> Future[httpx.Response]:
    return pool.submit(call)


def test_held_poll_answers_when_the_job_completes(rig: Rig, gateway: Proc, pool: ThreadPoolExecutor) -> None:
    url = rig.images.gated("done")
    queue_job(gateway, url, ["Spiders"])
    answer = in_background(pool, lambda: poll(gateway, url, ["spiders."]))
    wait_held(gateway, 1)
    assert not answer.done()
    rig.images.open(url)
    body = answer.result(timeout=30).json()
    assert body["status"] == "COMPLETED"
    # The worker has no PUBLIC_GATEWAY_URL: the URL follows its GATEWAY_PORT.
    assert body["processed_value"].startswith(f"http://127.0.0.1:{rig.gateway_port}/images/")
    assert httpx.get(body["processed_value"], timeout=10).status_code == 200
    assert held(gateway) == 0
    # An old client polling later on its own timing: answered at once from the result.
    assert poll(gateway, url, ["Spiders"], timeout=5).json()["processed_value"] == body["processed_value"]


def test_held_poll_answers_when_the_job_fails(rig: Rig, gateway: Proc, pool: ThreadPoolExecutor) -> None:
    url = rig.images.gated("fails")
    queue_job(gateway, url, ["spiders"])
    answer = in_background(pool, lambda: poll(gateway, url, ["spiders"]))
    wait_held(gateway, 1)
    rig.images.open(url, found=False)
    body = answer.result(timeout=30).json()
    assert body["status"] == "FAILED" and "404" in body["reason"]


def test_held_poll_times_out_with_not_found(rig: Rig, gateway: Proc) -> None:
    short = rig.gateway(POLL_HOLD_SECONDS="0.5")
    url = rig.images.gated("slow")
    queue_job(short, url, ["spiders"])
    before = metric(short, "gateway_poll_holds_total", '{outcome="timeout"}')
    assert poll(short, url, ["spiders"]).json() == {"status": "NOT FOUND"}
    assert metric(short, "gateway_poll_holds_total", '{outcome="timeout"}') == before + 1
    rig.images.open(url)
    wait_until(lambda: poll(short, url, ["spiders"]).json()["status"] == "COMPLETED", 30, "completion")


def test_nothing_pending_is_answered_at_once(rig: Rig, gateway: Proc) -> None:
    before = metric(gateway, "gateway_poll_holds_total", '{outcome="timeout"}')
    never_queued = f"http://127.0.0.1:{rig.images.port}/img/never-{uuid.uuid4().hex}.jpg"
    assert poll(gateway, never_queued, ["spiders"], timeout=5).json() == {"status": "NOT FOUND"}
    assert held(gateway) == 0
    assert metric(gateway, "gateway_poll_holds_total", '{outcome="timeout"}') == before


def test_polls_past_the_cap_are_answered_at_once(rig: Rig, gateway: Proc, pool: ThreadPoolExecutor) -> None:
    url = rig.images.gated("cap")
    queue_job(gateway, url, ["spiders"])
    first = [in_background(pool, lambda: poll(gateway, url, ["spiders"])) for _ in range(2)]
    wait_held(gateway, 2)  # POLL_HOLD_MAX=2 on this gateway
    refused = metric(gateway, "gateway_poll_holds_total", '{outcome="refused"}')
    assert poll(gateway, url, ["spiders"], timeout=10).json() == {"status": "NOT FOUND"}
    assert metric(gateway, "gateway_poll_holds_total", '{outcome="refused"}') == refused + 1
    assert held(gateway) == 2 and not any(f.done() for f in first)
    rig.images.open(url)
    assert all(f.result(timeout=30).json()["status"] == "COMPLETED" for f in first)


def test_a_client_that_leaves_releases_its_hold(rig: Rig, gateway: Proc) -> None:
    url = rig.images.gated("leaves")
    queue_job(gateway, url, ["spiders"])
    before = metric(gateway, "gateway_poll_holds_total", '{outcome="disconnect"}')
    with pytest.raises(httpx.ReadTimeout):
        poll(gateway, url, ["spiders"], timeout=1.0)  # the client gives up and closes its connection
    wait_until(lambda: metric(gateway, "gateway_poll_holds_total", '{outcome="disconnect"}') == before + 1, 20,
               "the hold to notice the disconnect")
    assert held(gateway) == 0
    rig.images.open(url)


def test_gateway_shutdown_answers_every_held_poll(rig: Rig, pool: ThreadPoolExecutor) -> None:
    doomed = rig.gateway(POLL_HOLD_SECONDS="120")
    url = rig.images.gated("shutdown")
    queue_job(doomed, url, ["spiders"])
    answers = [in_background(pool, lambda: poll(doomed, url, ["spiders"], timeout=60)) for _ in range(5)]
    wait_held(doomed, 5)
    doomed.popen.send_signal(signal.SIGTERM)
    # Without the release, uvicorn would wait out its 10 s grace and then cut these connections.
    for answer in answers:
        r = answer.result(timeout=30)
        assert r.status_code == 200 and r.json() == {"status": "NOT FOUND"}
    doomed.popen.wait(timeout=30)  # and the process ends (uvicorn re-raises SIGTERM after its shutdown)
    rig.images.open(url)


# -- /get_feed: inline COMPLETED markers -----------------------------------------------------------

def reddit_page(image_url: str) -> str:
    src = html.escape(image_url, quote=True)
    return (f'<shreddit-post id="t3_{uuid.uuid4().hex[:6]}" permalink="/r/pics/comments/x/">'
            f'<a slot="title" href="/r/pics/comments/x/">Spiders in my garden</a>'
            f'<div slot="post-media-container"><img src="{src}" alt="spiders"></div></shreddit-post>')


def image_markers(feed_html: str) -> list[dict[str, object]]:
    found = re.findall(r"diy-mod-image=\"([^\"]*)\"", feed_html) + re.findall(r"diy-mod-image='([^']*)'", feed_html)
    return [json.loads(html.unescape(c)) for c in found]


def feed_with_image(gw: Proc, image_url: str, uid: str | None = None) -> dict[str, object]:
    uid = uid or f"inline-{uuid.uuid4().hex[:8]}"
    r = httpx.post(gw.url + "/filters", json={"user_id": uid, "filter_text": "spiders", "intensity": 2,
                                              "content_type": "all"}, timeout=10)
    assert r.status_code == 200, r.text
    r = httpx.post(gw.url + "/get_feed", json={"user_id": uid, "url": REDDIT_URL,
                                               "data": {"feed_info": {"response": reddit_page(image_url)}}},
                   timeout=30)
    assert r.status_code == 200, r.text
    (marker,) = image_markers(r.json()["feed"]["response"])
    return marker


def test_feed_sends_completed_markers_for_local_jobs_that_end_in_time(rig: Rig) -> None:
    # A generous wait: the job ends when the test opens its gate, well inside it.
    patient = rig.gateway(FEED_INLINE_WAIT_SECONDS="20")
    url = rig.images.gated("inline")
    threading.Timer(0.5, rig.images.open, args=(url,)).start()
    marker = feed_with_image(patient, url)
    assert marker["status"] == "COMPLETED"
    assert str(marker["processedUrl"]).startswith(f"http://127.0.0.1:{rig.gateway_port}/images/")
    assert marker["filters"] == ["spiders"]


def test_feed_without_inline_wait_defers(rig: Rig) -> None:
    eager = rig.gateway(FEED_INLINE_WAIT_SECONDS="0")
    url = rig.images.gated("deferred")
    marker = feed_with_image(eager, url)
    assert marker["status"] == "DEFERRED" and "processedUrl" not in marker
    rig.images.open(url)


def test_feed_inline_wait_gives_up_on_a_slow_job(rig: Rig) -> None:
    brief = rig.gateway(FEED_INLINE_WAIT_SECONDS="0.3")
    url = rig.images.gated("slowfeed")
    marker = feed_with_image(brief, url)  # the gate stays shut: the job cannot end in time
    assert marker["status"] == "DEFERRED"
    rig.images.open(url)


def test_dead_image_costs_one_job_per_failure_ttl_not_one_per_page_view(rig: Rig, gateway: Proc) -> None:
    path = f"/img/dead-{uuid.uuid4().hex[:8]}.jpg"  # the image host answers 404: a permanent failure
    url = rig.images.url(path)
    assert feed_with_image(gateway, url)["status"] == "DEFERRED"
    first = poll(gateway, url, ["spiders"]).json()  # held until the job fails
    assert first["status"] == "FAILED" and "404" in first["reason"]
    failed_before = metric(gateway, "gateway_image_jobs_total", '{state="failed"}')

    # A second page view (another user) within the TTL: the same wire (a DEFERRED marker, then FAILED
    # at once), no new job; that user's event log gets the image_failed a job would have sent.
    viewer = f"again-{uuid.uuid4().hex[:8]}"
    assert feed_with_image(gateway, url, viewer)["status"] == "DEFERRED"
    again = poll(gateway, url, ["spiders"], timeout=5).json()
    assert again == first
    direct = httpx.post(gateway.url + "/images/jobs", timeout=10,
                        json={"user_id": viewer, "image_url": url, "filters": ["spiders"]})
    assert direct.status_code == 200 and direct.json()["status"] == "FAILED", direct.text
    assert rig.images.hits[path] == 1
    assert metric(gateway, "gateway_image_jobs_total", '{state="failed"}') == failed_before + 1
    log = Redis.from_url(rig.redis_url)
    try:
        [(_, fields)] = log.xrange(keys.user_log_key(viewer))
        event = json.loads(fields[b"p"])
        assert event["type"] == "image_failed" and event["data"]["image_url"] == url
        assert "404" in event["data"]["reason"]
    finally:
        log.close()

    # Past the TTL the record is gone (nothing pending: NOT FOUND), and the next view runs a new job.
    wait_until(lambda: poll(gateway, url, ["spiders"], timeout=5).json()["status"] == "NOT FOUND",
               FAILURE_TTL + 5, "failure record expiry")
    assert feed_with_image(gateway, url)["status"] == "DEFERRED"
    assert poll(gateway, url, ["spiders"]).json()["status"] == "FAILED"
    assert rig.images.hits[path] == 2


# -- image URLs as the browser writes them --------------------------------------------------------

def test_feed_image_with_spaces_and_umlauts_is_found_by_the_browser_form(rig: Rig, gateway: Proc) -> None:
    notifier_port = free_port()
    notifier = start_process("notifier", ["-m", "notifier"],
                             base_env(rig.redis_url, NOTIFIER_PORT=str(notifier_port)), rig.logs, notifier_port)
    wait_http(notifier, "/healthz")
    try:
        token = uuid.uuid4().hex[:8]
        host = f"http://127.0.0.1:{rig.images.port}"
        as_written = f"{host}/img/spider ä {token}.jpg?w=1&s=a b"  # the src attribute's text, decoded
        browser = f"{host}/img/spider%20%C3%A4%20{token}.jpg?w=1&s=a%20b"  # what img.src reports
        rig.images.gate(f"/img/spider%20%C3%A4%20{token}.jpg")
        uid = f"url-{uuid.uuid4().hex[:8]}"
        socket = Socket(f"ws://127.0.0.1:{notifier_port}/ws/{uid}")
        try:
            httpx.post(gateway.url + "/filters", json={"user_id": uid, "filter_text": "spiders", "intensity": 2,
                                                       "content_type": "all"}, timeout=10)
            page = reddit_page(as_written)  # the attribute is entity-encoded (&amp;) in the HTML
            assert "&amp;" in page
            r = httpx.post(gateway.url + "/get_feed", json={"user_id": uid, "url": REDDIT_URL,
                                                            "data": {"feed_info": {"response": page}}}, timeout=30)
            (marker,) = image_markers(r.json()["feed"]["response"])
            assert marker["status"] == "DEFERRED"
            rig.images.open(browser)
            event = socket.wait_for("image_processed", timeout=30)[0]["data"]
            assert event["image_url"] == browser
            for form in (browser, as_written):
                got = poll(gateway, form, ["spiders"], timeout=10).json()
                assert got["status"] == "COMPLETED" and got["processed_value"] == event["result"]
        finally:
            socket.close()
    finally:
        notifier.stop()
