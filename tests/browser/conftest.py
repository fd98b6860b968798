"""Browser fixtures: Debian's Chromium driven by Playwright against real processes.

The browser tests need ``/usr/bin/chromium`` (Debian's ``chromium`` package; ``.ci/run`` installs it)
and the ``playwright`` Python package (a test dependency). Playwright's own browser downloads are
never used. Without either, every test here is skipped with a reason that says so.

Processes: the session's Redis and imaging worker (``stack``), plus a gateway and a notifier of our
own: the notifier listens on a fixed port so a test can restart it under an open page, and the
gateway is configured (NOTIFIER_URL, PUBLIC_NOTIFIER_URL) to point the page at it. Every request the
page makes to a host other than 127.0.0.1/localhost is aborted and recorded; tests assert there were
none. Screenshots go to ``test-artifacts/`` at the project root.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from devtools.redis_server import free_port
from tests.conftest import Stack
from tests.harness import ROOT, Proc, base_env, start_gateway, start_process, wait_http

# Debian's binary; DIYMOD_TEST_CHROMIUM points elsewhere (or at nothing, to see the skip).
CHROMIUM = Path(os.environ.get("DIYMOD_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
HEARTBEAT_SECONDS = "1"  # the server pings after 1 s of silence and drops sockets silent for 2 s

SKIP_NO_CHROMIUM = (
    f"browser tests skipped: no Chromium at {CHROMIUM}. Install Debian's package "
    "(apt-get update && apt-get install -y chromium, or `make chromium`); .ci/run does this before `make test`."
)
SKIP_NO_PLAYWRIGHT = (
    "browser tests skipped: the Python package 'playwright' is not installed "
    "(pip install -e '.[test]'; no `playwright install` is needed, Debian's Chromium is used)."
)


class RestartableNotifier:
    """A notifier on a fixed port, so clients can reconnect to the same URL after a restart."""

    def __init__(self, redis_url: str, log_dir: Path) -> None:
        self.redis_url = redis_url
        self.log_dir = log_dir
        self.port = free_port()
        self.proc: Proc | None = None
        self.starts = 0

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        env = base_env(self.redis_url, NOTIFIER_PORT=str(self.port), WS_HEARTBEAT_SECONDS=HEARTBEAT_SECONDS)
        self.proc = start_process(f"notifier-viewer-{self.starts}", ["-m", "notifier"], env, self.log_dir, self.port)
        wait_http(self.proc, "/healthz")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
            self.proc = None


@dataclass
class Viewer:
    stack: Stack
    gateway: Proc
    notifier: RestartableNotifier

    @property
    def url(self) -> str:
        return self.gateway.url


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip(SKIP_NO_CHROMIUM)
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip(SKIP_NO_PLAYWRIGHT)
    return CHROMIUM


@pytest.fixture(scope="session")
def viewer(chromium: Path, stack: Stack, redis_url: str, artifacts_dir: Path) -> Iterator[Viewer]:
    notifier = RestartableNotifier(redis_url, artifacts_dir)
    notifier.start()
    gateway = start_gateway(
        redis_url, artifacts_dir, name="gateway-viewer",
        NOTIFIER_URL=notifier.http_url, PUBLIC_NOTIFIER_URL=notifier.ws_url,
        # Images start DEFERRED and are swapped live (what the tests exercise), not sent COMPLETED
        # inline by /get_feed when their local job is quick.
        FEED_INLINE_WAIT_SECONDS="0",
    )
    try:
        yield Viewer(stack, gateway, notifier)
    finally:
        gateway.stop()
        notifier.stop()


@dataclass
class Browser:
    context: Any
    blocked: list[str] = field(default_factory=list)


@pytest.fixture(scope="package")
def browser(chromium: Path) -> Iterator[Browser]:
    # Package scope, not session: while the sync API is open its event loop runs in this thread,
    # and the asyncio tests of the other packages need the thread to themselves.
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="diymod-chromium-"))
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(chromium), headless=True, args=CHROMIUM_ARGS,
            viewport={"width": 1440, "height": 1000},
        )
        state = Browser(context)

        def guard(route: Any) -> None:
            host = urlsplit(route.request.url).hostname or ""
            if route.request.url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
                route.continue_()
            else:
                state.blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        try:
            yield state
        finally:
            context.close()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser: Browser) -> Iterator[Any]:
    page = browser.context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    before = len(browser.blocked)
    yield page
    page.close()
    assert browser.blocked[before:] == [], f"the page tried to reach non-local hosts: {browser.blocked[before:]}"
    assert errors == [], f"uncaught errors in the page: {errors}"


def new_user(prefix: str = "viewer") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def screenshot(page: Any, name: str, *, full_page: bool = False) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
