"""Hostile image URLs through the real worker: private and metadata addresses (refused at the resolution
step: a fake DNS table answers 10.0.0.5, 169.254.169.254, ...; nothing is contacted, and the loopback fence
would catch it if anything were), redirect chains, slow-loris servers, decompression bombs. Each ends as
``image_failed`` for the waiting user within a bound, and the worker keeps working."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import httpx

from devtools.redis_server import EmbeddedRedis
from tests.harness import make_test_jpeg, wait_until
from tests.reliability import procs
from tests.reliability.figures import record
from tests.wsclient import Socket

FAKE_DNS = {
    "private.test": "10.0.0.5",
    "metadata.test": "169.254.169.254",
    "cgnat.test": "100.64.1.1",
    "mapped.test": "::ffff:10.0.0.1",
    "zero.test": "0.0.0.0",
}
FETCH_TIMEOUT = 1.0  # the worker's per-operation timeout here; one whole fetch is bounded by twice that
REFUSAL_BOUND = 3.0  # refused for good: told at once
# Transient failures (timeouts, refused connections) are retried 3 times with backoff (0.5-5 s) first.
TRANSIENT = {"slow_loris", "closed_port"}
TRANSIENT_BOUND = 4 * 2 * FETCH_TIMEOUT + 3 * 5.0 + 3.0


def test_hostile_image_urls_fail_cleanly(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    url = own_redis.url
    gw = procs.gateway(url, tmp_path)
    nt = procs.notifier(url, tmp_path)
    wk = procs.worker(url, tmp_path, gw.url, fake_dns=FAKE_DNS, FETCH_TIMEOUT_SECONDS=str(FETCH_TIMEOUT),
                      FETCH_MAX_BYTES=str(5 * 1024 * 1024))
    user = f"hostile-img-{uuid.uuid4().hex[:6]}"
    outcomes: dict[str, tuple[str, float, str]] = {}
    with procs.hostile_server() as srv:
        cases = {
            "private_10": "http://private.test/a.jpg",
            "metadata_169_254": "http://metadata.test/latest/meta-data/",
            "cgnat": "http://cgnat.test/a.jpg",
            "ipv4_mapped_ipv6": "http://mapped.test/a.jpg",
            "unspecified": "http://zero.test/a.jpg",
            "redirect_to_metadata": srv.route("/to-meta", procs.redirect("http://metadata.test/latest/")),
            "redirect_chain_too_long": srv.route("/r4", procs.redirect(srv.url("/r3"))),
            "slow_loris": srv.route("/loris.jpg", procs.slow_loris(byte_every=0.5, total=30)),
            "png_bomb_900_mpx": srv.route("/bomb.png", procs.serve(procs.png_bomb(), "image/png")),
            "gzip_bomb": srv.route("/gz.jpg", lambda h, stop: procs.send(h, procs.gzip_bomb(64 * 1024 * 1024),
                                                                          headers={"Content-Encoding": "gzip"})),
            "too_big_content_length": srv.route("/huge.jpg", procs.serve(b"\xff" * (6 * 1024 * 1024))),
            "not_an_image": srv.route("/html.jpg", procs.serve(b"<html>hello</html>" * 100, "image/jpeg")),
            "closed_port": "http://127.0.0.1:1/../../etc/passwd",  # nothing listens there
        }
        for hop in ("/r3", "/r2", "/r1"):
            srv.route(hop, procs.redirect(srv.url(f"/r{int(hop[2:]) - 1}") if hop != "/r1" else srv.url("/ok.jpg")))
        srv.route("/ok.jpg", procs.serve(make_test_jpeg()))
        sock = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}")
        sock.wait_for("connected")
        try:
            started: dict[str, float] = {}
            for name, image_url in cases.items():
                r = httpx.post(gw.url + "/images/jobs", json={"user_id": user, "image_url": image_url,
                                                               "filters": [name], "intervention": "blur"}, timeout=10)
                assert r.status_code == 202, (name, r.text)
                started[name] = time.monotonic()
            deadline = time.monotonic() + TRANSIENT_BOUND + 10
            while len(outcomes) < len(cases) and time.monotonic() < deadline:
                for frame in sock.frames[:]:
                    if frame.get("type") in ("image_failed", "image_processed"):
                        name = frame["data"]["filters"][0]
                        if name in cases and name not in outcomes:
                            outcomes[name] = (frame["type"], time.monotonic() - started[name],
                                              str(frame["data"].get("reason", ""))[:80])
                time.sleep(0.05)
            # The worker still works: a normal image, and the allowed 3-hop redirect chain.
            ok = httpx.post(gw.url + "/images/jobs", json={"user_id": user, "image_url": srv.url("/r3"),
                                                            "filters": ["after"], "intervention": "blur"}, timeout=10)
            assert ok.status_code == 202
            wait_until(lambda: any(f.get("type") == "image_processed" for f in sock.frames), 20, "a normal job")
        finally:
            sock.close()
            for p in (wk, nt, gw):
                p.stop()
    breaches = procs.fence_breaches(gw, nt, wk)
    dns = procs.dns_refusals(gw, nt, wk)
    worst = max(outcomes, key=lambda n: outcomes[n][1]) if outcomes else "none"
    record("hostile_image_urls", cases=len(cases), failed_cleanly=sum(1 for o in outcomes.values()
                                                                        if o[0] == "image_failed"),
           refusal_s_max=max((o[1] for n, o in outcomes.items() if n not in TRANSIENT), default=-1),
           slowest=worst, slowest_s=outcomes[worst][1] if outcomes else -1, slow_loris_attempts=srv.hits.get(
               "/loris.jpg", 0), fence_breaches=breaches, dns_leaks=dns)
    assert set(outcomes) == set(cases), set(cases) - set(outcomes)
    assert all(kind == "image_failed" for kind, _, _ in outcomes.values()), outcomes
    assert all(seconds < (TRANSIENT_BOUND if name in TRANSIENT else REFUSAL_BOUND)
               for name, (_, seconds, _) in outcomes.items()), outcomes
    assert breaches == 0 and dns == 0
