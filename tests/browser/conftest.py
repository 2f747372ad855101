"""The browser harness: a live server per test, Debian's Chromium through Playwright,
axe-core injected into pages, and a 360 px phone viewport by default."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from festival.app import create_app
from festival.settings import Settings
from tests.conftest import NewDatabase, make_settings

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 780}
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


class LiveServer:
    """The real app on a real socket, in a thread with its own event loop."""

    def __init__(self, data_dir: Path, database_url: str) -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        # Links, feeds and calendars name the base URL, so it points at this server.
        self.settings: Settings = make_settings(
            data_dir, base_url=self.url, run_jobs="true", database_url=database_url
        )
        config = uvicorn.Config(create_app(self.settings), log_level="warning", lifespan="on")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> LiveServer:
        self._thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the live server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=15)
        self._sock.close()


@pytest.fixture
def live_server(tmp_path: Path, new_database: NewDatabase) -> Iterator[LiveServer]:
    """A fresh app and database on a real port, for one test."""
    data_dir = tmp_path / "var"
    server = LiveServer(data_dir, new_database(data_dir)).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed; `make test` installs it")
    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    browser = playwright_instance.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )
    yield browser
    browser.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def _axe(page: Page) -> list[dict[str, Any]]:
    if not AXE.exists():
        raise RuntimeError("axe-core is missing: run `npm ci` (make test does)")
    # Evaluated through DevTools rather than added as a <script>: the pages' policy
    # (festival/security.py) refuses inline script, and the tests run under it.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.map(n => n.target.join(' ') + ' :: ' + n.failureSummary)}))",
        WCAG_TAGS,
    )
    assert isinstance(result, list)
    return result


@pytest.fixture
def axe_violations() -> Callable[[Page], list[dict[str, Any]]]:
    """Call with a page; returns axe-core's WCAG 2.2 AA violations (an empty list is a pass)."""
    return _axe


def assert_accessible(page: Page) -> None:
    violations = _axe(page)
    assert violations == [], json.dumps(violations, indent=2)


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    """Press Tab until the element matching ``selector`` has focus, as a keyboard user would."""
    target = page.locator(selector).first
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"could not reach {selector} with the Tab key")


async def settle_clips(db: Any, clip_ids: list[int], within: float = 60) -> None:
    """Wait until clips have finished processing. The live server runs jobs too, so the
    processing job may be running there rather than in the test's own queue."""
    from festival.clips import queries as clip_queries

    deadline = time.monotonic() + within
    while True:
        async with db.read() as conn:
            states = [(await clip_queries.clip_by_id(conn, i)) for i in clip_ids]
        if all(c is not None and c.state != "processing" for c in states):
            return
        if time.monotonic() > deadline:
            raise AssertionError("clips were still processing after the deadline")
        await asyncio.sleep(0.1)


def wait_for(page: Page, expression: str, timeout_ms: int = 10_000) -> None:
    """Wait until ``expression`` is true in the page.

    Playwright's own ``wait_for_function`` polls by compiling the expression inside the
    page, which the site's Content-Security-Policy (no eval) rightly forbids; this asks
    from outside instead, as the tests' other evaluations do.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout_ms} ms: {expression}")
        page.wait_for_timeout(50)
