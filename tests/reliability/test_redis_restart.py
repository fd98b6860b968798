"""Redis restarted under load (clean stop, then SIGKILL), same port and data dir, append-only on.

Gateway, notifier and worker reconnect by themselves; requests during the outage get a quick 503 (never a
hang); no filter and no completed result is lost; a job in flight across the outage still completes and
is announced once; sockets end with exactly the events of the log (the one kept open across the outage and
the one that resumed by (epoch, offset)).
"""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import httpx
import redis

from devtools.redis_server import EmbeddedRedis
from gateway.viewer.samplegen import reddit_page
from shared import keys
from tests.harness import make_test_jpeg, wait_until
from tests.reliability import procs
from tests.reliability.figures import record, scale
from tests.reliability.load import HttpLoad, Publisher, offsets, uid
from tests.wsclient import Socket

OUTAGE_SECONDS = 2.0
FAST_FAIL_BOUND = 6.0  # every request during the outage answers within this
RECOVERY_BOUND = 15.0

REDDIT_URL = "https://www.reddit.com/svc/shreddit/feeds/home-feed?after=x"


def log_offsets(redis_url: str, user: str) -> list[int]:
    client = redis.Redis.from_url(redis_url)
    try:
        return [int(entry_id.decode().split("-")[0]) for entry_id, _ in client.xrange(keys.user_log_key(user))]
    finally:
        client.close()


def test_redis_restart_under_load(own_redis: EmbeddedRedis, tmp_path: Path) -> None:
    url = own_redis.url
    gw = procs.gateway(url, tmp_path)
    nt = procs.notifier(url, tmp_path)
    wk = procs.worker(url, tmp_path, gw.url)
    user = uid("restart")
    page = reddit_page(5, seed=3).body
    figures: dict[str, object] = {}
    with procs.hostile_server() as images:
        try:
            # -- state that must survive ------------------------------------------------------------
            filter_ids = []
            for text in ("spiders", "war", "snakes"):
                # Text filters: the feed's images (Reddit hosts) must never become image jobs here.
                r = httpx.post(gw.url + "/filters", json={"user_id": user, "filter_text": text, "intensity": 2,
                                                          "content_type": "text"})
                assert r.status_code == 200, r.text
                filter_ids.append(r.json()["filter_id"])
            done_url = images.route("/done.jpg", procs.serve(make_test_jpeg(seed=1)))
            job = {"user_id": user, "image_url": done_url, "filters": ["spiders"], "intervention": "pixelate"}
            assert httpx.post(gw.url + "/images/jobs", json=job).status_code == 202

            def poll(image_url: str) -> dict[str, object]:
                return httpx.get(gw.url + "/get_img_result", params={"img_url": image_url, "filters": "spiders"},
                                 timeout=5).json()

            wait_until(lambda: poll(done_url)["status"] == "COMPLETED", 20, "the first job")
            blob_url = str(poll(done_url)["processed_value"])

            # -- sockets and a steady stream of events -------------------------------------------------
            steady = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}")
            mover = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}")
            steady_from = steady.wait_for("connected")[0]["data"]["offset"]  # history before it is not sent
            mover.wait_for("connected")
            publisher = Publisher(url, user)
            stop_publishing = threading.Event()

            def publish_loop() -> None:
                deadline = time.monotonic() + 120
                for i in range(scale(2000, 20000)):
                    if stop_publishing.is_set() or time.monotonic() > deadline:
                        return
                    publisher.publish(i)
                    stop_publishing.wait(0.02)

            pub_thread = threading.Thread(target=publish_loop, daemon=True)
            pub_thread.start()

            load = HttpLoad(gw.url, [
                ("GET /filters", lambda c: c.get("/filters", params={"user_id": user})),
                ("POST /get_feed", lambda c: c.post("/get_feed", json={
                    "user_id": user, "url": REDDIT_URL, "data": {"feed_info": {"response": page}}})),
                ("GET /get_img_result", lambda c: c.get("/get_img_result",
                                                        params={"img_url": done_url, "filters": "spiders"})),
                ("GET /ping", lambda c: c.get("/ping")),
            ], max_seconds=120)
            load.start()
            time.sleep(0.5)

            outages: list[tuple[float, float]] = []
            recover_gateway: list[float] = []
            recover_notifier: list[float] = []
            recover_worker: list[float] = []
            inflight_jobs: list[tuple[str, str]] = []
            socket_during_outage: list[float] = []
            for cycle in range(scale(2, 6)):
                hard = cycle % 2 == 1  # alternate a clean stop and a SIGKILL
                # A job held by the worker across the outage: its fetch returns while Redis is down.
                held = images.route(f"/held-{cycle}.jpg", procs.serve(make_test_jpeg(seed=10 + cycle),
                                                                      first_delay=1.0))
                assert httpx.post(gw.url + "/images/jobs", json={**job, "image_url": held}).status_code == 202
                wait_until(lambda p=f"/held-{cycle}.jpg": images.hits.get(p, 0) >= 1, 10, "held job fetch")
                inflight_jobs.append((held, f"/held-{cycle}.jpg"))
                # The mover leaves just before the outage and comes back after it, resuming.
                seen = mover.of_type("image_processed")
                resume_from = (seen[-1]["epoch"], seen[-1]["offset"]) if seen else None
                mover.close()
                own_redis.kill() if hard else own_redis.stop()
                down_at = time.monotonic()  # the server is gone from here until own_redis.start() is called
                late = {}

                def connect_during_outage(box: dict[str, float] = late) -> None:
                    started = time.monotonic()
                    try:
                        s = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}-late")
                        try:
                            s.wait_for("connected", timeout=OUTAGE_SECONDS + RECOVERY_BOUND)
                            box["first_frame_s"] = time.monotonic() - started
                        except TimeoutError:
                            box["first_frame_s"] = -1
                        s.close()
                    except Exception:
                        box["first_frame_s"] = -2

                late_thread = threading.Thread(target=connect_during_outage, daemon=True)
                late_thread.start()
                time.sleep(OUTAGE_SECONDS)
                outages.append((down_at, time.monotonic()))
                own_redis.start()
                up_at = time.monotonic()
                recover_gateway.append(procs.wait_healthy(gw.url, RECOVERY_BOUND))
                recover_notifier.append(procs.wait_healthy(nt.url, RECOVERY_BOUND))
                # The worker: a fresh job completes.
                fresh = images.route(f"/after-{cycle}.jpg", procs.serve(make_test_jpeg(seed=20 + cycle)))
                r = httpx.post(gw.url + "/images/jobs", json={**job, "image_url": fresh}, timeout=10)
                assert r.status_code == 202, r.text
                wait_until(lambda u=fresh: poll(u)["status"] == "COMPLETED", RECOVERY_BOUND, "a job after restart")
                recover_worker.append(time.monotonic() - up_at)
                late_thread.join(timeout=RECOVERY_BOUND + OUTAGE_SECONDS + 5)
                socket_during_outage.append(late.get("first_frame_s", -3))
                query = f"?epoch={resume_from[0]}&offset={resume_from[1]}" if resume_from else ""
                mover = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}{query}")
                hello = mover.wait_for("connected")[0]["data"]
                assert resume_from is None or hello["recovered"] is True, hello
                time.sleep(0.5)

            stop_publishing.set()
            pub_thread.join(timeout=10)
            load.stop()
            # -- nothing lost ---------------------------------------------------------------------------
            for held, path in inflight_jobs:
                wait_until(lambda u=held: poll(u)["status"] == "COMPLETED", RECOVERY_BOUND, f"in-flight job {path}")
            listed = httpx.get(gw.url + "/filters", params={"user_id": user}).json()["filters"]
            filters_lost = len(set(filter_ids) - {f["id"] for f in listed})
            results_lost = 0 if poll(done_url)["status"] == "COMPLETED" else 1
            results_lost += 0 if httpx.get(blob_url).status_code == 200 else 1
            in_log = [o for o in log_offsets(url, user) if o > steady_from]
            # The events of the jobs are in the log too: compare sockets with the log, not the publisher.
            with contextlib.suppress(TimeoutError):  # what is still missing then is counted as lost
                wait_until(lambda: set(offsets(steady.frames)) >= set(in_log), 10, "steady socket caught up")
            steady_got = offsets(steady.frames)
            mover_seen = set(offsets(mover.frames))
            first_resumed = min(mover_seen) if mover_seen else None
            job_events = [f for f in steady.of_type("image_processed")
                          if any(f["data"]["image_url"] == held for held, _ in inflight_jobs)]
            # Requests that began and ended while Redis was down (one that spans the restart may succeed).
            during = [o for o in load.outcomes if any(a <= o.started and o.started + o.seconds < b for a, b in outages)]
            redis_routes = [o for o in during if o.name != "GET /ping"]
            after = [o for o in load.outcomes if o.started >= outages[-1][1] + max(recover_gateway) + 0.5]
            figures = {
                "restarts": len(outages),
                "outage_s": OUTAGE_SECONDS,
                "gateway_recover_s_max": max(recover_gateway),
                "notifier_recover_s_max": max(recover_notifier),
                "worker_recover_s_max": max(recover_worker),
                "requests": len(load.outcomes),
                "requests_during_outage": len(during),
                "outage_503": sum(1 for o in redis_routes if o.status == 503),
                "outage_other": sum(1 for o in redis_routes if o.status != 503),
                "outage_latency_s_max": max((o.seconds for o in during), default=0.0),
                "hangs": sum(1 for o in load.outcomes if o.status == -1),
                "failed_after_recovery": sum(1 for o in after if o.status != 200),
                "events_in_log": len(in_log),
                "events_lost_steady": len(set(in_log) - set(steady_got)),
                "duplicates_steady": len(steady_got) - len(set(steady_got)),
                "job_events": len(job_events),
                "new_socket_during_outage_s": max(socket_during_outage),
                "filters_lost": filters_lost,
                "results_lost": results_lost,
                "fence_breaches": procs.fence_breaches(gw, nt, wk),
                "dns_refusals": procs.dns_refusals(gw, nt, wk),
            }
            record("redis_restart_under_load", **figures)
            assert filters_lost == 0 and results_lost == 0
            assert figures["hangs"] == 0 and figures["outage_other"] == 0, [
                (o.name, o.status, round(o.seconds, 3)) for o in redis_routes if o.status != 503]
            assert figures["outage_latency_s_max"] < FAST_FAIL_BOUND
            assert figures["failed_after_recovery"] == 0
            missing = sorted(set(in_log) - set(steady_got))
            assert figures["events_lost_steady"] == 0 and figures["duplicates_steady"] == 0, (
                missing[:20], steady.closed_code, len(steady_got))
            assert len(job_events) == len(inflight_jobs), job_events  # each in-flight job announced once
            assert first_resumed is not None and set(in_log) >= mover_seen
            assert sorted(mover_seen) == [o for o in in_log if o >= first_resumed]  # resumed without a gap
            assert figures["fence_breaches"] == 0 and figures["dns_refusals"] == 0
            steady.close()
            mover.close()
            publisher.close()
        finally:
            for p in (wk, nt, gw):
                p.stop()
