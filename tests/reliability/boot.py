"""``python -m tests.reliability.boot MODULE``: run MODULE as ``__main__`` with the network fenced to loopback.

Every process the reliability suite starts goes through here, so that no bug, fuzzed URL or redirect can
make it talk to anything but this machine:

* ``socket.getaddrinfo`` answers only loopback literals and ``localhost``, plus the names of a fake DNS
  table (``RELIABILITY_FAKE_DNS``, JSON ``{"name": "ip", ...}``): a real DNS query would itself leave
  the machine. Unknown names fail as "does not resolve".
* ``socket.socket.connect`` / ``connect_ex`` refuse (and log) any address outside 127.0.0.0/8 and ::1.
  The fake DNS table may name private addresses (10.0.0.5, 169.254.169.254): the worker must refuse
  them at its resolution step, and this fence is what would catch it if it did not (the attempt is
  counted in the log as ``FENCE BLOCKED``, which the tests look for).
"""

from __future__ import annotations

import ipaddress
import json
import os
import runpy
import socket
import sys

FENCE_MARK = "FENCE BLOCKED"  # a connection attempt to a non-loopback address (must never happen)
DNS_MARK = "FENCE DNS"  # a lookup of a name outside the fake table (would have left the machine)
_real_getaddrinfo = socket.getaddrinfo
_fake_dns: dict[str, str] = json.loads(os.environ.get("RELIABILITY_FAKE_DNS") or "{}")


def _loopback(host: object) -> bool:
    if not isinstance(host, str):
        return False
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _fenced_getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
    name = host.decode() if isinstance(host, bytes) else host
    if name is None or _loopback(name):
        return _real_getaddrinfo(host, port, *args, **kwargs)
    if isinstance(name, str) and name.lower().rstrip(".") == "localhost":
        return _real_getaddrinfo("127.0.0.1", port, *args, **kwargs)
    if isinstance(name, str) and name.lower().rstrip(".") in _fake_dns:
        ip = _fake_dns[name.lower().rstrip(".")]
        family = socket.AF_INET6 if ":" in ip else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (ip, int(port or 0)))]
    try:
        ipaddress.ip_address(name)
        literal = True
    except ValueError:
        literal = False
    if literal:  # a non-loopback literal: resolving it is local, connecting is what the fence stops
        return _real_getaddrinfo(host, port, *args, **kwargs)
    print(f"{DNS_MARK}: lookup of {name!r} refused", file=sys.stderr, flush=True)
    raise socket.gaierror(socket.EAI_NONAME, f"reliability fence: {name!r} is not resolved here")


_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _check(sock: socket.socket, address: object) -> None:
    if sock.family == socket.AF_UNIX:
        return
    host = address[0] if isinstance(address, tuple) else address
    if not _loopback(host):
        print(f"{FENCE_MARK}: connect to {address!r} refused", file=sys.stderr, flush=True)
        raise ConnectionRefusedError(f"reliability fence: {address!r} is not loopback")


def _fenced_connect(self: socket.socket, address: object) -> None:
    _check(self, address)
    _real_connect(self, address)


def _fenced_connect_ex(self: socket.socket, address: object) -> int:
    _check(self, address)
    return _real_connect_ex(self, address)


def _fenced_gethostbyname(host: str) -> str:
    return str(_fenced_getaddrinfo(host, 0, socket.AF_INET)[0][4][0])


def install() -> None:
    socket.getaddrinfo = _fenced_getaddrinfo  # type: ignore[assignment]
    socket.gethostbyname = _fenced_gethostbyname  # type: ignore[assignment]
    socket.socket.connect = _fenced_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _fenced_connect_ex  # type: ignore[method-assign]


if __name__ == "__main__":
    install()
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)
