"""Several gateway and notifier processes on one port (shared/serving.py): both serve, each
notifier process delivers to its own sockets, /metrics add up, and the processes end with their
supervisor."""

from __future__ import annotations

import os
import signal
import time
import uuid
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from notifier.connection import CLOSE_GOING_AWAY
from shared.serving import STARTUP_FAILURE_SECONDS
from tests.harness import Proc, start_gateway, start_notifier, wait_until
from tests.notifier.test_resume import publish
from tests.wsclient import Socket

REQUESTS = 200
MAX_SOCKETS = 40


def metric_sum(text: str, name: str, **labels: str) -> float:
    return sum(sample.value for family in text_string_to_metric_families(text) for sample in family.samples
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_two_gateway_processes_share_the_port_and_their_metrics_add_up(redis_url: str, tmp_path: Path) -> None:
    gw = start_gateway(redis_url, tmp_path, name="gateway-2p", GATEWAY_PROCESSES="2")
    try:
        served_by: dict[int, int] = {}
        for _ in range(REQUESTS):  # a new connection each time: the kernel picks the process
            r = httpx.get(gw.url + "/healthz", timeout=10)
            assert r.status_code == 200, r.text
            pid = r.json()["process"]
            served_by[pid] = served_by.get(pid, 0) + 1
        assert len(served_by) == 2 and gw.popen.pid not in served_by, served_by
        text = httpx.get(gw.url + "/metrics", timeout=10).text
        assert metric_sum(text, "gateway_requests_total", route="/healthz", status="200") == REQUESTS
    finally:
        gw.stop()
    wait_until(lambda: not any(alive(pid) for pid in served_by), 10, "gateway processes to exit")


def test_two_notifier_processes_each_deliver_to_their_own_sockets_and_stop_going_away(
    redis_url: str, tmp_path: Path
) -> None:
    notifier = start_notifier(redis_url, tmp_path, name="notifier-2p", NOTIFIER_PROCESSES="2")
    sockets: dict[str, Socket] = {}
    held_by: dict[str, int] = {}
    try:
        tag = uuid.uuid4().hex[:6]
        # Connect until both processes hold sockets (bounded; the kernel spreads by address hash).
        while len(set(held_by.values())) < 2 and len(sockets) < MAX_SOCKETS:
            user = f"mp-{tag}-{len(sockets)}"
            sockets[user] = Socket(f"ws://127.0.0.1:{notifier.port}/ws/{user}")
            sockets[user].wait_for("connected")
            held_by[user] = int(sockets[user].conn.response.headers["x-process"])
        assert len(set(held_by.values())) == 2, held_by
        for user in sockets:
            publish(redis_url, user, 1)
        for user, sock in sockets.items():
            assert sock.wait_for("image_processed")[0]["offset"] == 1, user
        text = httpx.get(notifier.url + "/metrics", timeout=10).text
        assert metric_sum(text, "notifier_sockets") == len(sockets)
        assert metric_sum(text, "notifier_frames_out_total") == len(sockets)
        notifier.stop()  # SIGTERM to the supervisor reaches every process once: all say "going away"
        assert {sock.wait_closed() for sock in sockets.values()} == {CLOSE_GOING_AWAY}
    finally:
        for sock in sockets.values():
            sock.close()
        notifier.stop()


def test_killed_supervisor_takes_its_processes_along(redis_url: str, tmp_path: Path) -> None:
    notifier: Proc = start_notifier(redis_url, tmp_path, name="notifier-killed", NOTIFIER_PROCESSES="2")
    pids = set()
    for _ in range(REQUESTS):  # bounded; stops as soon as both processes answered
        pids.add(httpx.get(notifier.url + "/healthz", timeout=10).json()["process"])
        if len(pids) == 2:
            break
    assert len(pids) == 2
    notifier.popen.send_signal(signal.SIGKILL)
    notifier.popen.wait()
    wait_until(lambda: not any(alive(pid) for pid in pids), 10, "notifier processes to die with their parent")


def test_a_killed_gateway_process_is_replaced_and_its_counts_are_kept(redis_url: str, tmp_path: Path) -> None:
    gw = start_gateway(redis_url, tmp_path, name="gateway-restart", GATEWAY_PROCESSES="2")
    started = time.monotonic()
    try:
        pids: set[int] = set()
        for _ in range(REQUESTS):
            pids.add(httpx.get(gw.url + "/healthz", timeout=10).json()["process"])
        assert len(pids) == 2
        # A child that dies within its first seconds counts as a failed start (the supervisor gives up).
        time.sleep(max(0.0, STARTUP_FAILURE_SECONDS + 0.5 - (time.monotonic() - started)))
        victim = min(pids)
        os.kill(victim, signal.SIGKILL)
        after: list[int] = []
        unanswered = 0

        def replaced() -> bool:
            nonlocal unanswered
            try:
                after.append(httpx.get(gw.url + "/healthz", timeout=2).json()["process"])
            except httpx.HTTPError:
                # Queued on the killed process's socket (never served), or served by a live process after
                # our timeout on a loaded machine (counted there): either way not in `after`.
                unanswered += 1
            return len(set(after) - pids) == 1

        wait_until(replaced, 20, "a new gateway process", interval=0.02)
        text = httpx.get(gw.url + "/metrics", timeout=10).text
        served = metric_sum(text, "gateway_requests_total", route="/healthz", status="200")
        # The dead process's counts stay in the sum (it served about half of REQUESTS, far more than
        # the few attempts that got no answer).
        assert REQUESTS + len(after) <= served <= REQUESTS + len(after) + unanswered
    finally:
        gw.stop()
