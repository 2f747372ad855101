"""The public pages in a real browser on a 360 px phone: no axe-core violations, no
sideways scrolling, and usable from the keyboard alone."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Page

from festival.db.engine import Database
from festival.demo.loader import load_demo
from festival.programme import service
from festival.programme.schemas import TRACK_LENGTH, SessionPatch
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import run_async

SLUG = "coproduction-week-2019"


def _with_db(server: LiveServer, work: Callable[[Database], Awaitable[object]]) -> None:
    async def run() -> None:
        db = Database.open(server.settings.database_url)
        try:
            await work(db)
        finally:
            await db.close()

    run_async(run())


def _load_demo(server: LiveServer) -> None:
    _with_db(server, load_demo)


@pytest.fixture
def demo_server(live_server: LiveServer) -> LiveServer:
    """The live server with the demo festival loaded. Tests ask for it before ``page`` so
    the session's template database is migrated before Playwright starts its loop."""
    _load_demo(live_server)
    return live_server


def _session_href(page: Page, server: LiveServer, title: str) -> str:
    page.goto(f"{server.url}/festivals/{SLUG}/programme")
    href = page.get_by_role("link", name=title).get_attribute("href")
    assert href is not None
    return href


def _check_page(page: Page) -> None:
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways: {width}px wide"
    assert page.locator("h1").count() == 1


def test_every_public_page_is_accessible_on_a_phone(demo_server: LiveServer, page: Page) -> None:
    url = demo_server.url
    cancelled = _session_href(
        page, demo_server, "Planning a co-produced review of housing for Disabled people"
    )
    session = _session_href(page, demo_server, "Getting more staff teaching at a recovery college")
    pages = {
        "/": 200,
        f"/festivals/{SLUG}": 200,
        f"/festivals/{SLUG}/programme": 200,
        f"/festivals/{SLUG}/programme?day=2019-07-03&track=Social+care": 200,
        f"/festivals/{SLUG}/programme?day=2019-07-01&track=Research": 200,  # nothing matches
        session: 200,
        cancelled: 200,
        f"/festivals/{SLUG}/programme?day=notadate": 400,
        f"/festivals/{SLUG}/sessions/99999": 404,
        "/festivals/no-such-festival": 404,
    }
    for path, status in pages.items():
        response = page.goto(url + path)
        assert response is not None and response.status == status, path
        _check_page(page)


def test_long_unbroken_words_do_not_push_the_page_sideways(
    demo_server: LiveServer, page: Page
) -> None:
    word = "Co-production" + "x" * 120

    async def lengthen(db: Database) -> None:
        sessions = await service.list_sessions(db, SLUG, include_drafts=False)
        await service.update_session(
            db,
            SLUG,
            sessions[0].id,
            # The track as long as the app takes one (its column holds 100 characters).
            SessionPatch(title=word, track=word[:TRACK_LENGTH], summary=word),
        )

    _with_db(demo_server, lengthen)
    session = _session_href(page, demo_server, word)
    for path in (f"/festivals/{SLUG}/programme", session):
        page.goto(demo_server.url + path)
        _check_page(page)


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_main(
    demo_server: LiveServer, page: Page
) -> None:
    for path in ("/", f"/festivals/{SLUG}/programme", "/festivals/no-such-festival"):
        page.goto(demo_server.url + path)
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.textContent.trim()")
        assert focused == "Skip to main content"
        skip = page.locator(".skip-link")
        box = skip.bounding_box()
        assert box is not None and box["height"] > 20, "the skip link shows when focused"
        page.keyboard.press("Enter")
        assert page.evaluate("document.activeElement.id") == "main"


def test_filter_the_programme_with_the_keyboard(demo_server: LiveServer, page: Page) -> None:
    page.goto(f"{demo_server.url}/festivals/{SLUG}/programme")
    page.get_by_label("Day", exact=True).select_option(label="Tuesday 2 July 2019")
    page.get_by_label("Track", exact=True).select_option("Social care")
    page.locator("body").focus()  # start tabbing from the top, as after a page load
    tab_to(page, "form.filters button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")

    query = parse_qs(urlsplit(page.url).query)
    assert query == {"day": ["2019-07-02"], "track": ["Social care"]}
    titles = page.locator(".session__title a").all_inner_texts()
    assert titles == ["Power sharing at scale"]
    assert page.locator(".day > h2").all_inner_texts() == ["Tuesday 2 July 2019"]
    _check_page(page)

    tab_to(page, "text=Clear filters")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert urlsplit(page.url).query == ""
    assert page.locator(".day > h2").count() == 5


def test_a_session_reached_from_the_programme_by_keyboard(
    demo_server: LiveServer, page: Page
) -> None:
    page.goto(f"{demo_server.url}/festivals/{SLUG}/programme?day=2019-07-01")
    tab_to(page, ".session__title a >> nth=4")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Peer support circle"
    assert page.get_by_text("This session will not be filmed.").is_visible()


def test_programme_on_a_wide_screen(demo_server: LiveServer, page: Page) -> None:
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{demo_server.url}/festivals/{SLUG}/programme")
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
    body_size = page.evaluate("getComputedStyle(document.body).fontSize")
    assert body_size == "19px"
    assert_accessible(page)
