"""A Redis Cluster primary killed (SIGKILL) while feeds, jobs and sockets are busy.

Its replica takes over (cluster-node-timeout 2 s). Measured and recorded like the reliability suite
(RELIABILITY.md): requests failed and for how long, jobs lost or duplicated, events lost or
duplicated, filters lost, time until the cluster and the system are healthy again.
"""

from __future__ import annotations

import random
import signal
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson

from devtools.rabbitmq_server import RabbitMQServer
from devtools.redis_cluster import RedisCluster
from shared import keys, redisconn
from tests.harness import ImageServer, make_test_jpeg, start_gateway, start_notifier, start_worker
from tests.reliability.figures import record
from tests.wsclient import Socket

STEADY_SECONDS = 3.0
AFTER_KILL_SECONDS = 12.0
USERS = 12


def test_primary_killed_under_load(rabbitmq: RabbitMQServer, image_host: ImageServer, tmp_path: Path) -> None:
    cluster = RedisCluster(tmp_path / "cluster")
    cluster.start()
    env = {"REDIS_CLUSTER": "1", "BROKER_URL": rabbitmq.url}
    procs = []
    sockets: dict[str, Socket] = {}
    stop = threading.Event()
    try:
        gw = start_gateway(cluster.url, tmp_path, name="gateway-fo", **env)
        nt = start_notifier(cluster.url, tmp_path, name="notifier-fo", **env)
        wk = start_worker(cluster.url, tmp_path, gw.url, name="worker-fo", **env)
        procs = [wk, nt, gw]
        tag = uuid.uuid4().hex[:6]
        users = [f"fo-{i}-{tag}" for i in range(USERS)]
        for user in users:
            sockets[user] = Socket(f"ws://127.0.0.1:{nt.port}/ws/{user}")
        for s in sockets.values():
            s.wait_for("connected")
        client = redisconn.sync_client(cluster.url, cluster=True)
        victim_port = client.get_node_from_key(keys.user_log_key(users[0])).port
        on_victim = [u for u in users if client.get_node_from_key(keys.user_log_key(u)).port == victim_port]
        client.close()

        failures: list[tuple[float, str]] = []
        requests = [0]
        filters_acked: dict[str, set[str]] = {u: set() for u in users}
        jobs: list[tuple[str, str, float]] = []
        job_refusals: list[tuple[float, str]] = []
        lock = threading.Lock()

        def feed_load() -> None:
            rng = random.Random(1)
            with httpx.Client(base_url=gw.url, timeout=10) as http:
                while not stop.is_set():
                    user = rng.choice(users)
                    text = f"topic {uuid.uuid4().hex[:8]}"
                    try:
                        r = http.post("/filters", json={"user_id": user, "filter_text": text, "intensity": 3})
                        ok = r.status_code in (200, 201)
                        if ok:
                            filters_acked[user].add(text)
                        r2 = http.get("/filters", params={"user_id": user})
                        ok = ok and r2.status_code == 200
                        why = f"{r.status_code}/{r2.status_code}"
                    except httpx.HTTPError as exc:
                        ok, why = False, type(exc).__name__
                    with lock:
                        requests[0] += 1
                        if not ok:
                            failures.append((time.monotonic(), why))
                    time.sleep(0.02)

        def job_load() -> None:
            rng = random.Random(2)
            with httpx.Client(base_url=gw.url, timeout=10) as http:
                while not stop.is_set():
                    user = rng.choice(users)
                    url = image_host.add(f"/fo-{uuid.uuid4().hex}.jpg", make_test_jpeg(seed=rng.randrange(50)))
                    body = {"user_id": user, "image_url": url, "filters": ["spiders"], "intervention": "blur"}
                    try:
                        r = http.post("/images/jobs", json=body)
                        if r.status_code == 202:
                            jobs.append((user, url, time.monotonic()))
                        else:
                            job_refusals.append((time.monotonic(), str(r.status_code)))
                    except httpx.HTTPError as exc:
                        job_refusals.append((time.monotonic(), type(exc).__name__))
                    time.sleep(0.1)

        threads = [threading.Thread(target=feed_load), threading.Thread(target=job_load)]
        for t in threads:
            t.start()
        time.sleep(STEADY_SECONDS)
        killed_at = time.monotonic()
        cluster.node_at(victim_port).kill()
        cluster_healthy_s = cluster.wait_healthy(30)
        time.sleep(max(0.0, killed_at + AFTER_KILL_SECONDS - time.monotonic()))
        stop.set()
        for t in threads:
            t.join(timeout=15)

        # Give the last jobs time to finish, then count what each socket saw.
        deadline = time.monotonic() + 20
        def seen(user: str, url: str) -> int:
            return sum(1 for f in sockets[user].of_type("image_processed") if f["data"]["image_url"] == url)
        while time.monotonic() < deadline and any(seen(u, url) == 0 for u, url, _ in jobs):
            time.sleep(0.2)
        lost = [(u, url, t - killed_at) for u, url, t in jobs if seen(u, url) == 0]
        duplicated = sum(1 for u, url, _ in jobs if seen(u, url) > 1)
        with httpx.Client(base_url=gw.url, timeout=10) as http:
            # A lost job whose result exists lost only its event; one without lost the job itself. Asked all at
            # once: one at a time, dozens of lost jobs outlast the test's time limit and hide the figures.
            def completed(url: str) -> bool:
                reply = http.get("/get_img_result", params={"img_url": url, "filters": "spiders"})
                return bool(reply.json()["status"] == "COMPLETED")

            with ThreadPoolExecutor(max_workers=16) as pool:
                completed_unannounced = sum(pool.map(completed, [url for _, url, _ in lost]))
            stored = {u: {f["filter_text"] for f in http.get("/filters", params={"user_id": u}).json()["filters"]}
                      for u in users}
        filters_lost = sum(len(filters_acked[u] - stored[u]) for u in users)
        after = [t for t, _ in failures if t >= killed_at]
        figures = dict(
            users=USERS, users_on_killed_primary=len(on_victim), requests=requests[0],
            requests_failed=len(failures), failure_window_s=(max(after) - killed_at) if after else 0.0,
            failure_kinds=sorted({w for _, w in failures}), cluster_healthy_s=cluster_healthy_s,
            jobs=len(jobs), jobs_refused=len(job_refusals), jobs_lost=len(lost),
            lost_events_of_completed_jobs=completed_unannounced,
            jobs_duplicated=duplicated,
            lost_job_offsets_s=[round(x, 2) for _, _, x in lost][:8],
            filters_lost=filters_lost,
            # Where losses fell, kept in the figures CI prints even when the test passes (the logs below are not).
            lost_users_on_killed_primary=len({u for u, _, _ in lost if u in on_victim}),
            lost_users_elsewhere=len({u for u, _, _ in lost if u not in on_victim}),
            sockets_closed=sorted(str(s.closed_code) for s in sockets.values() if s.closed_code is not None),
        )
        record("redis_cluster_primary_killed", **figures)
        print("FAILOVER", figures)
        if lost:
            wk.popen.send_signal(signal.SIGUSR1)  # the worker writes every thread's stack to its log
            time.sleep(0.5)
            print("NOTIFIER LOG", nt.log_tail(60), "WORKER LOG", wk.log_tail(400), sep="\n")
            debug = redisconn.sync_client(cluster.url, cluster=True)
            for user, url, _ in lost:
                entries = debug.xrange(keys.user_log_key(user))
                in_log = [(e[0], orjson.loads(e[1][b"p"])["offset"]) for e in entries if url.encode() in e[1][b"p"]]
                print("LOST", user, keys.wait_id(url, ["spiders"]), "in log:", in_log,
                      "socket offsets:", [f["offset"] for f in sockets[user].of_type("image_processed")],
                      "closed:", sockets[user].closed_code)
            debug.close()
        assert requests[0] > 50 and len(jobs) > 20
        # Only the failover itself may fail requests, and only as "try again" (503), never a 500.
        assert {w for _, w in failures} <= {"503/503", "503/200", "200/503"}, failures[:5]
        assert len(failures) < 20 and figures["failure_window_s"] < 10, figures
        assert duplicated == 0 and filters_lost == 0
        # Every accepted job finishes and its user is told: a stale slot map once stalled the worker's threads
        # for a minute here (test_failover_clients.py), which lost events in about 1 run of 12.
        assert not lost, figures
    finally:
        stop.set()
        for s in sockets.values():
            s.close()
        for p in procs:
            p.stop()
        cluster.stop()
