"""The staff blog posts pages in a real browser on a 360 px phone: no axe-core violations,
no sideways scrolling, and a post added from the keyboard alone. The live server cannot
reach a fake blog, so this covers posts made by hand; imports are tested over HTTP."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page

from festival.accounts.service import create_or_update_staff
from festival.db.engine import Database
from festival.programme import service
from festival.programme.schemas import FestivalIn
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async

SLUG = "coproduction-week-2019"
POSTS = f"/staff/festivals/{SLUG}/posts"


async def _set_up(url: str) -> None:
    db = Database.open(url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        await service.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Co-production Week 2019",
                starts_on=date(2019, 7, 1),
                ends_on=date(2019, 7, 5),
            ),
        )
    finally:
        await db.close()


@pytest.fixture
def staff_server(live_server: LiveServer) -> LiveServer:
    run_async(_set_up(live_server.settings.database_url))
    return live_server


def _check(page: Page) -> None:
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways: {width}px wide"
    assert page.locator("h1").count() == 1


def _sign_in(page: Page, url: str) -> None:
    page.goto(f"{url}{POSTS}")
    tab_to(page, "#email")
    page.keyboard.type(STAFF_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(STAFF_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}{POSTS}"


def test_posts_page_is_accessible_and_a_post_can_be_added_by_keyboard(
    staff_server: LiveServer, page: Page
) -> None:
    url = staff_server.url
    _sign_in(page, url)
    _check(page)  # no posts yet, the import form

    tab_to(page, f'a[href="{POSTS}/new"]')
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}{POSTS}/new"
    _check(page)

    # Sent empty, the form explains itself and the summary links to the title.
    tab_to(page, "main button[type=submit]")
    with page.expect_navigation() as posted:
        page.keyboard.press("Enter")
    assert posted.value is not None and posted.value.status == 422
    assert page.title().startswith("Error: ")
    _check(page)
    page.get_by_role("link", name="Enter the post's title").click()
    assert page.evaluate("document.activeElement.id") == "title"

    page.keyboard.type("Notes from the listening café")
    page.keyboard.press("Tab")
    page.keyboard.type("Ann Lee")
    tab_to(page, "#published_on")
    page.keyboard.type("2/7/2019")
    tab_to(page, "#published_time")
    page.keyboard.type("18:15")
    page.keyboard.press("Tab")
    page.keyboard.type("https://blog.example.org/listening-cafe")
    page.keyboard.press("Tab")
    page.keyboard.type("What people told us on the first morning.")
    tab_to(page, "main button[type=submit]")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    # A redirect keeps the #title the error summary link added; the page is what counts.
    assert page.url.split("#")[0] == f"{url}{POSTS}?saved=post-added"
    assert page.get_by_role("status").inner_text() == "The post has been added."
    card = page.locator("li.card").first
    assert "Notes from the listening café" in card.inner_text()
    assert "Tuesday 2 July 2019, 18:15" in card.inner_text()
    _check(page)  # the list with a post

    page.get_by_role("link", name="Change Notes from the listening café").click()
    assert page.get_by_label("Title").input_value() == "Notes from the listening café"
    _check(page)
    page.goto(f"{url}{POSTS}")
    page.get_by_role("link", name="Delete Notes from the listening café").click()
    _check(page)


def test_a_failed_import_is_shown_accessibly(staff_server: LiveServer, page: Page) -> None:
    """The live server itself stands in for a blog without a feed: a real 404."""
    url = staff_server.url
    _sign_in(page, url)
    missing = f"{url}/no-feed-here.atom"
    page.get_by_label("Address of the blog's feed").fill(missing)
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Import the feed").click()
    assert posted.value is not None and posted.value.status == 422
    summary = page.get_by_role("alert")
    assert f"Fetching {missing} failed: the blog's server answered 404" in summary.inner_text()
    _check(page)
    summary.get_by_role("link", name="The blog answered 404 for this address").click()
    assert page.evaluate("document.activeElement.id") == "feed_url"
    assert page.get_by_label("Address of the blog's feed").input_value() == missing
