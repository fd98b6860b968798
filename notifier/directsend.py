"""Sending an event frame straight to a socket's transport, without a task or an ASGI message.

Through ASGI, every frame to every socket took a writer task, Starlette's and uvicorn's send
coroutines, a websockets ``Frame`` and a join: about as much CPU as the system call that writes it
(py-spy at 10,000 events/s to 10,000 sockets). A server text frame is two to ten bytes of header in
front of the UTF-8 payload, the same for every socket of a user, so the hub encodes it once per
event (``text_frame``) and a connection writes it itself when it can do so at once.

``DirectSendProtocol`` is uvicorn's sans-I/O websockets protocol (``WS_IMPLEMENTATION=
websockets-sansio``, the default) plus ``write_frame``, which it puts in the ASGI scope's
extensions under ``DIRECT_SEND``. It writes only while the socket is open, its close not begun and
the transport's buffer below its high-water mark; otherwise it returns False and the connection
queues the frame for its writer task, which sends through ASGI and waits for the buffer to drain,
so a slow client is still bounded by ``WS_SEND_QUEUE``. Other protocols (and Starlette's
TestClient) have no such extension, and every frame goes through ASGI as before.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

DIRECT_SEND = "diymod.direct_send"

FrameWriter = Callable[[bytes], bool]


def text_frame(payload: bytes) -> bytes:
    """One unfragmented, unmasked text frame (RFC 6455 §5.2), as a server sends it."""
    length = len(payload)
    if length < 126:
        return bytes((0x81, length)) + payload
    if length < 1 << 16:
        return b"\x81\x7e" + length.to_bytes(2, "big") + payload
    return b"\x81\x7f" + length.to_bytes(8, "big") + payload


# The parts of uvicorn's protocol that write_frame reads; a uvicorn without them gets no extension
# (every frame then goes through ASGI) rather than an error per event.
_STATE = ("close_sent", "disconnected", "handshake_complete", "writable", "initial_response", "conn", "transport")


class DirectSendProtocol(WebSocketsSansIOProtocol):
    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        # The ASGI task was created but has not run yet; it sees the extension.
        scope = getattr(self, "scope", None)
        if scope is not None and all(hasattr(self, name) for name in _STATE):
            scope["extensions"][DIRECT_SEND] = self.write_frame

    def write_frame(self, frame: bytes) -> bool:
        """Write an encoded server frame now; False when it cannot be written at once."""
        if (self.close_sent or self.disconnected or not self.handshake_complete or not self.writable.is_set()
                or self.initial_response is not None or self.conn.state is not State.OPEN):
            return False
        self.transport.write(frame)
        return True


def frame_writer(scope: dict[str, Any]) -> FrameWriter | None:
    return scope.get("extensions", {}).get(DIRECT_SEND)
