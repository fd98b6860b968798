"""Where a socket stands in its user's event log: duplicates, gaps, and offsets reused after a failover."""

from __future__ import annotations

import asyncio

from notifier.connection import Connection


class Frames:
    """Collects what the connection sends (the position logic is under test, not the socket)."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, data: str) -> None:
        self.sent.append(data)


async def settle() -> None:
    for _ in range(3):
        await asyncio.sleep(0)


async def test_duplicate_offsets_are_dropped_and_a_gap_is_held_for_repair() -> None:
    conn = Connection(Frames(), "u", queue_size=10)  # type: ignore[arg-type]
    conn.epoch, conn.offset = "e", 2
    assert conn.deliver("e", 3, "three", t=3000) is True
    assert conn.deliver("e", 3, "three", t=3000) is False  # the same event again
    assert conn.deliver("e", 5, "five", t=5000) is False  # 4 is missing
    assert conn.needs_repair and conn.replaying
    conn.deliver("e", 4, "four", t=4000)  # the repair path hands 4 in while replaying
    assert conn.finish_replay() == 2
    await settle()
    assert conn.websocket.sent == ["three", "four", "five"]  # type: ignore[attr-defined]


async def test_first_event_of_a_new_log_past_offset_one_is_a_gap() -> None:
    conn = Connection(Frames(), "u", queue_size=10)  # type: ignore[arg-type]
    assert conn.epoch is None
    assert conn.deliver("e", 3, "three", t=3000) is False
    assert conn.needs_repair


async def test_an_old_offset_with_a_newer_publish_time_is_a_reused_offset() -> None:
    # A failover lost entries 9 and 10 that this socket had; the new primary numbers on from 8.
    conn = Connection(Frames(), "u", queue_size=10)  # type: ignore[arg-type]
    conn.epoch, conn.offset, conn.last_t = "e", 10, 10_000
    assert conn.deliver("e", 9, "new nine", t=12_000) is True
    assert (conn.offset, conn.last_t) == (9, 12_000)
    assert conn.deliver("e", 9, "new nine", t=12_000) is False  # and its duplicate is still dropped
    await settle()
    assert conn.websocket.sent == ["new nine"]  # type: ignore[attr-defined]
