"""``make run-cluster``: the whole system on a six-node Redis Cluster with image jobs on RabbitMQ.

Starts the cluster (Debian's redis-server 7) and a RabbitMQ node (Debian's rabbitmq-server), both on
loopback with their data under DATA_DIR/cluster, runs the given command (the Procfile through honcho)
with REDIS_CLUSTER=1, REDIS_URL (every node as a seed) and BROKER_URL set, and stops both when it exits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from devtools.rabbitmq_server import MISSING as RABBITMQ_MISSING
from devtools.rabbitmq_server import RabbitMQServer, rabbitmq_available
from devtools.redis_cluster import MISSING as CLUSTER_MISSING
from devtools.redis_cluster import RedisCluster, cluster_available
from shared.config import load_settings


def main(argv: list[str]) -> int:
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit("usage: python -m devtools.run_cluster -- COMMAND [ARGS...]")
    missing = [m for ok, m in ((cluster_available(), CLUSTER_MISSING), (rabbitmq_available(), RABBITMQ_MISSING))
               if not ok]
    if missing:
        sys.exit("make run-cluster needs Debian packages that are not installed:\n  " + "\n  ".join(missing))
    base = Path(load_settings().data_dir) / "cluster"
    cluster = RedisCluster(base / "redis")
    rabbit = RabbitMQServer(base / "rabbitmq")
    cluster.start()
    try:
        rabbit.start()
        env = {**os.environ, "REDIS_CLUSTER": "1", "REDIS_URL": cluster.url, "BROKER_URL": rabbit.url}
        print(f"Redis Cluster: {cluster.url}\nRabbitMQ: {rabbit.url}", flush=True)
        child = subprocess.Popen(argv, env=env)
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
        return child.wait()
    finally:
        rabbit.stop()
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
