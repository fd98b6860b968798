"""The system on a six-node Redis Cluster (three primaries, three replicas) with jobs on RabbitMQ.

Every Lua script runs on the cluster (a script whose keys span two slots fails there with CROSSSLOT,
so running them is the proof that the hash tags hold); events travel by sharded pub/sub; the
end-to-end flows of tests/e2e run unchanged against cluster-mode processes.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pytest
import redis.cluster

from devtools.rabbitmq_server import RabbitMQServer
from devtools.redis_cluster import RedisCluster
from shared import imagejobs, keys, redisconn, storage
from tests.conftest import Stack
from tests.e2e import test_image_flow, test_replicas
from tests.e2e.test_held_polls import metric, poll, wait_held
from tests.gateway import test_get_feed
from tests.harness import ImageServer, make_test_jpeg, start_gateway, start_notifier, start_worker
from tests.wsclient import Socket

LUA_FILES = sorted((Path(__file__).resolve().parents[2] / "shared" / "lua").glob("*.lua")) + sorted(
    (Path(__file__).resolve().parents[2] / "imaging" / "lua").glob("*.lua")
)


@pytest.fixture(scope="module")
def client(redis_cluster: RedisCluster) -> Iterator[redis.cluster.RedisCluster]:
    c = redisconn.sync_client(redis_cluster.url, cluster=True)
    yield c
    c.close()


def one_slot(key_names: list[str]) -> bool:
    return len({redis.cluster.key_slot(k.encode()) for k in key_names}) == 1


def test_every_lua_script_is_exercised_here() -> None:
    # A new script must get a case below, or this fails.
    assert {p.stem for p in LUA_FILES} == {"finish_job", "publish_event", "register_wait", "release_waiters",
                                           "release_lock"}


def test_job_protocol_scripts_run_on_the_cluster(client: redis.cluster.RedisCluster) -> None:
    wait = keys.wait_id(f"https://img.example/{uuid.uuid4().hex}.jpg", ["spiders"])
    waits = imagejobs.WaitRegistry(client)
    finish = client.register_script(imagejobs.FINISH_JOB)
    release = client.register_script(imagejobs.RELEASE_WAITERS)

    assert one_slot([keys.result_key(wait), keys.waiters_key(wait), keys.job_key(wait, "job-1")])
    assert waits.register(wait, "alice", 60, "job-1").state == "queued"
    assert waits.register(wait, "bob", 60, "job-1").state == "pending"

    finish_keys, finish_argv = imagejobs.finish_args(wait, "job-1", orjson.dumps({"result": "r"}), 60, sharded=True)
    assert one_slot([*finish_keys, keys.wait_channel(wait)])  # the channel too: SPUBLISH checks its slot
    waiters = finish(keys=finish_keys, args=finish_argv)
    assert sorted(w.decode() for w in waiters) == ["alice", "bob"]
    assert release(keys=[keys.waiters_key(wait)], args=["alice", "bob"]) == 0
    done = waits.register(wait, "carol", 60, "job-1")
    assert done.state == "done" and done.result == {"result": "r"}


def test_a_failure_recorded_on_the_cluster_answers_without_a_claim(client: redis.cluster.RedisCluster) -> None:
    wait = keys.wait_id(f"https://img.example/{uuid.uuid4().hex}.jpg", ["spiders"])
    waits = imagejobs.WaitRegistry(client)
    finish = client.register_script(imagejobs.FINISH_JOB)
    assert waits.register(wait, "alice", 60, "job-1").state == "queued"
    failure = {"reason": "HTTP 404", "kind": imagejobs.FAILURE_PERMANENT}
    failed_keys, failed_argv = imagejobs.finish_args(wait, "job-1", orjson.dumps(failure), 60, failed=True,
                                                     sharded=True)
    assert one_slot([*failed_keys, keys.failed_key(wait), keys.pending_key(wait)])
    assert [w.decode() for w in finish(keys=failed_keys, args=failed_argv)] == ["alice"]
    again = waits.register(wait, "bob", 60, "job-1")
    assert again.state == "failed" and again.failure == failure
    assert client.exists(keys.job_key(wait, "job-1")) == 0  # nothing claimed


def test_publish_event_appends_and_spublishes_on_the_users_node(client: redis.cluster.RedisCluster) -> None:
    user = f"u-{uuid.uuid4().hex[:6]}"
    publish = client.register_script(imagejobs.PUBLISH_EVENT)
    event = orjson.dumps({"type": "image_processed", "data": {"image_url": "u", "result": "r", "filters": []}})
    k, a = imagejobs.publish_args(user, "delivery-1", event.decode(), 100, sharded=True)
    assert one_slot([*k, keys.user_channel(user)])  # the channel too: SPUBLISH checks its slot
    pubsub = client.pubsub()
    pubsub.ssubscribe(keys.user_channel(user))
    try:
        _epoch, offset = publish(keys=k, args=a)
        assert int(offset) == 1
        assert publish(keys=k, args=a) is None  # the same delivery again: nothing new
        got = None
        for _ in range(50):
            got = pubsub.get_sharded_message(ignore_subscribe_messages=True, timeout=0.1)
            if got:
                break
        assert got is not None and got["type"] == "smessage"
        assert orjson.loads(got["data"])["offset"] == 1
        assert client.xlen(keys.user_log_key(user)) == 1
    finally:
        pubsub.close()


def test_lock_release_and_single_key_transactions_run_on_the_cluster(client: redis.cluster.RedisCluster) -> None:
    from imaging.verdicts import RELEASE_LOCK

    lock = f"dm:lock:{uuid.uuid4().hex}"
    client.set(lock, "mine")
    assert client.eval(RELEASE_LOCK, 1, lock, "theirs") == 0
    assert client.eval(RELEASE_LOCK, 1, lock, "mine") == 1
    blob = storage.put_blob(client, b"\x89PNG fake", "image/png", 60)  # MULTI/EXEC on one key
    assert client.exists(keys.image_blob_key(blob)) == 1


@pytest.fixture(scope="module")
def cluster_stack(
    redis_cluster: RedisCluster, rabbitmq: RabbitMQServer, image_host: ImageServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    logs = tmp_path_factory.mktemp("cluster-logs")
    env = {"REDIS_CLUSTER": "1", "BROKER_URL": rabbitmq.url}
    gateway = start_gateway(redis_cluster.url, logs, name="gateway-cluster", **env)
    notifier = start_notifier(redis_cluster.url, logs, name="notifier-cluster", **env)
    worker = start_worker(redis_cluster.url, logs, gateway.url, name="worker-cluster", **env)
    yield Stack(redis_cluster.url, gateway, notifier, worker, image_host, env=env)
    for proc in (worker, notifier, gateway):
        proc.stop()


@pytest.mark.parametrize("flow", [
    test_image_flow.test_job_reaches_every_socket_of_its_user_only,
    test_image_flow.test_same_job_from_two_users_runs_once_and_notifies_both,
    test_image_flow.test_wait_for_image_answers_at_once_when_done_and_later_when_pending,
    test_image_flow.test_unreachable_image_publishes_image_failed,
], ids=lambda f: f.__name__.removeprefix("test_"))
def test_e2e_flow_on_the_cluster(cluster_stack: Stack, flow: object) -> None:
    flow(cluster_stack)  # type: ignore[operator]


def test_feed_page_queues_its_image_job_on_the_cluster(cluster_stack: Stack) -> None:
    # /get_feed judges the page, queues the matching image (RabbitMQ), the worker's result is polled,
    # and the same page for another user is answered COMPLETED from the result.
    test_get_feed.test_matching_image_post_gets_deferred_marker_and_a_job(cluster_stack)


def gated_image_job(stack: Stack, seed: int) -> tuple[threading.Event, str, dict[str, object]]:
    """An image whose fetch waits for the returned gate, and the job request for it."""
    path = f"/held-{uuid.uuid4().hex}.jpg"
    gate = threading.Event()
    stack.images.gates[path] = gate
    image_url = stack.images.add(path, make_test_jpeg(seed=seed))
    body = {"user_id": f"held-{uuid.uuid4().hex[:6]}", "image_url": image_url, "filters": ["spiders"],
            "intervention": "blur"}
    return gate, image_url, body


def test_held_poll_hears_the_job_end_on_the_cluster(cluster_stack: Stack) -> None:
    # The poll waits on the image's sharded channel (SSUBSCRIBE) and the worker says SPUBLISH.
    gate, image_url, body = gated_image_job(cluster_stack, seed=9)
    with httpx.Client(base_url=cluster_stack.gateway.url, timeout=30) as http:
        assert http.post("/images/jobs", json=body).json()["status"] == "queued"
        threading.Timer(0.5, gate.set).start()
        started = time.monotonic()
        poll = http.get("/get_img_result", params={"img_url": image_url, "filters": "spiders"}).json()
        held = time.monotonic() - started
    assert poll["status"] == "COMPLETED", poll
    assert 0.4 < held < 3.0, held  # held until the job ended, not answered at once nor at the bound


def test_two_gateways_two_notifiers_on_the_cluster(cluster_stack: Stack, tmp_path: Path) -> None:
    test_replicas.test_events_reach_sockets_on_both_notifiers_and_a_moved_client_misses_nothing(
        cluster_stack, tmp_path
    )


def test_resume_by_offset_on_the_cluster(cluster_stack: Stack, client: redis.cluster.RedisCluster) -> None:
    user = f"resume-{uuid.uuid4().hex[:6]}"
    publish = client.register_script(imagejobs.PUBLISH_EVENT)

    def emit(n: int) -> list[int]:
        out = []
        for i in range(n):
            event = orjson.dumps({"type": "image_processed", "data": {"image_url": f"u{i}", "result": "r",
                                                                      "filters": []}}).decode()
            k, a = imagejobs.publish_args(user, uuid.uuid4().hex, event, 100, sharded=True)
            out.append(int(publish(keys=k, args=a)[1]))
        return out

    emit(2)
    first = Socket(f"{cluster_stack.ws_base}/{user}")
    hello = first.wait_for("connected")[0]["data"]
    assert hello["offset"] == 2
    emit(2)
    got = first.wait_for("image_processed", count=2)
    assert [f["offset"] for f in got] == [3, 4]
    first.close()
    missed = emit(3)
    again = Socket(f"{cluster_stack.ws_base}/{user}?epoch={hello['epoch']}&offset=4")
    try:
        hello2 = again.wait_for("connected")[0]["data"]
        assert hello2["resumed"] is True and hello2["recovered"] is True and hello2["replayed"] == 3
        assert [f["offset"] for f in again.wait_for("image_processed", count=3)] == missed
    finally:
        again.close()


def test_cluster_url_names_several_seeds_with_credentials() -> None:
    seeds, options = redisconn.cluster_seeds("rediss://app:s%40cret@10.0.0.1:7000,10.0.0.2:7001,[::1]:7002")
    assert seeds == [("10.0.0.1", 7000), ("10.0.0.2", 7001), ("::1", 7002)]  # parsed only, never dialled
    assert options == {"ssl": True, "username": "app", "password": "s@cret"}
    assert redisconn.cluster_seeds("redis://127.0.0.1")[0] == [("127.0.0.1", 6379)]
    with pytest.raises(ValueError, match="redis:// or rediss://"):
        redisconn.cluster_seeds("unix:///tmp/redis.sock")


def move_slot(cluster: RedisCluster, client: redis.cluster.RedisCluster, key: str) -> tuple[int, int]:
    """Migrate ``key``'s slot, with its keys, to another primary (CLUSTER SETSLOT IMPORTING/MIGRATING,
    MIGRATE, SETSLOT NODE), the way resharding does. Returns (from port, to port)."""
    slot = redis.cluster.key_slot(key.encode())
    source = client.get_node_from_key(key)
    target = next(n for n in client.get_primaries() if n.port != source.port)
    src, dst = (redis.Redis(host="127.0.0.1", port=n.port) for n in (source, target))
    try:
        src_id, dst_id = src.execute_command("CLUSTER MYID").decode(), dst.execute_command("CLUSTER MYID").decode()
        dst.execute_command("CLUSTER SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER SETSLOT", slot, "MIGRATING", dst_id)
        while keys_in_slot := src.execute_command("CLUSTER GETKEYSINSLOT", slot, 100):
            src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys_in_slot)
        for node in cluster.primaries():
            redis.Redis(host="127.0.0.1", port=node.port).execute_command("CLUSTER SETSLOT", slot, "NODE", dst_id)
    finally:
        src.close()
        dst.close()
    return source.port, target.port


def test_user_slot_moved_while_the_socket_is_open(
    cluster_stack: Stack, redis_cluster: RedisCluster, client: redis.cluster.RedisCluster
) -> None:
    # A slot moves (MOVED for clients; the notifier's sharded subscription must follow it) while the
    # user's socket stays open: events before, during and after the move all arrive, once, in order.
    user = f"moved-{uuid.uuid4().hex[:6]}"
    publish = client.register_script(imagejobs.PUBLISH_EVENT)

    def emit(n: int, start: int) -> None:
        for i in range(start, start + n):
            event = orjson.dumps({"type": "image_processed", "data": {"image_url": f"m{i}", "result": "r",
                                                                      "filters": []}}).decode()
            k, a = imagejobs.publish_args(user, f"mv-{i}", event, 100, sharded=True)
            publish(keys=k, args=a)

    sock = Socket(f"{cluster_stack.ws_base}/{user}")
    try:
        sock.wait_for("connected")
        emit(3, 0)
        sock.wait_for("image_processed", count=3)
        before, after = move_slot(redis_cluster, client, keys.user_log_key(user))
        assert before != after
        client.nodes_manager.initialize()  # our own publisher follows the move too
        emit(3, 3)
        got = sock.wait_for("image_processed", count=6, timeout=15)
        assert [f["offset"] for f in got] == [1, 2, 3, 4, 5, 6]
        assert client.get_node_from_key(keys.user_log_key(user)).port == after
    finally:
        sock.close()


def test_held_poll_whose_slot_moves_is_answered_and_the_next_one_follows_the_slot(
    cluster_stack: Stack, redis_cluster: RedisCluster, client: redis.cluster.RedisCluster
) -> None:
    # Redis drops a sharded subscription when its slot moves: the poll held on it is answered then
    # (it re-reads the outcome), not at the end of its hold, and the next poll hears the job end
    # on the slot's new owner.
    gate, image_url, body = gated_image_job(cluster_stack, seed=10)
    channel = keys.wait_channel(keys.wait_id(image_url, ["spiders"]))
    gw = cluster_stack.gateway

    def held_until(outcome: str) -> float:
        return metric(gw, "gateway_poll_holds_total", f'{{outcome="{outcome}"}}')

    assert httpx.post(gw.url + "/images/jobs", json=body, timeout=30).json()["status"] == "queued"
    lost, done = held_until("lost"), held_until("done")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(poll, gw, image_url, ["spiders"])
        wait_held(gw, 1)
        move_slot(redis_cluster, client, channel)
        assert first.result(timeout=30).json() == {"status": "NOT FOUND"}  # the job is still running
    assert held_until("lost") == lost + 1  # answered at the move, not at the end of its hold
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(poll, gw, image_url, ["spiders"])
        wait_held(gw, 1)
        gate.set()
        assert second.result(timeout=30).json()["status"] == "COMPLETED"
    assert held_until("done") == done + 1  # heard on the new owner
