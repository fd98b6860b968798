"""Serving one ASGI service with N processes on one port (``GATEWAY_PROCESSES``, ``NOTIFIER_PROCESSES``).

With one process the service runs in this process, as before. With more, this process becomes a
small supervisor: it binds the port, starts N copies of the service (``python -m <service>
--listen-fd FD``), forwards SIGTERM/SIGINT to them once, restarts one that dies, and stops them all
when it is stopped (or dies: on Linux the children get SIGKILL with their parent, so a killed
supervisor never leaves processes holding the port).

Why not uvicorn's ``workers=N``: its workers run a plain ``uvicorn.Server``, and the notifier needs
its own server subclass (close every socket with 1001 before shutting down). And its workers
share one listening socket; asyncio accepts a whole backlog per wake-up, so under a connect storm
one process takes most of the long-lived sockets. Here, on Linux, every process gets its own
socket bound with ``SO_REUSEPORT`` and the kernel spreads connections evenly by address hash;
elsewhere the processes share one inherited socket.

Metrics: the children run prometheus_client in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``: a
fresh temporary folder per supervisor start, removed at exit), so ``/metrics`` on any process
reports the sum over all of them.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import gc
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from prometheus_client import multiprocess

from shared.config import Settings

log = logging.getLogger("supervisor")

STARTUP_FAILURE_SECONDS = 5.0  # a child dying this soon after its start is a startup failure: give up
RESTART_DELAY_SECONDS = 1.0
STOP_GRACE_SECONDS = 20.0
PR_SET_PDEATHSIG = 1


def uvicorn_speed_options(settings: Settings) -> dict[str, str]:
    """uvicorn's event loop and HTTP parser (``auto``: uvloop and httptools when installed)."""
    return {"loop": settings.event_loop, "http": settings.http_parser}


def tune_gc() -> None:
    """Fewer, cheaper collections; call once the app is built, before serving. A full collection
    walks every object alive (in a gateway process after its imports: ~160,000 objects, 56 ms) and
    stalls every request or fan-out in flight, the usual source of tail latency. Objects alive at
    start-up are frozen out of collection, and the young generation is collected less often;
    reference counting still frees almost everything at once."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)


def release_freed_memory() -> bool:
    """Hand back to the OS the heap freed while loading (the WordNet extract's decompressed text, the model's
    graph work): glibc keeps freed chunks of its main heap for reuse, ~28 MB of resident memory in a gateway
    after start-up. Call once the models are loaded. False where the C library has no ``malloc_trim``."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except AttributeError:  # not glibc (musl, macOS): nothing to hand back this way
        return False
    trim(0)
    return True


def process_count(requested: int) -> int:
    """0 means one per core."""
    return requested if requested > 0 else (os.cpu_count() or 1)


def listen_fd_argument() -> int | None:
    """The ``--listen-fd`` a supervisor gives its children (None when started by hand)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--listen-fd", type=int, default=None)
    return parser.parse_known_args()[0].listen_fd


def reuse_port_available() -> bool:
    # Only Linux balances connections across SO_REUSEPORT sockets; BSD/macOS give all to one.
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind_sockets(host: str, port: int, count: int, backlog: int) -> list[socket.socket]:
    """``count`` listening sockets on one port with SO_REUSEPORT, or one to be shared."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    reuse_port = reuse_port_available()
    sockets = []
    for _ in range(count if reuse_port else 1):
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
        sock.listen(backlog)
        sock.set_inheritable(True)
        sockets.append(sock)
    return sockets


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@dataclass
class Child:
    sock: socket.socket
    popen: subprocess.Popen[bytes] | None = None
    started: float = 0.0


class Supervisor:
    def __init__(self, name: str, module: str, host: str, port: int, count: int, backlog: int = 2048) -> None:
        self.name = name
        self.module = module
        self.host = host
        self.port = port
        self.count = count
        self.backlog = backlog
        self._stop = threading.Event()

    def run(self) -> int:
        metrics_dir = tempfile.mkdtemp(prefix=f"diymod-{self.name}-metrics-")
        sockets = bind_sockets(self.host, self.port, self.count, self.backlog)
        children = [Child(sockets[i % len(sockets)]) for i in range(self.count)]
        env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": metrics_dir}
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, lambda *_: self._stop.set())
        log.info("%s: %d processes on %s:%d (%s), metrics summed in %s", self.name, self.count, self.host,
                    self.port, "SO_REUSEPORT" if len(sockets) > 1 else "one shared socket", metrics_dir)
        code = 0
        try:
            for child in children:
                self._start(child, env)
            code = self._watch(children, env, metrics_dir)
        finally:
            self._stop_all(children)
            for sock in sockets:
                sock.close()
            shutil.rmtree(metrics_dir, ignore_errors=True)
        return code

    def _start(self, child: Child, env: dict[str, str]) -> None:
        fd = child.sock.fileno()
        child.popen = subprocess.Popen(
            [sys.executable, "-m", self.module, "--listen-fd", str(fd)], env=env, pass_fds=(fd,),
            # Own session: a terminal's Ctrl-C or honcho's group signal reaches only the supervisor,
            # which forwards it once (a second signal would make the notifier skip its going-away).
            start_new_session=True, preexec_fn=_die_with_parent,
        )
        child.started = time.monotonic()

    def _watch(self, children: list[Child], env: dict[str, str], metrics_dir: str) -> int:
        while not self._stop.wait(0.2):
            for child in children:
                assert child.popen is not None
                code = child.popen.poll()
                if code is None:
                    continue
                multiprocess.mark_process_dead(child.popen.pid, metrics_dir)
                if time.monotonic() - child.started < STARTUP_FAILURE_SECONDS:
                    log.error("%s process %d exited with %s at start; stopping", self.name, child.popen.pid, code)
                    return 1
                log.error("%s process %d exited with %s; restarting it", self.name, child.popen.pid, code)
                time.sleep(RESTART_DELAY_SECONDS)
                self._start(child, env)
        return 0

    def _stop_all(self, children: list[Child]) -> None:
        live = [c.popen for c in children if c.popen is not None and c.popen.poll() is None]
        for popen in live:
            popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for popen in live:
            try:
                popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                popen.kill()
                popen.wait()


def serve(name: str, module: str, host: str, port: int, processes: int,
          serve_one: Callable[[list[socket.socket] | None], None], backlog: int = 2048) -> None:
    """Entry point of ``python -m gateway`` / ``python -m notifier``. ``serve_one(sockets)`` runs
    one uvicorn server: on ``sockets`` when given, else binding ``host:port`` itself."""
    fd = listen_fd_argument()
    if fd is not None:
        serve_one([socket.socket(fileno=fd)])
    elif process_count(processes) == 1:
        serve_one(None)
    else:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
        sys.exit(Supervisor(name, module, host, port, process_count(processes), backlog).run())
