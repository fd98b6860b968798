"""The notifier benchmarks' clients: processes holding thousands of WebSocket client sockets each,
driven over a pipe by the benchmark (connect, count, stats, close, reconnect storm).

They share the machine's cores with the notifier they measure, so a client socket is as little as
a client can be while still doing what a real one does: an ``asyncio.Protocol`` that performs the
opening handshake (and checks ``Sec-WebSocket-Accept``), parses every server frame as it arrives
(text, close, ping; fragments reassembled), decodes every text frame's JSON, answers the
notifier's heartbeat ``ping`` with ``pong``, and measures an event from the publisher's timestamp
(``data.sent``) to the moment its frame is parsed. No task, queue or future per message (the
websockets library's client cost about as much CPU per event as the notifier itself); on uvloop,
with cyclic GC off.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import multiprocessing as mp
import os
import resource
import sys
import time
from multiprocessing.connection import Connection as Pipe
from typing import Any
from urllib.parse import urlparse

import orjson

CLIENT_PROCESSES = 2
PHASE_DEADLINE_SECONDS = 120
OPEN_TIMEOUT_SECONDS = 30
CLOSE_TIMEOUT_SECONDS = 5
ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OP_CONTINUATION, OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 8, 9, 10
USER_AGENT = f"Python/{sys.version_info[0]}.{sys.version_info[1]} diymod-bench-client"


class HandshakeFailed(ConnectionError):
    pass


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def no_gc_pauses() -> None:
    """Load generators only: no cyclic garbage collection. A full collection in a process holding
    thousands of sockets stalls it for tens of milliseconds, which would show up as the server's
    latency; these processes are short-lived and reference counting frees what they drop."""
    gc.collect()
    gc.freeze()
    gc.disable()


def fast_runner() -> asyncio.Runner:
    """The load generators run on uvloop when it is installed, whatever the notifier runs on, so
    that they take as little of the shared CPU as they can."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A client frame: always masked (RFC 6455 §5.3)."""
    mask = os.urandom(4)
    length = len(payload)
    if length < 126:
        head = bytes((0x80 | opcode, 0x80 | length))
    elif length < 1 << 16:
        head = bytes((0x80 | opcode, 0x80 | 126)) + length.to_bytes(2, "big")
    else:
        head = bytes((0x80 | opcode, 0x80 | 127)) + length.to_bytes(8, "big")
    masked = (int.from_bytes(payload, "big") ^ int.from_bytes((mask * (length // 4 + 1))[:length], "big"))
    return head + mask + masked.to_bytes(length, "big")


class ClientSocket(asyncio.Protocol):
    """One client socket. ``opened`` resolves at the first frame (the notifier's ``connected``:
    the socket is attached from then on), ``closed`` when the connection is gone."""

    __slots__ = ("buffer", "close_code", "close_reason", "close_sent", "closed", "expect_accept", "fragments",
                 "on_text", "opened", "request", "transport", "upgraded", "user")

    def __init__(self, user: str, request: bytes, expect_accept: bytes, on_text: Any) -> None:
        loop = asyncio.get_running_loop()
        self.user = user
        self.request = request
        self.expect_accept = expect_accept
        self.on_text = on_text
        self.opened: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self.upgraded = False
        self.buffer = b""
        self.fragments: list[bytes] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self.close_sent = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before attaching ({self.close_code})"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data if self.buffer else data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buffer = buf
                return
            self._check_handshake(buf[:end])
            if not self.upgraded:
                return
            buf = buf[end + 4:]
        i, n = 0, len(buf)
        while n - i >= 2:
            second = buf[i + 1]
            length, head = second & 0x7F, 2
            if length == 126:
                if n - i < 4:
                    break
                length, head = int.from_bytes(buf[i + 2:i + 4], "big"), 4
            elif length == 127:
                if n - i < 10:
                    break
                length, head = int.from_bytes(buf[i + 2:i + 10], "big"), 10
            end = i + head + length
            if end > n:
                break
            if second & 0x80:
                self._fail("the server masked a frame")
                return
            self._frame(buf[i], buf[i + head:end])
            i = end
        self.buffer = buf[i:] if i < n else b""

    def _check_handshake(self, head: bytes) -> None:
        lines = head.split(b"\r\n")
        status = lines[0].split(b" ", 2)
        accept = next((line.split(b":", 1)[1].strip() for line in lines[1:]
                       if line.lower().startswith(b"sec-websocket-accept:")), None)
        if len(status) < 2 or status[1] != b"101" or accept != self.expect_accept:
            self._fail(f"handshake refused: {lines[0][:80]!r}")
            return
        self.upgraded = True

    def _frame(self, first: int, payload: bytes) -> None:
        opcode = first & 0x0F
        if opcode == OP_TEXT or opcode == OP_CONTINUATION:
            if not first & 0x80:  # not the last fragment
                self.fragments.append(payload)
                return
            if self.fragments:
                payload = b"".join([*self.fragments, payload])
                self.fragments = []
            self.on_text(self, payload)
            if not self.opened.done():
                self.opened.set_result(None)
        elif opcode == OP_PING:
            self.send(OP_PONG, payload)
        elif opcode == OP_CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.close_reason = payload[2:].decode(errors="replace")
            if not self.close_sent:
                self.send(OP_CLOSE, payload[:2])
                self.close_sent = True
            if self.transport is not None:
                self.transport.close()

    def _fail(self, why: str) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(why))
        if self.transport is not None:
            self.transport.abort()

    def send(self, opcode: int, payload: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(client_frame(opcode, payload))

    async def close(self) -> None:
        if not self.close_sent:
            self.close_sent = True
            self.send(OP_CLOSE, (1000).to_bytes(2, "big"))
        try:
            await asyncio.wait_for(asyncio.shield(self.closed), CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            if self.transport is not None:
                self.transport.abort()


def client_main(pipe: Pipe, ws_base: str, users: list[str], source_ip: str) -> None:
    raise_nofile()
    no_gc_pauses()
    with fast_runner() as runner:
        runner.run(ClientSet(pipe, ws_base, users, source_ip).run())


class ClientSet:
    def __init__(self, pipe: Pipe, ws_base: str, users: list[str], source_ip: str) -> None:
        url = urlparse(ws_base)
        self.host = url.hostname or "127.0.0.1"
        self.port = url.port or 80
        self.path = url.path.rstrip("/")
        self.pipe = pipe
        self.users = users
        self.source_ip = source_ip
        self.conns: dict[str, ClientSocket] = {}
        self.positions: dict[str, tuple[str, int]] = {}
        self.latencies: list[float] = []
        self.received: dict[str, int] = {}

    def on_text(self, sock: ClientSocket, payload: bytes) -> None:
        msg = orjson.loads(payload)
        kind = msg.get("type")
        if kind == "image_processed":
            self.latencies.append(time.time() - msg["data"]["sent"])
            user = sock.user
            self.positions[user] = (msg["epoch"], msg["offset"])
            self.received[user] = self.received.get(user, 0) + 1
        elif kind == "ping":
            sock.send(OP_TEXT, b'{"type":"pong"}')

    async def open_socket(self, user: str, query: str) -> ClientSocket:
        key = base64.b64encode(os.urandom(16))
        accept = base64.b64encode(hashlib.sha1(key + ACCEPT_GUID).digest())
        # The headers the websockets library's client sends (the notifier keeps them per socket in
        # the ASGI scope, so its memory per socket stays comparable); the deflate offer is refused.
        request = (f"GET {self.path}/{user}{query} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key.decode()}\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"
                   f"User-Agent: {USER_AGENT}\r\n\r\n").encode()
        loop = asyncio.get_running_loop()
        _, sock = await asyncio.wait_for(
            loop.create_connection(lambda: ClientSocket(user, request, accept, self.on_text), self.host, self.port,
                                   local_addr=(self.source_ip, 0)), OPEN_TIMEOUT_SECONDS)
        try:
            # Attached once "connected" arrives: an event published before that is behind the
            # socket's starting position and rightly not sent to it.
            await asyncio.wait_for(asyncio.shield(sock.opened), OPEN_TIMEOUT_SECONDS)
        except BaseException:
            if sock.transport is not None:
                sock.transport.abort()
            raise
        return sock

    async def connect(self, users: list[str], resume: bool) -> float:
        started = time.perf_counter()
        sem = asyncio.Semaphore(200)

        async def one(user: str) -> None:
            query = ""
            if resume and user in self.positions:
                epoch, offset = self.positions[user]
                query = f"?epoch={epoch}&offset={offset}"
            async with sem:
                for attempt in range(20):
                    try:
                        self.conns[user] = await self.open_socket(user, query)
                        return
                    except (OSError, TimeoutError):  # ConnectionError and HandshakeFailed included
                        await asyncio.sleep(0.05 * (attempt + 1))

        await asyncio.gather(*(one(u) for u in users))
        return time.perf_counter() - started

    async def close(self, users: list[str]) -> None:
        await asyncio.gather(*(self.conns.pop(u).close() for u in users if u in self.conns),
                             return_exceptions=True)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            cmd, arg = await loop.run_in_executor(None, self.pipe.recv)
            if cmd == "connect":
                took = await self.connect(self.users[:arg], resume=False)
                self.pipe.send((len(self.conns), took))
            elif cmd == "close_to":
                await self.close(self.users[arg:])
                closed = [c for c in self.conns.values() if c.close_code is not None]
                codes: dict[Any, int] = {}
                for c in closed:
                    codes[(c.close_code, c.close_reason)] = codes.get((c.close_code, c.close_reason), 0) + 1
                if os.environ.get("BENCH_KEEP_LOG"):
                    print("client", self.source_ip, "open", len(self.conns) - len(closed), "closed", codes, flush=True)
                self.pipe.send(len(self.conns))
            elif cmd == "reset_stats":
                self.latencies, self.received = [], {}
                self.pipe.send(True)
            elif cmd == "stats":
                self.pipe.send((self.latencies, sum(self.received.values())))
            elif cmd == "count":  # cheap to poll while a measurement drains
                self.pipe.send(len(self.latencies))
            elif cmd == "disconnect_all":
                await self.close(list(self.conns))
                self.pipe.send(True)
            elif cmd == "storm":
                # Reconnect everyone with resume; done when each user got its missed event(s).
                self.received = {}
                started = time.perf_counter()
                await self.connect(self.users[:arg], resume=True)
                deadline = time.monotonic() + PHASE_DEADLINE_SECONDS
                while time.monotonic() < deadline:  # polling a counter, bounded
                    if sum(1 for u in self.users[:arg] if self.received.get(u)) >= arg:
                        break
                    await asyncio.sleep(0.05)
                caught_up = sum(1 for u in self.users[:arg] if self.received.get(u))
                self.pipe.send((len(self.conns), caught_up, time.perf_counter() - started))
            elif cmd == "exit":
                await self.close(list(self.conns))
                self.pipe.send(True)
                return


def start_clients(ws_base: str, per_client: int, prefix: str) -> tuple[list[Pipe], list[mp.Process]]:
    """CLIENT_PROCESSES client processes, each for users ``{prefix}-{c}-{i}`` from its own source
    address (127.0.0.2, .3, ...: more ports than one address has)."""
    ctx = mp.get_context("spawn")
    pipes, procs = [], []
    for c in range(CLIENT_PROCESSES):
        parent, child = ctx.Pipe()
        users = [f"{prefix}-{c}-{i}" for i in range(per_client)]
        p = ctx.Process(target=client_main, args=(child, ws_base, users, f"127.0.0.{c + 2}"), daemon=True)
        p.start()
        pipes.append(parent)
        procs.append(p)
    return pipes, procs


def stop_clients(procs: list[mp.Process]) -> None:
    """Wait for the clients (asked to exit) a little, then kill the ones still there."""
    for p in procs:
        p.join(timeout=10)
        if p.is_alive():
            p.kill()
            p.join()


def ask(pipes: list[Pipe], cmd: str, arg: Any = None) -> list[Any]:
    for p in pipes:
        p.send((cmd, arg))
    return [p.recv() for p in pipes]
