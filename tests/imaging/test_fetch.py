"""imaging.fetch against a real local HTTP(S) server on 127.0.0.1 and fake resolvers.

Every test runs with ``socket.create_connection`` watched: a connection attempt to anything but
loopback fails the test at once, so "refused before connecting" is checked, not assumed.
"""

from __future__ import annotations

import datetime
import io
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from PIL import Image

from imaging import fetch
from imaging.fetch import FetchRefused, FetchTransient, blocked_reason, fetch_image

ALLOW = ("127.0.0.1",)
LIMITS = {"max_bytes": 200_000, "timeout": 2.0, "max_redirects": 3}


def _png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


PNG = _png()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    stop: threading.Event  # set on the class by the fixture

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _redirect(self, location: str) -> None:
        self._send(302, headers={"Location": location})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path, query = parts.path, parse_qs(parts.query)
        try:
            if path == "/image.png":
                self._send(200, PNG, {"Content-Type": "image/png"})
            elif path.startswith("/redirect/"):
                n = int(path.rsplit("/", 1)[1])
                # Mix relative forms: absolute path, then a path-relative reference at the end.
                self._redirect(f"/redirect/{n - 1}" if n > 0 else "../image.png")
            elif path == "/loop":
                self._redirect("/loop")
            elif path == "/redirect-to":
                self._redirect(query["u"][0])
            elif path == "/host":
                self._send(200, self.headers["Host"].encode(), {"Content-Type": "text/plain"})
            elif path == "/big-content-length":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(50_000_000))
                self.end_headers()
                self._dribble(b"\0" * 65536, count=800, pause=0.0)
            elif path == "/big-chunked":
                # No Content-Length: the limit has to be enforced while streaming.
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                chunk = b"\0" * 65536
                self._dribble(b"%x\r\n%b\r\n" % (len(chunk), chunk), count=800, pause=0.0)
            elif path == "/slow":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", "100000")
                self.end_headers()
                self._dribble(b"x", count=100_000, pause=0.05)  # each byte well within the read timeout
            elif path == "/gzip":
                self._send(200, b"\x1f\x8b" + b"\0" * 20, {"Content-Encoding": "gzip"})
            elif path.startswith("/status/"):
                self._send(int(path.rsplit("/", 1)[1]), b"nope", {"Content-Type": "text/plain"})
            else:
                self._send(404)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up on purpose

    def _dribble(self, data: bytes, *, count: int, pause: float) -> None:
        for _ in range(count):
            if self.stop.is_set():
                return
            self.wfile.write(data)
            self.wfile.flush()
            if pause:
                time.sleep(pause)


def _serve(ssl_context: ssl.SSLContext | None = None) -> Iterator[int]:
    stop = threading.Event()
    handler = type("Handler", (_Handler,), {"stop": stop})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    if ssl_context is not None:
        server.socket = ssl_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        stop.set()
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    yield from _serve()


@pytest.fixture
def base(port: int) -> str:
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def connections(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Record every outgoing connect; fail the test on the spot for a non-loopback target."""
    attempts: list[tuple[str, int]] = []
    real = socket.create_connection

    def guarded(address: tuple[str, int], *args: object, **kwargs: object) -> socket.socket:
        attempts.append(address)
        if not ipaddress.ip_address(address[0]).is_loopback:
            pytest.fail(f"connection attempted to non-loopback address {address}")
        return real(address, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "create_connection", guarded)
    return attempts


def _fixed(*answers: str) -> Callable[[str, int], list[str]]:
    return lambda host, port: list(answers)


def _unused_resolver(host: str, port: int) -> list[str]:
    pytest.fail(f"resolver must not be called for {host!r}")


class _Sequence:
    """A resolver that gives successive answers (DNS rebinding) and counts calls."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return [self.answers[min(len(self.calls), len(self.answers)) - 1]]


# --------------------------------------------------------------------------- happy paths


def test_fetches_image(base: str, connections: list[tuple[str, int]]) -> None:
    got = fetch_image(f"{base}/image.png", allow=ALLOW, **LIMITS)
    assert got.data == PNG
    assert got.content_type_header == "image/png"
    assert got.url_final == f"{base}/image.png"
    assert [host for host, _ in connections] == ["127.0.0.1"]


def test_follows_redirect_chain_with_relative_locations(base: str) -> None:
    got = fetch_image(f"{base}/redirect/2", allow=ALLOW, **LIMITS)  # 3 redirects
    assert got.data == PNG
    assert got.url_final == f"{base}/image.png"


def test_allow_list_accepts_cidr_and_hostname(port: int) -> None:
    url = f"http://img.internal:{port}/image.png"
    assert fetch_image(url, allow=["127.0.0.0/8"], resolver=_fixed("127.0.0.1"), **LIMITS).data == PNG
    assert fetch_image(url, allow=["IMG.internal"], resolver=_fixed("127.0.0.1"), **LIMITS).data == PNG


# --------------------------------------------------------------------------- limits


def test_too_many_redirects(base: str) -> None:
    with pytest.raises(FetchRefused, match="redirects"):
        fetch_image(f"{base}/redirect/3", allow=ALLOW, **LIMITS)  # 4 redirects > 3


def test_redirect_loop(base: str, connections: list[tuple[str, int]]) -> None:
    with pytest.raises(FetchRefused, match="redirects"):
        fetch_image(f"{base}/loop", allow=ALLOW, **LIMITS)
    assert len(connections) <= LIMITS["max_redirects"] + 1


def test_oversize_refused_early_by_content_length(base: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="Content-Length"):
        fetch_image(f"{base}/big-content-length", allow=ALLOW, **LIMITS)
    assert time.monotonic() - started < 1.0


def test_oversize_refused_while_streaming_without_content_length(base: str) -> None:
    started = time.monotonic()
    with pytest.raises(FetchRefused, match="larger than 200000 bytes"):
        fetch_image(f"{base}/big-chunked", allow=ALLOW, **LIMITS)
    assert time.monotonic() - started < 1.0  # the server would send 50 MB


def test_slow_loris_hits_overall_deadline(base: str) -> None:
    timeout = 0.4  # each byte arrives every 0.05 s, so only the overall deadline can stop it
    started = time.monotonic()
    with pytest.raises(FetchTransient, match="deadline"):
        fetch_image(f"{base}/slow", allow=ALLOW, max_bytes=1_000_000, timeout=timeout, max_redirects=0)
    elapsed = time.monotonic() - started
    assert elapsed < fetch.DEADLINE_FACTOR * timeout + 0.25, elapsed


def test_compressed_response_refused(base: str) -> None:
    with pytest.raises(FetchRefused, match="Content-Encoding"):
        fetch_image(f"{base}/gzip", allow=ALLOW, **LIMITS)


@pytest.mark.parametrize(
    ("status", "error"),
    [(404, FetchRefused), (403, FetchRefused), (500, FetchTransient), (503, FetchTransient), (429, FetchTransient)],
)
def test_http_errors(base: str, status: int, error: type[Exception]) -> None:
    with pytest.raises(error, match=f"HTTP {status}"):
        fetch_image(f"{base}/status/{status}", allow=ALLOW, **LIMITS)


def test_connection_refused_is_transient() -> None:
    with socket.socket() as s:  # grab a free port, then close it so nothing listens there
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    with pytest.raises(FetchTransient):
        fetch_image(f"http://127.0.0.1:{free}/x.png", allow=ALLOW, **LIMITS)


# --------------------------------------------------------------------------- address policy


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://example.com/",
        "data:image/png;base64,AA",
        "javascript:alert(1)",
        "not a url",
        "http://",
        "//example.com/a.png",
    ],
)
def test_bad_schemes_and_urls_refused(url: str) -> None:
    with pytest.raises(FetchRefused):
        fetch_image(url, resolver=_unused_resolver, **LIMITS)


@pytest.mark.parametrize(
    "answer",
    [
        "10.0.0.5",
        "172.16.3.4",
        "192.168.1.1",
        "127.0.0.1",
        "127.5.5.5",
        "0.0.0.0",
        "169.254.169.254",  # AWS/GCP/Azure metadata
        "100.64.0.1",
        "100.100.100.200",  # CGNAT (and Alibaba metadata)
        "192.0.0.8",
        "198.18.0.1",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "fd00::1",
        "fd00:ec2::254",  # ULA (and the AWS IPv6 metadata address)
        "fe80::1",
        "::1",
        "::",
        "ff02::1",
        "2001:db8::1",
        "::ffff:10.0.0.5",
        "::ffff:169.254.169.254",
        "::ffff:127.0.0.1",  # IPv4-mapped
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata address
        "2002:a9fe:a9fe::1",  # 6to4 of the metadata address
    ],
)
def test_blocked_addresses_refused_at_resolution(answer: str, connections: list[tuple[str, int]]) -> None:
    resolver = _Sequence(answer)
    with pytest.raises(FetchRefused, match="resolves to"):
        fetch_image("http://images.example.com/cat.jpg", resolver=resolver, **LIMITS)
    assert resolver.calls == [("images.example.com", 80)]
    assert connections == []  # refused before any socket was opened


def test_one_blocked_answer_poisons_the_whole_answer(connections: list[tuple[str, int]]) -> None:
    with pytest.raises(FetchRefused):
        fetch_image("https://cdn.example/a.png", resolver=_fixed("93.184.216.34", "10.0.0.5"), **LIMITS)
    assert connections == []


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/latest/",
        "http://[::ffff:127.0.0.1]/",
        "http://10.1.2.3:8080/x.png",
        "http://[::1]/",
        "http://0.0.0.0/",
    ],
)
def test_ip_literal_hosts_refused_without_resolving(url: str, connections: list[tuple[str, int]]) -> None:
    with pytest.raises(FetchRefused):
        fetch_image(url, resolver=_unused_resolver, **LIMITS)
    assert connections == []


def test_loopback_refused_without_allow_list(base: str, connections: list[tuple[str, int]]) -> None:
    with pytest.raises(FetchRefused, match="loopback"):
        fetch_image(f"{base}/image.png", **LIMITS)
    with pytest.raises(FetchRefused, match="loopback"):
        fetch_image(f"http://localhost:{base.rsplit(':', 1)[1]}/image.png", **LIMITS)  # real getaddrinfo
    assert connections == []


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://metadata.example/computeMetadata/v1/",
        "file:///etc/passwd",
        "http://[fd00:ec2::254]/latest/",
    ],
)
def test_redirect_targets_are_checked_again(base: str, target: str, connections: list[tuple[str, int]]) -> None:
    def resolver(host: str, port: int) -> list[str]:
        return ["169.254.169.254"] if host == "metadata.example" else ["127.0.0.1"]

    with pytest.raises(FetchRefused):
        fetch_image(f"{base}/redirect-to?u={target}", allow=ALLOW, resolver=resolver, **LIMITS)
    assert {host for host, _ in connections} == {"127.0.0.1"}


def test_connects_to_the_checked_ip_and_keeps_the_hostname(port: int, connections: list[tuple[str, int]]) -> None:
    # The resolver rebinds after its first answer; the connect step must not ask it again.
    resolver = _Sequence("127.0.0.1", "10.0.0.1")
    got = fetch_image(f"http://img.example:{port}/host", allow=ALLOW, resolver=resolver, **LIMITS)
    assert got.data == f"img.example:{port}".encode()  # Host header carries the name, not the IP
    assert resolver.calls == [("img.example", port)]
    assert connections == [("127.0.0.1", port)]


def test_dns_rebinding_on_redirect_is_refused(port: int, connections: list[tuple[str, int]]) -> None:
    resolver = _Sequence("127.0.0.1", "10.0.0.1")
    url = f"http://rebind.example:{port}/redirect-to?u=/image.png"  # same host, second lookup
    with pytest.raises(FetchRefused, match="private"):
        fetch_image(url, allow=ALLOW, resolver=resolver, **LIMITS)
    assert len(resolver.calls) == 2
    assert connections == [("127.0.0.1", port)]


def test_backend_never_connects_unchecked(connections: list[tuple[str, int]]) -> None:
    """Even a host that was never pinned is resolved and checked inside the connect step."""
    backend = fetch._PinnedBackend(fetch._AllowList.parse(()), _fixed("10.0.0.1"), fetch._Deadline(5))
    with pytest.raises(FetchRefused, match="private"):
        backend.connect_tcp("unpinned.example", 80, timeout=1)
    assert connections == []


@pytest.mark.parametrize(
    "ip", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:93.184.216.34", "64:ff9b::808:808"]
)
def test_public_addresses_pass(ip: str) -> None:
    assert blocked_reason(ip) is None


# --------------------------------------------------------------------------- TLS keeps the hostname


def _self_signed(tmp: Path, name: str) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[int, list[str | None]]]:
    """HTTPS on 127.0.0.1 with a certificate valid only for ``img.example``; records SNI names."""
    cert, key = _self_signed(tmp_path, "img.example")
    seen_sni: list[str | None] = []
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(cert, key)
    server_ctx.sni_callback = lambda sock, name, ctx: seen_sni.append(name)  # type: ignore[assignment]
    client_ctx = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr(fetch, "_ssl_context", lambda: client_ctx)
    for p in _serve(server_ctx):
        yield p, seen_sni


def test_https_uses_hostname_for_sni_and_verification(
    tls_server: tuple[int, list[str | None]], connections: list[tuple[str, int]]
) -> None:
    port, seen_sni = tls_server
    got = fetch_image(f"https://img.example:{port}/image.png", allow=ALLOW, resolver=_fixed("127.0.0.1"), **LIMITS)
    assert got.data == PNG
    assert seen_sni == ["img.example"]
    assert connections == [("127.0.0.1", port)]


def test_https_certificate_for_other_name_refused(tls_server: tuple[int, list[str | None]]) -> None:
    port, _ = tls_server
    with pytest.raises(FetchRefused, match="certificate"):
        fetch_image(f"https://evil.example:{port}/image.png", allow=ALLOW, resolver=_fixed("127.0.0.1"), **LIMITS)
