"""The staff pages in a real browser on a 360 px phone: signed in from the keyboard alone,
no axe-core violations, no sideways scrolling, errors shown where they can be found."""

from __future__ import annotations

from datetime import date

import pytest
from playwright.sync_api import Page

from festival.accounts.service import create_or_update_staff
from festival.db.engine import Database
from festival.programme import service
from festival.programme.schemas import FestivalIn, PersonIn, RoomIn, VenueIn
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async

SLUG = "coproduction-week-2019"
BASE = f"/staff/festivals/{SLUG}"


async def _set_up(url: str) -> None:
    """A staff account and a small festival, as `festival create-staff` and the API would
    make them."""
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
        hub = await service.create_venue(db, SLUG, VenueIn(name="Kentish Town Community Hub"))
        await service.create_venue(db, SLUG, VenueIn(name="Online", online=True))
        await service.create_room(
            db,
            SLUG,
            RoomIn(venue_id=hub.id, name="Main hall", capacity=120, step_free=True),
        )
        await service.create_person(db, SLUG, PersonIn(name="Ann Lee", organisation="Peers"))
    finally:
        await db.close()


@pytest.fixture
def staff_server(live_server: LiveServer) -> LiveServer:
    """Asked for before ``page``, so the data is in place before Playwright starts."""
    run_async(_set_up(live_server.settings.database_url))
    return live_server


def _check(page: Page, status: int = 200) -> None:
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways: {width}px wide"
    assert page.locator("h1").count() == 1


def _sign_in_by_keyboard(page: Page, url: str) -> None:
    page.goto(f"{url}/staff")
    assert page.url.endswith("/staff/sign-in?next=/staff")
    tab_to(page, "#email")
    page.keyboard.type(STAFF_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(STAFF_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}/staff"


def _fill_session(page: Page, title: str, start: str, end: str) -> None:
    page.get_by_label("Title").fill(title)
    page.get_by_label("Talk").check()
    page.get_by_label("Room").select_option(label="Main hall")
    page.get_by_label("Day").select_option(label="Monday 1 July 2019")
    page.get_by_label("Start time").fill(start)
    page.get_by_label("End time").fill(end)
    page.get_by_label("Published").check()
    page.get_by_label("Co-producer 1", exact=True).select_option(label="Ann Lee, Peers")
    page.get_by_label("Role of co-producer 1").select_option(label="Expert by experience")


def test_staff_pages_are_accessible_on_a_phone(staff_server: LiveServer, page: Page) -> None:
    url = staff_server.url
    _sign_in_by_keyboard(page, url)
    _check(page)  # the dashboard
    assert page.get_by_text("Organiser").count() >= 1

    page.get_by_role("link", name="Co-production Week 2019").click()
    page.wait_for_url(f"{url}{BASE}")
    _check(page)  # an empty overview

    page.goto(f"{url}{BASE}/sessions/new")
    _check(page)
    _fill_session(page, "Opening: what co-production means", "10:00", "11:00")
    page.get_by_role("button", name="Add the session").click()
    page.wait_for_url(f"{url}{BASE}?saved=session-added")
    assert page.get_by_role("status").inner_text() == "The session has been added."
    _check(page)  # the overview with a session table

    # A clash: the error summary names the other session and links to the room.
    page.goto(f"{url}{BASE}/sessions/new")
    _fill_session(page, "Peer support café", "10:30", "11:30")
    page.get_by_label("Co-producer 1", exact=True).select_option(label="None")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Add the session").click()
    assert posted.value is not None and posted.value.status == 409
    assert page.title().startswith("Error: ")
    summary = page.get_by_role("alert")
    assert "Opening: what co-production means" in summary.inner_text()
    assert page.get_by_label("Title").input_value() == "Peer support café"
    _check(page)
    summary.get_by_role("link", name="The room is already booked at this time").click()
    assert page.evaluate("document.activeElement.id") == "room_id"

    page.goto(f"{url}{BASE}/rooms/new")
    _check(page)
    page.get_by_role("button", name="Add the room").click()  # nothing filled in
    assert page.get_by_role("alert").is_visible()
    _check(page)

    page.goto(f"{url}{BASE}/people/new")
    _check(page)
    page.goto(f"{url}{BASE}/venues/new")
    _check(page)
    page.goto(f"{url}{BASE}/edit")
    _check(page)


def test_sign_in_error_is_accessible(staff_server: LiveServer, page: Page) -> None:
    page.goto(f"{staff_server.url}/staff/sign-in")
    tab_to(page, "#email")
    page.keyboard.type(STAFF_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    with page.expect_navigation() as posted:
        page.keyboard.press("Enter")
    assert posted.value is not None and posted.value.status in (401, 422)
    assert page.title().startswith("Error: ")
    assert page.get_by_role("alert").is_visible()
    _check(page)


def test_signing_out_from_the_header(staff_server: LiveServer, page: Page) -> None:
    _sign_in_by_keyboard(page, staff_server.url)
    tab_to(page, "button:has-text('Sign out')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "/staff/sign-in" in page.url
    page.goto(f"{staff_server.url}{BASE}")
    assert page.url.endswith(f"/staff/sign-in?next={BASE}")
