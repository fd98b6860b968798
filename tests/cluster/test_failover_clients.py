"""The worker's Redis Cluster client after a primary dies: what it needs to find the promoted replica.

Found by ``test_failover.py``: after a failover, a MULTI/EXEC on the dead primary's slots kept failing for
a minute (redis-py asks for a new slot map only at a transaction's fifth connection error, and a
transaction makes four attempts), and the worker's "is Redis back?" PING asked one node, which answered,
while the job's keys still mapped to the dead one. Each check runs on a client made before the kill that
has touched nothing since, as a worker thread's client would be.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis

from devtools.redis_cluster import MISSING, RedisCluster, cluster_available
from imaging.actors import JobRunner
from imaging.wiring import queue_time_limits
from shared import keys, redisconn, storage
from shared.config import load_settings


def _blob_on(client: object, port: int) -> bytes:
    """Bytes whose content-addressed blob key lives on the primary at ``port``."""
    for i in range(10_000):
        data = f"image {i}".encode()
        blob_key = keys.image_blob_key(storage.blob_id_for(data, "image/jpeg"))
        if client.get_node_from_key(blob_key).port == port:  # type: ignore[attr-defined]
            return data
    raise AssertionError("no blob key on that primary")


def test_worker_client_reaches_the_promoted_replica(tmp_path: Path) -> None:
    if not cluster_available():
        pytest.skip(f"Redis Cluster tests skipped: {MISSING}")
    cluster = RedisCluster(tmp_path / "cluster")
    cluster.start()
    try:
        tx_client = redisconn.sync_client(cluster.url, cluster=True)
        runner_client = redisconn.sync_client(cluster.url, cluster=True)
        # Not the node a plain PING goes to: that one answering must not be taken for the job's keys answering.
        default_port = runner_client.get_default_node().port
        victim = next(p.port for p in cluster.primaries() if p.port != default_port)
        data = _blob_on(tx_client, victim)
        blob_key = keys.image_blob_key(storage.blob_id_for(data, "image/jpeg"))
        assert runner_client.get_node_from_key(blob_key).port == victim

        cluster.node_at(victim).kill()
        cluster.wait_healthy(30)

        # A transaction on the dead primary's slots finds the promoted replica within a few tries.
        errors = []
        for _ in range(10):
            try:
                storage.put_blob(tx_client, data, "image/jpeg", 60)
                break
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                errors.append(type(exc).__name__)
                time.sleep(0.3)
        else:
            raise AssertionError(f"put_blob never reached the promoted replica: {errors}")
        assert len(errors) <= 2, errors

        # "Redis answers" means the job's keys answer: the runner re-reads the slot map and asks every primary.
        runner = JobRunner(load_settings({}), runner_client, queue_time_limits(load_settings({})))
        assert runner.wait_for_redis(time.monotonic() + 15)
        assert runner_client.get_node_from_key(blob_key).port != victim
        assert runner_client.hget(blob_key, "type") == b"image/jpeg"
        tx_client.close()
        runner_client.close()
    finally:
        cluster.stop()
