"""Real processes for tests: Redis, gateway, notifier, imaging worker, and a local image server.

Everything binds to 127.0.0.1 on ports chosen here; nothing talks to any other address.
"""

from __future__ import annotations

import contextlib
import http.server
import io
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.redis_server import EmbeddedRedis, free_port

ROOT = Path(__file__).resolve().parent.parent


def wait_until(check: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log_path: Path
    port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log_tail(self, n: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        if self.popen.poll() is not None:
            return
        self.popen.send_signal(sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait()

    def kill(self) -> None:
        self.stop(signal.SIGKILL)


def base_env(redis_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI", "GEMINI", "GOOGLE"))}
    env.update(
        REDIS_URL=redis_url,
        FETCH_ALLOW_PRIVATE_HOSTS="127.0.0.1",
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
        MODERATION_PROVIDER="local",
        GATEWAY_PROCESSES="1",  # the default is one per core; tests that want more say so
    )
    env.update(extra)
    return env


def start_process(name: str, args: list[str], env: dict[str, str], log_dir: Path, port: int | None = None) -> Proc:
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with open(log_path, "ab") as log:
        popen = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    return Proc(name, popen, log_path, port)


def wait_http(proc: Proc, path: str, timeout: float = 20) -> None:
    def up() -> bool:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"{proc.name} exited early:\n{proc.log_tail()}")
        try:
            return httpx.get(proc.url + path, timeout=1).status_code < 500
        except httpx.HTTPError:
            return False

    wait_until(up, timeout, f"{proc.name} on {proc.url}")


def start_gateway(redis_url: str, log_dir: Path, name: str = "gateway", **env: str) -> Proc:
    port = free_port()
    e = base_env(redis_url, GATEWAY_PORT=str(port), PUBLIC_GATEWAY_URL=f"http://127.0.0.1:{port}", **env)
    proc = start_process(name, ["-m", "gateway"], e, log_dir, port)
    wait_http(proc, "/ping")
    return proc


def start_notifier(redis_url: str, log_dir: Path, name: str = "notifier", **env: str) -> Proc:
    port = free_port()
    proc = start_process(name, ["-m", "notifier"], base_env(redis_url, NOTIFIER_PORT=str(port), **env), log_dir, port)
    wait_http(proc, "/healthz")
    return proc


def start_worker(redis_url: str, log_dir: Path, public_gateway_url: str, name: str = "worker", **env: str) -> Proc:
    env.setdefault("WORKER_METRICS_PORT", str(free_port()))
    e = base_env(redis_url, PUBLIC_GATEWAY_URL=public_gateway_url, **env)
    proc = start_process(name, ["-m", "imaging.worker"], e, log_dir, int(env["WORKER_METRICS_PORT"]))
    wait_until(lambda: "imaging worker ready" in proc.log_path.read_text(errors="replace")
               or proc.popen.poll() is not None, 30, "worker start")
    if proc.popen.poll() is not None:
        raise RuntimeError(f"worker exited early:\n{proc.log_tail()}")
    return proc


# -- a local image server ---------------------------------------------------------------------

def make_test_jpeg(size: tuple[int, int] = (320, 240), seed: int = 1) -> bytes:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, (40 + seed * 10 % 200, 120, 200))
    draw = ImageDraw.Draw(img)
    for i in range(0, size[0], 16):
        draw.line([(i, 0), (size[0] - i, size[1])], fill=((i * 7) % 255, (i * 3) % 255, 90), width=3)
    draw.ellipse([size[0] // 4, size[1] // 4, size[0] * 3 // 4, size[1] * 3 // 4], fill=(230, 200, 40))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=90)
    return out.getvalue()


DEFAULT_PREFIX = "/feedhost/"


@dataclass
class ImageServer:
    """Serves registered bytes on 127.0.0.1 and counts requests per path. A path with a gate
    answers only once the gate is set (a job that is "still running" for as long as a test needs)."""

    files: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)
    gates: dict[str, threading.Event] = field(default_factory=dict)
    delay: float = 0.0
    default: bytes | None = None  # served for unknown paths under DEFAULT_PREFIX (rewritten feed image hosts)
    port: int = 0
    _server: http.server.ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def add(self, path: str, data: bytes, mime: str = "image/jpeg") -> str:
        self.files[path] = (data, mime)
        return self.url(path)

    def start(self) -> None:
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?", 1)[0]
                owner.hits[path] = owner.hits.get(path, 0) + 1
                if owner.delay:
                    time.sleep(owner.delay)
                gate = owner.gates.get(path)
                if gate is not None:
                    gate.wait(60)
                found = owner.files.get(path)
                if found is None and owner.default is not None and path.startswith(DEFAULT_PREFIX):
                    found = (owner.default, "image/jpeg")
                if found is None:
                    self.send_error(404)
                    return
                data, mime = found
                self.send_response(200)
                self.send_header("Content-Type", mime)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        for gate in self.gates.values():
            gate.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


@contextlib.contextmanager
def image_server() -> Iterator[ImageServer]:
    server = ImageServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def redis_server(tmp: Path) -> Iterator[EmbeddedRedis]:
    server = EmbeddedRedis(tmp / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()
