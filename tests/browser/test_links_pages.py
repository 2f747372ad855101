"""The clip links page in a real browser on a 360 px phone: no axe-core violations, no
sideways scrolling, and a session linked from the keyboard alone."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from playwright.sync_api import Page, expect

from festival.accounts.service import create_or_update_staff
from festival.clips import queries as clip_queries
from festival.db.engine import Database
from festival.posts import service as posts
from festival.posts.schemas import PostIn
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn, RoomIn, SessionIn, VenueIn
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async

SLUG = "coproduction-week-2019"


async def _set_up(url: str) -> int:
    """A staff account, a festival with two sessions and a blog post, and one clip."""
    db = Database.open(url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        festival = await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Co-production Week 2019",
                starts_on=date(2019, 7, 1),
                ends_on=date(2019, 7, 5),
            ),
        )
        hub = await programme.create_venue(db, SLUG, VenueIn(name="Kentish Town Community Hub"))
        hall = await programme.create_room(db, SLUG, RoomIn(venue_id=hub.id, name="Main hall"))
        for title, day, hour in (
            ("Opening: what co-production means", 1, 9),
            ("Closing circle", 5, 16),
        ):
            await programme.create_session(
                db,
                SLUG,
                SessionIn(
                    title=title,
                    kind="talk",
                    room_id=hall.id,
                    starts_at=datetime(2019, 7, day, hour, tzinfo=UTC),
                    ends_at=datetime(2019, 7, day, hour + 1, tzinfo=UTC),
                    status="published",
                ),
            )
        await posts.create_post(
            db,
            SLUG,
            PostIn(
                title="Day one: what we heard",
                published_at=datetime(2019, 7, 1, 18, tzinfo=UTC),
                author="The festival team",
            ),
        )
        async with db.write() as conn:
            return await clip_queries.insert_clip(
                conn,
                {
                    "festival_id": festival.id,
                    "upload_id": "browser-links-clip",
                    "title": "Sam on peer support",
                    "original_filename": "interview.mp4",
                    "content_type": "video/mp4",
                    "original_size": 1000,
                    "original_sha256": "0" * 64,
                    "state": "processing",
                },
            )
    finally:
        await db.close()


@pytest.fixture
def clip_id(live_server: LiveServer) -> int:
    """Asked for before ``page``, so the data is in place before Playwright starts."""
    return run_async(_set_up(live_server.settings.database_url))


def _check(page: Page) -> None:
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways: {width}px wide"


def test_a_session_is_linked_to_a_clip_from_the_keyboard(
    live_server: LiveServer, clip_id: int, page: Page
) -> None:
    path = f"/staff/festivals/{SLUG}/clips/{clip_id}/links"
    page.goto(live_server.url + path)
    tab_to(page, "#email")
    page.keyboard.type(STAFF_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type(STAFF_PASSWORD)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == live_server.url + path
    expect(page.locator("h1")).to_have_text(f"Sam on peer support (clip {clip_id})")
    _check(page)

    tab_to(page, "#session_id")
    page.keyboard.press("ArrowDown")  # from "Choose a session" to the first session
    assert page.locator("#session_id").input_value() != ""
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Link this session"
    with page.expect_navigation():
        page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_have_text("The session has been linked.")
    sessions = page.locator("section[aria-labelledby=sessions]")
    expect(sessions.get_by_role("link", name="Opening: what co-production means")).to_be_visible()
    expect(
        sessions.get_by_role("button", name="Remove the link to Opening: what co-production means")
    ).to_be_visible()
    _check(page)

    # A mistake is shown in an error summary that is itself accessible.
    tab_to(page, "#post_id")
    page.keyboard.press("Tab")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator(".error-summary")).to_contain_text("Choose a blog post to link")
    _check(page)
