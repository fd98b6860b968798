"""Notifier at scale, in one run: idle sockets held and their memory, and a reconnect storm with
replay. (Latency under load: bench/notifier_sweep.py, which reuses the client processes here.)

Clients run in separate processes (so their CPU is not the notifier's); the notifier is a real
process whose RSS is read from /proc. Everything is on loopback; every phase is bounded in count
and time. The sandbox caps open files at 20,000 per process, so "20k sockets" is measured as the
largest round number under that cap.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing as mp
import os
import resource
import tempfile
import time
from multiprocessing.connection import Connection as Pipe
from pathlib import Path
from typing import Any

import orjson
import redis.asyncio as aioredis
import websockets

from devtools.redis_server import EmbeddedRedis
from shared import imagejobs
from tests.harness import start_notifier

CLIENT_PROCESSES = 2
PHASE_DEADLINE_SECONDS = 120


def raise_nofile() -> None:
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


# -- client processes ----------------------------------------------------------------------------

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


def client_main(pipe: Pipe, ws_base: str, users: list[str], source_ip: str) -> None:
    raise_nofile()
    no_gc_pauses()
    with fast_runner() as runner:
        runner.run(ClientSet(pipe, ws_base, users, source_ip).run())


class ClientSet:
    def __init__(self, pipe: Pipe, ws_base: str, users: list[str], source_ip: str) -> None:
        self.pipe = pipe
        self.ws_base = ws_base
        self.users = users
        self.source_ip = source_ip
        self.conns: dict[str, Any] = {}
        self.positions: dict[str, tuple[str, int]] = {}
        self.latencies: list[float] = []
        self.received: dict[str, int] = {}
        self.tasks: list[asyncio.Task[None]] = []

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
                        conn = await websockets.connect(f"{self.ws_base}/{user}{query}", max_queue=None,
                                                        ping_interval=None, open_timeout=30,
                                                        local_addr=(self.source_ip, 0))
                        # Attached once "connected" arrives: an event published before that is
                        # behind the socket's starting position and rightly not sent to it.
                        await asyncio.wait_for(conn.recv(), timeout=30)
                        break
                    except (OSError, TimeoutError, websockets.exceptions.InvalidStatus,
                            websockets.exceptions.ConnectionClosed):
                        await asyncio.sleep(0.05 * (attempt + 1))
                else:
                    return
            self.conns[user] = conn
            self.tasks.append(asyncio.create_task(self.read(user, conn)))

        await asyncio.gather(*(one(u) for u in users))
        return time.perf_counter() - started

    async def read(self, user: str, conn: Any) -> None:
        try:
            async for raw in conn:
                msg = orjson.loads(raw)
                kind = msg.get("type")
                if kind == "image_processed":
                    self.latencies.append(time.time() - msg["data"]["sent"])
                    self.positions[user] = (msg["epoch"], msg["offset"])
                    self.received[user] = self.received.get(user, 0) + 1
                elif kind == "ping":
                    await conn.send('{"type":"pong"}')
        except websockets.exceptions.ConnectionClosed:
            pass

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


# -- publisher --------------------------------------------------------------------------------

async def publish(redis_url: str, users: list[str], rate: float, seconds: float) -> int:
    client = aioredis.Redis.from_url(redis_url)
    sha = await client.script_load(imagejobs.PUBLISH_EVENT)
    total = int(rate * seconds)
    tick = 0.01
    per_tick = max(1, int(rate * tick))
    sent = 0
    started = time.perf_counter()
    while sent < total:
        pipe = client.pipeline(transaction=False)
        for _ in range(min(per_tick, total - sent)):
            user = users[sent % len(users)]
            event = {"type": "image_processed", "data": {"image_url": "u", "result": "r", "filters": [],
                                                          "sent": time.time()}}
            k, a = imagejobs.publish_args(user, f"b{sent}-{time.time_ns()}", orjson.dumps(event).decode(), 100)
            pipe.evalsha(sha, len(k), *k, *a)
            sent += 1
        await pipe.execute()
        await asyncio.sleep(max(0.0, started + (sent / rate) - time.perf_counter()))
    await client.aclose()
    return sent


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


def run(idle_sockets: int, storm_sockets: int) -> None:
    raise_nofile()
    per_client = idle_sockets // CLIENT_PROCESSES
    with tempfile.TemporaryDirectory() as tmp:
        server = EmbeddedRedis(Path(tmp) / "redis", appendonly=False)
        server.start()
        notifier = start_notifier(server.url, Path(tmp) / "logs",
                                  LOG_LEVEL=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
                                  WS_SEND_QUEUE="1024", WS_HEARTBEAT_SECONDS="60")
        ws_base = f"ws://127.0.0.1:{notifier.port}/ws"
        pipes, procs = start_clients(ws_base, per_client, "scale")
        try:
            time.sleep(1)
            base_rss = rss_kib(notifier.popen.pid)
            connected = ask(pipes, "connect", per_client)
            held = sum(n for n, _ in connected)
            took = max(t for _, t in connected)
            time.sleep(2)
            rss = rss_kib(notifier.popen.pid)
            print(f"\nnotifier at scale (one notifier process, {CLIENT_PROCESSES} client processes)")
            print(f"idle sockets held: {held} (connected in {took:.1f} s); RSS {base_rss / 1024:.0f} MiB -> "
                  f"{rss / 1024:.0f} MiB = {(rss - base_rss) / max(held, 1):.1f} KiB per socket")

            keep = storm_sockets // CLIENT_PROCESSES
            ask(pipes, "close_to", keep)
            users = [f"scale-{c}-{i}" for c in range(CLIENT_PROCESSES) for i in range(keep)]
            # Every user gets one event first, so that each client knows its (epoch, offset) to resume from.
            ask(pipes, "reset_stats")
            warm = asyncio.run(publish(server.url, users, 5000, len(users) / 5000))
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and sum(ask(pipes, "count")) < warm:
                time.sleep(0.2)
            ask(pipes, "disconnect_all")
            time.sleep(1)
            asyncio.run(publish(server.url, users, 5000, len(users) / 5000))  # one missed event per user
            results = ask(pipes, "storm", keep)
            reattached = sum(r[0] for r in results)
            caught_up = sum(r[1] for r in results)
            took = max(r[2] for r in results)
            print(f"\nreconnect storm: {reattached} clients reconnected with resume, {caught_up} caught up "
                  f"(missed event replayed) in {took:.1f} s")
            ask(pipes, "exit")
        finally:
            if os.environ.get("BENCH_KEEP_LOG"):
                lines = notifier.log_path.read_text(errors="replace").splitlines()
                print("\n".join(line for line in lines if "INFO" not in line and "connection" not in line)[-3000:])
                import collections
                print(collections.Counter(line.split("Redis unavailable")[1] for line in lines
                                          if "Redis unavailable" in line).most_common(5))
            stop_clients(procs)
            notifier.stop()
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    cap = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    default_idle = min(20_000, (cap - 500) // 1000 * 1000)
    parser.add_argument("--idle", type=int, default=default_idle)
    parser.add_argument("--sockets", type=int, default=10_000, help="clients in the reconnect storm")
    args = parser.parse_args()
    run(args.idle, args.sockets)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
