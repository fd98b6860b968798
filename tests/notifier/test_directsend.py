"""Event frames written straight to the transport (notifier/directsend.py): the encoding is a
valid server text frame at every length boundary, and in a real notifier process frames written
directly and frames queued behind a full socket buffer arrive complete and in order."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson
import pytest
import uvicorn
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader
from websockets.sync.client import connect

from devtools.redis_server import free_port
from notifier.directsend import DirectSendProtocol, frame_writer, text_frame
from tests.harness import start_notifier
from tests.notifier.test_resume import publish


def parse_server_frame(data: bytes) -> Frame:
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    parser = Frame.parse(reader.read_exact, mask=False)
    try:
        next(parser)
    except StopIteration as done:
        assert reader.at_eof() is not False  # nothing left over
        return done.value
    raise AssertionError("incomplete frame")


@pytest.mark.parametrize("length", [0, 1, 125, 126, 127, 65_535, 65_536, 200_000])
def test_text_frame_is_one_final_unmasked_text_frame(length: int) -> None:
    payload = ("é" * length).encode()[:length]
    frame = parse_server_frame(text_frame(payload))
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, payload)


def test_uvicorn_with_direct_send_offers_the_writer_and_its_frames_arrive() -> None:
    # Guards the reach into uvicorn's protocol: if a uvicorn upgrade drops what write_frame reads,
    # the notifier silently falls back to ASGI sends; this test says so instead.
    seen: dict[str, object] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "websocket":
            return
        await receive()
        write = frame_writer(scope)
        seen["before_accept"] = write is not None and write(text_frame(b"too early"))
        await send({"type": "websocket.accept"})
        seen["written"] = write is not None and write(text_frame(b'{"direct":1}'))
        await send({"type": "websocket.send", "text": '{"asgi":2}'})
        await receive()

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, ws=DirectSendProtocol, lifespan="off",
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        with connect(f"ws://127.0.0.1:{port}/ws/x") as ws:
            assert [ws.recv(timeout=5), ws.recv(timeout=5)] == ['{"direct":1}', '{"asgi":2}']
        assert seen == {"before_accept": False, "written": True}
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_direct_and_queued_frames_arrive_in_order(redis_url: str, tmp_path: Path) -> None:
    # A client that stops reading: the kernel buffers and the transport fill, the transport pauses,
    # later frames wait in the connection's queue. Then it reads while more events arrive, so new
    # frames meet a writable transport with older ones still queued. All must arrive once, in order.
    notifier = start_notifier(redis_url, tmp_path, name="notifier-direct", WS_SEND_QUEUE="1000")
    try:
        user = f"direct-{uuid.uuid4().hex[:8]}"
        with connect(f"ws://127.0.0.1:{notifier.port}/ws/{user}", max_queue=2, max_size=None) as ws:
            assert orjson.loads(ws.recv(timeout=10))["type"] == "connected"
            published = publish(redis_url, user, 60, size=200_000)  # 12 MB, beyond the kernel buffers
            with ThreadPoolExecutor(1) as pool:
                more = pool.submit(publish, redis_url, user, 200, size=2_000)
                got = [orjson.loads(ws.recv(timeout=20)) for _ in published]
                published += more.result(timeout=60)
            got += [orjson.loads(ws.recv(timeout=20)) for _ in range(len(published) - len(got))]
        assert [m["offset"] for m in got] == [offset for _, offset in published]
        log = notifier.log_path.read_text(errors="replace")
        assert "slow socket" not in log and "unexpected error" not in log, log[-3000:]
    finally:
        notifier.stop()
