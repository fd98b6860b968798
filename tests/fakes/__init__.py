"""Local stand-ins for the cloud APIs, speaking their real wire protocols on 127.0.0.1.

``FakeServer`` is the generic part: a threaded HTTP server with a route table (method + path regex ->
handler), a record of every request, and scripted answers. ``openai_server.FakeOpenAI`` and
``gemini_server.FakeGemini`` add each API's endpoints; further endpoints (image generation, vision, ...)
are one ``add_route`` call, either in those classes or from a test::

    with FakeOpenAI() as server:
        server.add_route("POST", r"/v1/images/generations", lambda req: Reply(json={"data": []}))

This module imports neither fake, so the fakes can import it without a cycle.
"""

from __future__ import annotations

import collections
import functools
import http.server
import re
import socket
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

import orjson


@dataclass
class Request:
    """One request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # names lower-cased
    body: bytes
    json: Any  # the parsed body, or None when it is not JSON
    params: dict[str, str] = field(default_factory=dict)  # named groups of the matched route pattern


@dataclass
class Reply:
    """What to send back. ``json`` wins over ``body``; ``delay`` sleeps first (a slow or hanging server)."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"

    def payload(self) -> bytes:
        if self.json is not None:
            return orjson.dumps(self.json)
        return self.body or b""


Handler = Callable[[Request], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler


class Script:
    """Answers for one endpoint: queued answers first, one per request, then ``responder``.

    What an "answer" is (a reply body, a model text, a ``Reply``) is up to the fake that owns the script.
    """

    def __init__(self, responder: Callable[[Request], Any]) -> None:
        self.responder = responder
        self._queue: collections.deque[Any] = collections.deque()
        self._lock = threading.Lock()

    def push(self, *answers: Any) -> None:
        with self._lock:
            self._queue.extend(answers)

    def next(self, request: Request) -> Any:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
        return self.responder(request)


class FakeServer:
    """Threaded HTTP server on 127.0.0.1 (free port) with a route table; a context manager.

    Every request is recorded before it is answered, so a test can inspect requests even when the client
    gave up on them. ``max_in_flight`` is the highest number of requests handled at the same time.
    """

    def __init__(self) -> None:
        self._routes: list[Route] = []
        self._requests: list[Request] = []
        self._lock = threading.Lock()
        self._in_flight = 0
        self.max_in_flight = 0
        self._stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._server: http.server.ThreadingHTTPServer | None = None
        self.port = 0

    # --- routes and records ---

    def add_route(self, method: str, pattern: str, handler: Handler) -> None:
        """Route ``method`` requests whose whole path matches ``pattern``; later routes take precedence."""
        self._routes.insert(0, Route(method.upper(), re.compile(pattern), handler))

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[Request]:
        with self._lock:
            return list(self._requests)

    def requests_to(self, pattern: str) -> list[Request]:
        regex = re.compile(pattern)
        return [r for r in self.requests if regex.fullmatch(r.path)]

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()
            self.max_in_flight = 0

    # --- lifecycle ---

    def start(self) -> Self:
        self._stopping.clear()
        server_class = type("_Server", (http.server.ThreadingHTTPServer,), {"request_queue_size": 256})
        # A deep listen backlog: benchmarks open dozens of connections at once.
        self._server = server_class(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        # A short poll interval keeps stop() (and so every test's teardown) fast.
        serve = functools.partial(self._server.serve_forever, poll_interval=0.02)
        threading.Thread(target=serve, name=type(self).__name__, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers that are sleeping through a scripted delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        # Keep-alive connections would otherwise keep their handler threads (and sockets) around.
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- request handling ---

    def _dispatch(self, request: Request) -> Reply:
        for route in self._routes:
            if route.method != request.method:
                continue
            found = route.pattern.fullmatch(request.path)
            if found:
                request.params = found.groupdict()
                return route.handler(request)
        return Reply(status=404, json={"error": {"message": f"no route for {request.method} {request.path}"}})

    def _handle(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        split = urllib.parse.urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        try:
            parsed = orjson.loads(body) if body else None
        except orjson.JSONDecodeError:
            parsed = None
        request = Request(
            method=handler.command,
            path=split.path,
            query=urllib.parse.parse_qs(split.query),
            headers={k.lower(): v for k, v in handler.headers.items()},
            body=body,
            json=parsed,
        )
        with self._lock:
            self._requests.append(request)
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            try:
                reply = self._dispatch(request)
            except Exception as exc:  # a broken test responder should show up as a 500, not a hung client
                reply = Reply(status=500, json={"error": {"message": f"fake server handler failed: {exc!r}"}})
            if reply.delay and self._stopping.wait(reply.delay):
                return  # stopped while "hanging": just drop the connection
            payload = reply.payload()
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(payload)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(payload)
        except (TimeoutError, BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (e.g. its timeout fired): nothing to answer
        finally:
            with self._lock:
                self._in_flight -= 1

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        owner = self

        class _Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, like the real APIs; SDK clients pool connections

            def setup(self) -> None:
                super().setup()
                with owner._lock:
                    owner._connections.add(self.connection)

            def finish(self) -> None:
                with owner._lock:
                    owner._connections.discard(self.connection)
                try:
                    super().finish()
                except OSError:
                    pass

            def do_GET(self) -> None:
                owner._handle(self)

            def do_POST(self) -> None:
                owner._handle(self)

            def do_PUT(self) -> None:
                owner._handle(self)

            def do_DELETE(self) -> None:
                owner._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return _Handler


def error_reply(status: int, error: dict[str, Any], retry_after: float | None = None, delay: float = 0.0) -> Reply:
    """An error envelope ``{"error": {...}}`` (both APIs use one), optionally with ``Retry-After``."""
    headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
    return Reply(status=status, json={"error": error}, headers=headers, delay=delay)


def garbage(status: int = 200, body: bytes = b"<html>502 Bad Gateway... not JSON", delay: float = 0.0) -> Reply:
    """A body no SDK can parse (a proxy's error page, a truncated stream)."""
    return Reply(status=status, body=body, content_type="text/html", delay=delay)


@dataclass
class FormField:
    """One part of a multipart/form-data body."""

    value: bytes
    filename: str | None = None
    content_type: str | None = None


def multipart_fields(request: Request) -> dict[str, list[FormField]]:
    """The fields of a multipart/form-data request by name (repeated names keep every part)."""
    import email.parser
    import email.policy

    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise ValueError(f"not multipart/form-data: {content_type!r}")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.body)
    fields: dict[str, list[FormField]] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        fields.setdefault(name, []).append(
            FormField(
                value=payload if isinstance(payload, bytes) else b"",
                filename=part.get_filename(),
                content_type=part.get_content_type() if part.get("content-type") else None,
            )
        )
    return fields
