"""diymod-client.js, driven in the browser against the real notifier.

Events are published straight into the user's log the way the worker publishes them
(``publish_event.lua``), so offsets are known and every gap or duplicate is visible.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
import redis

from devtools.redis_server import free_port
from shared import imagejobs, keys
from shared.auth import mint
from shared.config import load_settings
from tests.browser.conftest import Viewer, new_user
from tests.harness import Proc, base_env, start_process, wait_http

SECRET = "browser-test-secret-0123456789abcdef"  # HS256 wants 32 bytes or more
SETUP = """async ({ url, user, token }) => {
  const { DiymodClient } = await import('/viewer/static/diymod-client.js');
  const c = new DiymodClient({ url, userId: user, minDelayMs: 100, maxDelayMs: 800, pingIntervalMs: 60000,
                               getToken: token ? () => token : null });
  const t = { c, offsets: [], connected: [], unauthorised: 0, results: {} };
  c.on('event', (f) => { if (f.offset !== undefined) t.offsets.push(f.offset); });
  c.on('connected', (d) => t.connected.push(d));
  c.on('unauthorised', () => { t.unauthorised += 1; });
  t.wait = (name, url, filters, opts) => c.waitForImage(url, filters, opts).then(
    (r) => { t.results[name] = { ok: true, url: r.url }; },
    (e) => { t.results[name] = { ok: false, reason: e.reason }; });
  window.t = t;
  c.connect();
}"""


def publish(redis_url: str, user: str, events: list[dict[str, Any]]) -> None:
    client = redis.Redis.from_url(redis_url)
    script = client.register_script(imagejobs.PUBLISH_EVENT)
    for event in events:
        keys_, args = imagejobs.publish_args(user, uuid.uuid4().hex, orjson.dumps(event).decode(), 1000)
        script(keys=keys_, args=args)
    client.close()


def processed(url: str, filters: list[str], **extra: str) -> dict[str, Any]:
    return {"type": "image_processed", "data": {"image_url": url, "result": "http://127.0.0.1:1/images/r",
                                                "filters": filters, **extra}}


def start_client(page: Any, viewer: Viewer, notifier_url: str, user: str, token: str | None = None) -> None:
    page.goto(viewer.url + "/viewer/static/diymod-client.js")  # any page of the gateway's origin
    page.evaluate(SETUP, {"url": notifier_url, "user": user, "token": token})


def wait_js(page: Any, condition: str, timeout: float = 10_000) -> None:
    page.wait_for_function(f"() => {condition}", timeout=timeout)


def test_reconnect_and_resume_without_gaps_or_duplicates(viewer: Viewer, page: Any, redis_url: str) -> None:
    user = new_user("client")
    start_client(page, viewer, viewer.notifier.ws_url, user)
    wait_js(page, "t.c.state === 'open'")
    publish(redis_url, user, [processed(f"https://img.test/{i}", []) for i in range(3)])
    wait_js(page, "t.offsets.length === 3")

    # Heartbeat: this notifier pings after 1 s of silence and drops sockets silent for 2 s.
    page.wait_for_timeout(3500)
    stats = page.evaluate("t.c.stats")
    assert stats["connects"] == 1 and stats["pongsSent"] >= 1, stats

    # Ask the server to replay from offset 1: events 2 and 3 come again and are dropped.
    page.evaluate("t.c.send('resume', { epoch: t.c.position.epoch, offset: 1 })")
    wait_js(page, "t.c.stats.duplicates === 2")

    # Restart: events published while the notifier is down arrive after the reconnect, once.
    viewer.notifier.stop()
    wait_js(page, "t.c.state === 'reconnecting'")
    publish(redis_url, user, [processed(f"https://img.test/down-{i}", []) for i in range(4)])
    viewer.notifier.start()
    wait_js(page, "t.offsets.length === 7")
    last = page.evaluate("t.connected[t.connected.length - 1]")
    assert last["resumed"] is True and last["recovered"] is True and last["replayed"] == 4
    publish(redis_url, user, [processed("https://img.test/after", [])])
    wait_js(page, "t.offsets.length === 8")
    assert page.evaluate("t.offsets") == list(range(1, 9))
    assert page.evaluate("t.c.stats.duplicates") == 2
    page.evaluate("t.c.close()")
    assert page.evaluate("t.c.state") == "closed"


def test_wait_for_image_resolves_rejects_times_out_and_is_resent(viewer: Viewer, page: Any, redis_url: str) -> None:
    user = new_user("waits")
    start_client(page, viewer, viewer.notifier.ws_url, user)
    wait_js(page, "t.c.state === 'open'")
    a, b, c = "https://img.test/a.jpg?w=640", "https://img.test/b.jpg", "https://img.test/c.jpg"
    page.evaluate(f"""() => {{
        t.wait('a', '{a}', ['Spiders']);
        t.wait('a_other_filters', '{a}', ['dogs'], {{ timeoutMs: 1500 }});
        t.wait('b', '{b}', ['war']);
        t.wait('c', '{c}', ['x'], {{ timeoutMs: 300 }});
    }}""")
    publish(redis_url, user, [
        processed(a, ["spiders."], base64_url="data:image/png;base64,AAAA"),
        {"type": "image_failed", "data": {"image_url": b, "filters": ["war"], "reason": "not a usable image"}},
    ])
    wait_js(page, "Object.keys(t.results).length === 4")
    results = page.evaluate("t.results")
    assert results["a"] == {"ok": True, "url": "data:image/png;base64,AAAA"}  # filters compared normalised
    assert results["b"] == {"ok": False, "reason": "not a usable image"}
    assert results["c"] == {"ok": False, "reason": "timeout"}
    assert results["a_other_filters"] == {"ok": False, "reason": "timeout"}  # other filters, other result
    # Seen before: answered at once from what the client remembers.
    page.evaluate(f"() => {{ t.wait('a_again', '{a}', ['spiders']); }}")
    wait_js(page, "'a_again' in t.results")
    assert page.evaluate("t.results.a_again.ok") is True

    # A wait registered while the notifier is down is sent after the reconnect; the result was
    # stored meanwhile, so the notifier answers it at once.
    viewer.notifier.stop()
    wait_js(page, "t.c.state === 'reconnecting'")
    d = "https://img.test/d.jpg"
    page.evaluate(f"() => {{ t.wait('d', '{d}', ['cats']); }}")  # not awaited: it settles later
    store = redis.Redis.from_url(redis_url)
    store.set(keys.result_key(keys.wait_id(d, ["cats"])), json.dumps(
        {"image_url": d, "filters": ["cats"], "url": "http://127.0.0.1:1/images/d"}))
    store.close()
    viewer.notifier.start()
    wait_js(page, "'d' in t.results")
    assert page.evaluate("t.results.d") == {"ok": True, "url": "http://127.0.0.1:1/images/d"}
    page.evaluate("t.c.close()")


@pytest.fixture
def token_notifier(redis_url: str, tmp_path: Path) -> Iterator[Proc]:
    port = free_port()
    env = base_env(redis_url, NOTIFIER_PORT=str(port), AUTH_MODE="token", AUTH_SECRET=SECRET)
    proc = start_process("notifier-token", ["-m", "notifier"], env, tmp_path, port)
    wait_http(proc, "/healthz")
    yield proc
    proc.stop()


def test_token_mode_connects_with_a_token_and_refreshes_it(viewer: Viewer, page: Any, token_notifier: Proc) -> None:
    settings = load_settings({"AUTH_MODE": "token", "AUTH_SECRET": SECRET})
    user = new_user("token")
    ws_url = f"ws://127.0.0.1:{token_notifier.port}"
    start_client(page, viewer, ws_url, user, token=mint(settings, user, 600))
    wait_js(page, "t.c.state === 'open'")
    answer = page.evaluate(f"t.c.refreshToken('{mint(settings, user, 1200)}')")
    assert answer["expires_at"] > 0
    page.evaluate("t.c.close()")

    start_client(page, viewer, ws_url, user, token=mint(settings, "someone-else", 600))
    wait_js(page, "t.unauthorised >= 1")
    assert page.evaluate("t.c.state") == "reconnecting"
    page.evaluate("t.c.close()")
