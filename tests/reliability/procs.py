"""Real processes for the reliability suite, each started through ``tests.reliability.boot`` (loopback
fence), and a hostile image server (slow, slow-loris, redirecting, bombs).

Start functions mirror ``tests.harness`` but reuse a fixed port when asked, so a restarted process comes
back where its clients expect it.
"""

from __future__ import annotations

import http.server
import io
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.redis_server import free_port
from tests.harness import Proc, base_env, start_process, wait_http, wait_until
from tests.reliability.boot import DNS_MARK, FENCE_MARK

BOOT = ["-m", "tests.reliability.boot"]


def fenced_env(redis_url: str, fake_dns: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    env = base_env(redis_url, **extra)
    env["RELIABILITY_FAKE_DNS"] = json.dumps(fake_dns or {})
    return env


def gateway(redis_url: str, log_dir: Path, name: str = "gateway", port: int | None = None, **env: str) -> Proc:
    port = port or free_port()
    e = fenced_env(redis_url, GATEWAY_PORT=str(port), PUBLIC_GATEWAY_URL=f"http://127.0.0.1:{port}",
                   NOTIFIER_URL=f"http://127.0.0.1:{free_port()}", **env)
    proc = start_process(name, [*BOOT, "gateway"], e, log_dir, port)
    wait_http(proc, "/ping")
    return proc


def notifier(redis_url: str, log_dir: Path, name: str = "notifier", port: int | None = None, **env: str) -> Proc:
    port = port or free_port()
    proc = start_process(name, [*BOOT, "notifier"], fenced_env(redis_url, NOTIFIER_PORT=str(port), **env), log_dir,
                         port)
    wait_http(proc, "/healthz")
    return proc


def worker(redis_url: str, log_dir: Path, gateway_url: str, name: str = "worker",
           fake_dns: dict[str, str] | None = None, **env: str) -> Proc:
    proc = start_process(name, [*BOOT, "imaging.worker"],
                         fenced_env(redis_url, fake_dns, PUBLIC_GATEWAY_URL=gateway_url, **env), log_dir)
    wait_until(lambda: "imaging worker ready" in proc.log_path.read_text(errors="replace")
               or proc.popen.poll() is not None, 30, "worker start")
    if proc.popen.poll() is not None:
        raise RuntimeError(f"worker exited early:\n{proc.log_tail()}")
    return proc


def fence_breaches(*procs: Proc) -> int:
    """Connection attempts to non-loopback addresses that the fence stopped (must be 0)."""
    return sum(p.log_path.read_text(errors="replace").count(FENCE_MARK) for p in procs)


def dns_refusals(*procs: Proc) -> int:
    """Lookups of real host names that the fence refused (without it, DNS traffic off the machine)."""
    return sum(p.log_path.read_text(errors="replace").count(DNS_MARK) for p in procs)


def wait_healthy(url: str, timeout: float) -> float:
    """Seconds until ``url``/healthz answers 200 (bounded by ``timeout``)."""
    started = time.monotonic()

    def ok() -> bool:
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ok, timeout, f"{url} healthy", interval=0.05)
    return time.monotonic() - started


# -- a hostile image server ----------------------------------------------------------------------

Behaviour = Callable[[http.server.BaseHTTPRequestHandler, threading.Event], None]


@dataclass
class HostileServer:
    """A threaded HTTP server on 127.0.0.1 whose paths run scripted behaviours; counts hits per path."""

    routes: dict[str, Behaviour] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    port: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _server: http.server.ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def route(self, path: str, behaviour: Behaviour) -> str:
        self.routes[path] = behaviour
        return self.url(path)

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] = owner.hits.get(path, 0) + 1
                behaviour = owner.routes.get(path)
                try:
                    if behaviour is None:
                        self.send_error(404)
                    else:
                        behaviour(self, owner._stop)
                except (BrokenPipeError, ConnectionResetError, TimeoutError):
                    pass

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextmanager
def hostile_server() -> Iterator[HostileServer]:
    server = HostileServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def send(handler: http.server.BaseHTTPRequestHandler, data: bytes, mime: str = "image/jpeg",
         headers: dict[str, str] | None = None, status: int = 200) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", mime)
    handler.send_header("Content-Length", str(len(data)))
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    handler.end_headers()
    handler.wfile.write(data)


def serve(data: bytes, mime: str = "image/jpeg", delay: float = 0.0, first_delay: float = 0.0) -> Behaviour:
    """Serve ``data``; ``first_delay`` holds only the first request (a job that a killed worker held)."""
    calls = {"n": 0}

    def run(handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        calls["n"] += 1
        wait = delay + (first_delay if calls["n"] == 1 else 0.0)
        if wait and stop.wait(wait):
            return
        send(handler, data, mime)

    return run


def redirect(location: str, status: int = 302) -> Behaviour:
    def run(handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        send(handler, b"", "text/plain", {"Location": location}, status)

    return run


def slow_loris(byte_every: float, total: float) -> Behaviour:
    """Headers at once, then one body byte every ``byte_every`` s for up to ``total`` s."""

    def run(handler: http.server.BaseHTTPRequestHandler, stop: threading.Event) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "image/jpeg")
        handler.send_header("Content-Length", "1000000")
        handler.end_headers()
        handler.wfile.flush()
        deadline = time.monotonic() + total
        while time.monotonic() < deadline and not stop.wait(byte_every):
            handler.wfile.write(b"\xff")
            handler.wfile.flush()

    return run


def png_bomb(side: int = 30_000) -> bytes:
    """A tiny PNG that claims ``side`` x ``side`` pixels (a decompression bomb: ~900 Mpx of zeros)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + b"\x00" * ((side + 7) // 8)  # 1-bit grayscale rows, filter byte 0
    compressor = zlib.compressobj(9)
    body = b"".join(compressor.compress(row) for _ in range(64)) + compressor.flush()  # only 64 rows: truncated
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def gzip_bomb(size: int = 200 * 1024 * 1024) -> bytes:
    """A gzip body that inflates to ``size`` bytes (sent with Content-Encoding: gzip)."""
    import gzip

    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9) as gz:
        block = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            gz.write(block)
    return out.getvalue()
