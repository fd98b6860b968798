"""Starting and stopping the local servers of devtools (Redis, a Redis Cluster's nodes, RabbitMQ):
wait until one answers on its port, probe it, stop it politely and then firmly."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable


def answers(port: int, hello: bytes, expect: Callable[[bytes], bool]) -> bool:
    """Whether the server on 127.0.0.1:``port`` answers ``hello`` with a reply ``expect`` accepts."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(hello)
            return expect(s.recv(16))
    except OSError:
        return False


def redis_answers(port: int) -> bool:
    return answers(port, b"PING\r\n", lambda reply: reply.startswith(b"+PONG"))


def wait_answering(process: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float, what: str,
                   log_hint: str, interval: float = 0.02) -> None:
    """Return once ``ready()``; raise (naming ``log_hint``) if the process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}; see {log_hint}")
        if ready():
            return
        time.sleep(interval)
    raise RuntimeError(f"{what} did not answer within {timeout}s; see {log_hint}")


def stop_process(process: subprocess.Popen[bytes], timeout: float = 10, group: bool = False) -> None:
    """SIGTERM (to the whole process group with ``group``), then SIGKILL after ``timeout``."""
    def send(sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(process.pid, sig)
            else:
                process.send_signal(sig)

    send(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()
