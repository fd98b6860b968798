"""A private RabbitMQ node for tests and ``make run-cluster``: loopback only, its own data folder.

RabbitMQ is an Erlang server that pip cannot ship, so this uses Debian's ``rabbitmq-server`` package
(``make cluster-deps`` installs it; ``.ci/run`` does too). The node is started with the package's
own start script but with every path, port and the node name pointing into ``base_dir``, so several
nodes (a test session and a desk run) live side by side and nothing in ``/var/lib/rabbitmq`` is used.
Both the AMQP listener and Erlang's distribution port bind to 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from devtools.processes import answers, stop_process, wait_answering
from devtools.redis_server import free_port

# The package's real start script; /usr/sbin/rabbitmq-server is a wrapper that switches to the
# `rabbitmq` user and logs to /var/log, which a private node must not do.
SERVER_SCRIPT = "/usr/lib/rabbitmq/bin/rabbitmq-server"
MISSING = (
    "RabbitMQ is not installed: Debian's rabbitmq-server package provides it "
    "(`make cluster-deps` as root, or apt-get install rabbitmq-server)"
)


def rabbitmq_available() -> bool:
    return Path(SERVER_SCRIPT).exists() and shutil.which("erl") is not None


class RabbitMQServer:
    """One RabbitMQ node, guest/guest allowed from loopback, default vhost."""

    def __init__(self, base_dir: Path, port: int | None = None) -> None:
        self.base_dir = Path(base_dir)
        self.port = port or free_port()
        self.dist_port = free_port()
        self.node = f"diymod{self.port}@localhost"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def _env(self) -> dict[str, str]:
        base = self.base_dir
        return {
            **os.environ,
            "HOME": str(base),  # the Erlang cookie lives here
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),
            "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            # Erlang's distribution listener and the port mapper on loopback too.
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self, timeout: float = 60.0) -> None:
        if not rabbitmq_available():
            raise RuntimeError(MISSING)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "enabled_plugins").write_text("[].\n")
        (self.base_dir / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.port}\n"
            "loopback_users.guest = true\n"
            # Tests and desk runs fill small disks; the default 50 MB free-disk alarm is enough.
            "disk_free_limit.absolute = 50MB\n"
        )
        log = open(self.base_dir / "server.log", "ab")
        self.process = subprocess.Popen(
            [SERVER_SCRIPT], env=self._env(), cwd=self.base_dir, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        try:
            # The AMQP protocol header: a live broker answers with Connection.Start.
            wait_answering(self.process, lambda: answers(self.port, b"AMQP\x00\x00\x09\x01", bool), timeout,
                           f"RabbitMQ on port {self.port}", f"{self.base_dir}/server.log", interval=0.1)
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process, timeout=30, group=True)  # the start script runs beam in its group
        self.process = None

    def __enter__(self) -> RabbitMQServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
