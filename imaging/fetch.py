"""Safe download of client-supplied image URLs (SSRF-hardened).

Clients send arbitrary URLs and the worker downloads them, so every fetch is treated as hostile:

* only ``http``/``https``;
* the host is resolved *once per hop* and every answer is checked against a block list (loopback,
  private, link-local and cloud metadata, CGNAT, multicast, reserved, IPv6 wrappers of those ...)
  unless the host, IP or CIDR is allow-listed;
* the socket is opened to exactly the address that was checked (a custom httpcore network backend),
  so a DNS answer that changes between check and connect (rebinding) is never used. TLS SNI,
  certificate verification and the ``Host`` header keep using the hostname;
* redirects are followed by hand, each hop checked again, at most ``max_redirects``;
* the body is streamed with a byte cap, per-operation timeouts and an overall deadline
  (``DEADLINE_FACTOR * timeout``) enforced on every socket read and write, so slow-loris servers
  cannot hold a worker thread.

The function is synchronous: it runs inside Dramatiq worker threads. A fresh connection pool is made
per call, so nothing (connections, cookies, pins) is shared between fetches or threads.
"""

from __future__ import annotations

import functools
import ipaddress
import select
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

if TYPE_CHECKING:
    from shared.config import Settings

__all__ = [
    "DEADLINE_FACTOR",
    "FetchError",
    "FetchRefused",
    "FetchTransient",
    "FetchedImage",
    "Resolver",
    "blocked_reason",
    "fetch_image",
    "fetch_with_settings",
]

# The whole fetch (all hops, DNS excluded) may take at most this many times ``timeout``.
DEADLINE_FACTOR = 2.0

_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_TRANSIENT_CODES = frozenset({408, 425, 429})
_USER_AGENT = "DIY-MOD-imaging/0.1 (+image moderation worker)"
_ACCEPT = "image/avif,image/webp,image/png,image/jpeg,image/gif,image/*;q=0.8,*/*;q=0.1"

Resolver = Callable[[str, int], list[str]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class FetchError(Exception):
    """The image could not be downloaded; ``reason`` is short and safe to log or show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class FetchRefused(FetchError):
    """Permanent: retrying the same URL cannot succeed (policy refusal, too big, 4xx, ...)."""


class FetchTransient(FetchError):
    """Temporary: timeouts, connection errors, 429 and 5xx. Worth retrying later."""


@dataclass(frozen=True, slots=True)
class FetchedImage:
    url_final: str
    data: bytes
    content_type_header: str | None


# --------------------------------------------------------------------------- address policy

# Ranges ``ipaddress.is_global`` misses or gets wrong on some Python versions; checked explicitly.
_EXTRA_BLOCKED: tuple[IPNetwork, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",  # "this network"
        "100.64.0.0/10",  # CGNAT shared address space
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "198.18.0.0/15",  # benchmarking
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard-only
        "2001:db8::/32",  # documentation
        "fec0::/10",  # deprecated site-local
    )
)
_NAT64_WKP = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address merely wraps (mapped, NAT64, 6to4), which is what gets reached."""
    if addr.ipv4_mapped is not None:
        return addr.ipv4_mapped
    if addr in _NAT64_WKP:
        return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr.sixtofour is not None:
        return addr.sixtofour
    return None


def blocked_reason(ip: str | IPAddress) -> str | None:
    """Why connecting to ``ip`` is refused, or None when it is a public unicast address."""
    addr = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.scope_id:
            return "scoped IPv6 address"
        inner = _embedded_ipv4(addr)
        if inner is not None:
            reason = blocked_reason(inner)
            return f"IPv6 wrapper of {reason} address" if reason else None
    # Order matters only for the message: most specific first.
    checks: tuple[tuple[bool, str], ...] = (
        (addr.is_unspecified, "unspecified"),
        (addr.is_loopback, "loopback"),
        (addr.is_link_local, "link-local (incl. cloud metadata)"),
        (addr.is_multicast, "multicast"),
        (addr.is_private, "private"),
        (addr.is_reserved, "reserved"),
        (any(addr in net for net in _EXTRA_BLOCKED), "special-purpose"),
        (not addr.is_global, "non-global"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


@dataclass(frozen=True, slots=True)
class _AllowList:
    hosts: frozenset[str]
    networks: tuple[IPNetwork, ...]

    @classmethod
    def parse(cls, entries: Iterable[str]) -> _AllowList:
        hosts: set[str] = set()
        nets: list[IPNetwork] = []
        for raw in entries:
            entry = raw.strip().lower().rstrip(".")
            if not entry:
                continue
            try:
                nets.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry)
        return cls(frozenset(hosts), tuple(nets))

    def host_allowed(self, host: str) -> bool:
        return host.lower().rstrip(".") in self.hosts

    def address_allowed(self, addr: IPAddress) -> bool:
        return any(addr.version == net.version and addr in net for net in self.networks)


def _default_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolve_checked(host: str, port: int, allow: _AllowList, resolver: Resolver) -> list[str]:
    """Resolve ``host`` and return its addresses, refusing if ANY answer is blocked.

    Refusing a mixed answer (one public, one private address) rather than filtering it keeps an
    attacker from steering connection attempts through the private half.
    """
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        answers = [str(literal)]
    else:
        try:
            answers = resolver(host, port)
        except socket.gaierror as exc:
            if exc.errno in (socket.EAI_AGAIN, getattr(socket, "EAI_SYSTEM", None)):
                raise FetchTransient(f"DNS lookup for {host!r} failed temporarily") from exc
            raise FetchRefused(f"host {host!r} does not resolve") from exc
        except OSError as exc:
            raise FetchTransient(f"DNS lookup for {host!r} failed") from exc
    if not answers:
        raise FetchRefused(f"host {host!r} has no addresses")
    host_ok = allow.host_allowed(host)
    checked: list[str] = []
    for answer in answers:
        try:
            addr = ipaddress.ip_address(answer)
        except ValueError as exc:
            raise FetchRefused(f"resolver returned a non-address for {host!r}") from exc
        if not (host_ok or allow.address_allowed(addr)):
            reason = blocked_reason(addr)
            if reason is not None:
                raise FetchRefused(f"{host!r} resolves to a {reason} address")
        checked.append(str(addr))
    return list(dict.fromkeys(checked))


# --------------------------------------------------------------------------- network backend


class _Deadline:
    """Clamp every socket timeout to the time left, so the total fetch time is bounded."""

    def __init__(self, seconds: float) -> None:
        self.expires = time.monotonic() + seconds

    def clamp(self, timeout: float | None, exc: type[Exception]) -> float:
        left = self.expires - time.monotonic()
        if left <= 0:
            raise exc("overall fetch deadline exceeded")
        return left if timeout is None else min(timeout, left)

    def describe(self, what: str) -> str:
        """Name the cause of a socket timeout: the per-operation limit or the overall deadline."""
        return "overall fetch deadline exceeded" if time.monotonic() >= self.expires else f"{what} timed out"


class _SocketStream(httpcore.NetworkStream):
    """A blocking socket for httpcore whose every timeout is clamped to the fetch deadline."""

    def __init__(self, sock: socket.socket, deadline: _Deadline) -> None:
        self._sock = sock
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            self._sock.settimeout(self._deadline.clamp(timeout, httpcore.ReadTimeout))
            return self._sock.recv(max_bytes)
        except TimeoutError as exc:
            raise httpcore.ReadTimeout(self._deadline.describe("read")) from exc
        except OSError as exc:
            raise httpcore.ReadError(str(exc)) from exc

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        try:
            while buffer:
                self._sock.settimeout(self._deadline.clamp(timeout, httpcore.WriteTimeout))
                sent = self._sock.send(buffer)
                buffer = buffer[sent:]
        except TimeoutError as exc:
            raise httpcore.WriteTimeout(self._deadline.describe("write")) from exc
        except OSError as exc:
            raise httpcore.WriteError(str(exc)) from exc

    def close(self) -> None:
        self._sock.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's hostname (httpcore passes origin.host), never the pinned IP:
        # SNI and certificate checks stay about the name the client asked for.
        try:
            self._sock.settimeout(self._deadline.clamp(timeout, httpcore.ConnectTimeout))
            tls = ssl_context.wrap_socket(self._sock, server_hostname=server_hostname)
        except TimeoutError as exc:
            self._sock.close()
            raise httpcore.ConnectTimeout(self._deadline.describe("TLS handshake")) from exc
        except OSError as exc:
            self._sock.close()
            raise httpcore.ConnectError(str(exc)) from exc
        return _SocketStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        if info == "ssl_object" and isinstance(self._sock, ssl.SSLSocket):
            return self._sock._sslobj  # type: ignore[attr-defined]
        if info == "client_addr":
            return self._sock.getsockname()
        if info == "server_addr":
            return self._sock.getpeername()
        if info == "socket":
            return self._sock
        if info == "is_readable":
            # An idle keep-alive socket that is readable was closed (or spoke out of turn) by the peer.
            if self._sock.fileno() < 0:
                return True
            readable, _, _ = select.select([self._sock], [], [], 0)
            return bool(readable)
        return None


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects only to addresses that passed :func:`_resolve_checked` for this fetch.

    ``fetch_image`` pins each hop's host before sending the request; ``connect_tcp`` then connects
    to the pinned addresses instead of letting the socket layer resolve the name a second time.
    A host without a pin is resolved and checked here, so no code path connects unchecked.
    """

    def __init__(self, allow: _AllowList, resolver: Resolver, deadline: _Deadline) -> None:
        self._allow = allow
        self._resolver = resolver
        self._deadline = deadline
        self._pins: dict[tuple[str, int], list[str]] = {}

    def pin(self, host: str, port: int) -> None:
        self._pins[(host, port)] = _resolve_checked(host, port, self._allow, self._resolver)

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self._pins.get((host, port))
        if addresses is None:
            addresses = _resolve_checked(host, port, self._allow, self._resolver)
        source = None if local_address is None else (local_address, 0)
        last_exc: Exception | None = None
        for ip in addresses:
            try:
                # Looked up at call time (not imported) so tests can watch every connect.
                sock = socket.create_connection(
                    (ip, port), self._deadline.clamp(timeout, httpcore.ConnectTimeout), source
                )
            except TimeoutError:
                last_exc = httpcore.ConnectTimeout(self._deadline.describe("connect"))
            except OSError as exc:
                last_exc = httpcore.ConnectError(str(exc))
            else:
                for option in socket_options or ():
                    sock.setsockopt(*option)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                return _SocketStream(sock, self._deadline)
        assert last_exc is not None  # addresses is never empty
        raise last_exc

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        raise FetchRefused("unix sockets are not fetched")


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Built once: loading the CA bundle costs milliseconds; the context is safe to share.
    return httpx.create_ssl_context()


# --------------------------------------------------------------------------- fetch


def _parse_url(url: str | httpx.URL) -> httpx.URL:
    try:
        parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchRefused("malformed URL") from exc
    if parsed.scheme not in ("http", "https"):
        raise FetchRefused(f"scheme {parsed.scheme!r} is not allowed")
    if not parsed.host:
        raise FetchRefused("URL has no host")
    return parsed


def _status_error(status: int) -> FetchError:
    if status in _TRANSIENT_CODES or status >= 500:
        return FetchTransient(f"HTTP {status}")
    return FetchRefused(f"HTTP {status}")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return value.decode("latin-1").strip()
    return None


def _read_body(response: httpcore.Response, max_bytes: int) -> bytes:
    length = _header(response.headers, b"content-length")
    if length is not None and length.isdigit() and int(length) > max_bytes:
        raise FetchRefused(f"image larger than {max_bytes} bytes (Content-Length {length})")
    encoding = (_header(response.headers, b"content-encoding") or "identity").lower()
    if encoding not in ("identity", ""):
        # We ask for identity; decompressing would let a tiny body expand past the byte cap.
        raise FetchRefused(f"unexpected Content-Encoding {encoding!r}")
    body = bytearray()
    for chunk in response.iter_stream():
        body += chunk
        if len(body) > max_bytes:
            raise FetchRefused(f"image larger than {max_bytes} bytes")
    return bytes(body)


def _map_transport_error(exc: Exception) -> FetchError:
    if isinstance(exc, httpcore.TimeoutException):
        return FetchTransient(str(exc) or "timed out")
    cause = exc.__cause__ or exc.__context__
    if isinstance(cause, ssl.SSLCertVerificationError):
        return FetchRefused("TLS certificate verification failed")  # retrying will not fix a bad cert
    return FetchTransient(f"{type(exc).__name__}: {exc}")


def fetch_image(
    url: str,
    *,
    max_bytes: int,
    timeout: float,
    max_redirects: int,
    allow: Sequence[str] = (),
    resolver: Callable[[str, int], list[str]] | None = None,
) -> FetchedImage:
    """Download ``url`` under the SSRF policy described in the module docstring.

    ``timeout`` bounds connect, each read and each write; the whole call (every hop) is bounded by
    ``DEADLINE_FACTOR * timeout`` plus DNS time. ``allow`` lists hostnames, IPs or CIDRs exempt from
    the address policy. ``resolver(host, port) -> [ip, ...]`` replaces ``socket.getaddrinfo``.
    Raises :class:`FetchRefused` or :class:`FetchTransient`.
    """
    deadline = _Deadline(DEADLINE_FACTOR * timeout)
    backend = _PinnedBackend(_AllowList.parse(allow), resolver or _default_resolver, deadline)
    timeouts = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    current = _parse_url(url)
    with httpcore.ConnectionPool(
        ssl_context=_ssl_context(), network_backend=backend, max_connections=2, retries=0
    ) as pool:
        for hop in range(max_redirects + 1):
            host = current.raw_host.decode("ascii")
            port = current.port or (443 if current.scheme == "https" else 80)
            backend.pin(host, port)  # raises FetchRefused before any connection is attempted
            request_url = httpcore.URL(
                scheme=current.raw_scheme, host=current.raw_host, port=port, target=current.raw_path
            )
            headers = [
                (b"Host", current.netloc),  # netloc brackets IPv6 literals, httpcore does not
                (b"User-Agent", _USER_AGENT.encode()),
                (b"Accept", _ACCEPT.encode()),
                (b"Accept-Encoding", b"identity"),
            ]
            try:
                with pool.stream("GET", request_url, headers=headers, extensions={"timeout": timeouts}) as response:
                    status = response.status
                    if status in _REDIRECT_CODES:
                        location = _header(response.headers, b"location")
                        if not location:
                            raise FetchRefused(f"HTTP {status} without Location")
                        if hop >= max_redirects:
                            raise FetchRefused(f"more than {max_redirects} redirects")
                        try:
                            nxt = current.join(location)
                        except (httpx.InvalidURL, ValueError) as exc:
                            raise FetchRefused("malformed redirect Location") from exc
                        current = _parse_url(nxt)
                        continue
                    if not 200 <= status < 300:
                        raise _status_error(status)
                    data = _read_body(response, max_bytes)
                    return FetchedImage(
                        url_final=str(current),
                        data=data,
                        content_type_header=_header(response.headers, b"content-type"),
                    )
            except (httpcore.TimeoutException, httpcore.NetworkError, httpcore.ProtocolError) as exc:
                raise _map_transport_error(exc) from exc
            except httpcore.UnsupportedProtocol as exc:
                raise FetchRefused("unsupported protocol") from exc
    raise FetchRefused(f"more than {max_redirects} redirects")  # only reached when max_redirects < 0


def fetch_with_settings(url: str, settings: Settings) -> FetchedImage:
    """:func:`fetch_image` with the limits from :class:`shared.config.Settings`."""
    return fetch_image(
        url,
        max_bytes=settings.fetch_max_bytes,
        timeout=settings.fetch_timeout_seconds,
        max_redirects=settings.fetch_max_redirects,
        allow=settings.fetch_allow_list,
    )
