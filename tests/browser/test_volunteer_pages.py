"""The volunteer's pages in a real browser on a 360 px phone: from the invite link to being
checked in with the keyboard alone, no axe-core violations, no sideways scrolling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
import sqlalchemy as sa
from playwright.sync_api import Page

from festival.crew import service as crew
from festival.crew.schemas import (
    AssignIn,
    AvailabilityIn,
    CrewRulesPatch,
    InviteIn,
    SlotIn,
    TrainingIn,
    Window,
)
from festival.db.engine import Database
from festival.db.tables import volunteer_tokens
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn, RoomIn, SessionIn, VenueIn
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import run_async

SLUG = "kentish-town-week"


class Setup(msgspec.Struct):
    invite_url: str
    expired_url: str
    next_slot_id: int
    later_assignment_id: int


async def _set_up(url: str, base_url: str) -> Setup:
    """A festival happening now: Ray, trained and free, has a slot starting in half an hour
    and another later; Sol's invite has expired."""
    db = Database.open(url)
    try:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        today = now.date()
        await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Kentish Town Co-production Week",
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=2),
                timezone="Europe/London",
            ),
        )
        venue = await programme.create_venue(db, SLUG, VenueIn(name="Community Hub"))
        hall = await programme.create_room(db, SLUG, RoomIn(venue_id=venue.id, name="Main hall"))
        foyer = await programme.create_room(db, SLUG, RoomIn(venue_id=venue.id, name="Foyer"))
        session = await programme.create_session(
            db,
            SLUG,
            SessionIn(
                title="What co-production means to us",
                kind="talk",
                room_id=hall.id,
                starts_at=now + timedelta(minutes=30),
                ends_at=now + timedelta(minutes=90),
                status="published",
            ),
        )
        await crew.update_rules(db, SLUG, CrewRulesPatch(self_signup=True))
        ray = await crew.invite(db, SLUG, InviteIn(email="ray@crew.test", name="Ray"), base_url)
        await crew.add_training(
            db, SLUG, ray.volunteer.id, TrainingIn(trained_on=today, trainer="Sam Trainer")
        )
        await crew.set_availability_for(
            db,
            SLUG,
            ray.volunteer.id,
            AvailabilityIn(
                windows=[
                    Window(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=9))
                ]
            ),
        )
        soon = await crew.create_slot(
            db,
            SLUG,
            SlotIn(
                starts_at=now + timedelta(minutes=30),
                ends_at=now + timedelta(minutes=90),
                session_id=session.id,
                notes="Meet Jo at the back of the hall.\nThe quiet room is next door.",
            ),
        )
        later = await crew.create_slot(
            db,
            SLUG,
            SlotIn(
                starts_at=now + timedelta(hours=5),
                ends_at=now + timedelta(hours=6),
                room_id=foyer.id,
            ),
        )
        await crew.create_slot(
            db,
            SLUG,
            SlotIn(
                starts_at=now + timedelta(hours=7),
                ends_at=now + timedelta(hours=8),
                place="Roaming in the café",
            ),
        )
        await crew.assign(db, SLUG, soon.id, AssignIn(volunteer_id=ray.volunteer.id))
        assigned = await crew.assign(db, SLUG, later.id, AssignIn(volunteer_id=ray.volunteer.id))
        sol = await crew.invite(db, SLUG, InviteIn(email="sol@crew.test"), base_url)
        async with db.write() as conn:
            await conn.execute(
                sa.update(volunteer_tokens)
                .where(volunteer_tokens.c.volunteer_id == sol.volunteer.id)
                .values(expires_at=now - timedelta(minutes=1))
            )
        return Setup(
            invite_url=ray.invite_url,
            expired_url=sol.invite_url,
            next_slot_id=soon.id,
            later_assignment_id=assigned.assignments[0].id,
        )
    finally:
        await db.close()


@pytest.fixture
def setup(live_server: LiveServer) -> Setup:
    """Asked for before ``page``, so the data is in place before Playwright starts."""
    return run_async(_set_up(live_server.settings.database_url, live_server.url))


def _check(page: Page) -> None:
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways: {width}px wide"
    assert page.locator("h1").count() == 1


def test_invite_accept_and_check_in_by_keyboard(
    live_server: LiveServer, setup: Setup, page: Page
) -> None:
    url = live_server.url
    page.goto(setup.invite_url)
    assert page.url == f"{url}/volunteer"
    next_slot = page.locator(".volunteer-slot--next")
    assert "Main hall" in next_slot.inner_text()
    assert "What co-production means to us" in next_slot.inner_text()
    assert "Assigned, waiting for reply" in next_slot.inner_text()
    _check(page)

    tab_to(page, ".volunteer-slot--next button:has-text('Accept')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}/volunteer?done=accepted"
    assert page.get_by_role("status").inner_text() == "You have accepted the slot. Thank you."
    assert "Accepted" in page.locator(".volunteer-slot--next").inner_text()

    tab_to(page, ".volunteer-slot--next button:has-text('Check in')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url == f"{url}/volunteer?done=checked-in"
    tag = page.locator(".volunteer-slot--next .tag")
    assert tag.inner_text() == "Checked in"
    assert page.locator(".volunteer-slot--next button").count() == 0
    _check(page)


def test_volunteer_pages_are_accessible_on_a_phone(
    live_server: LiveServer, setup: Setup, page: Page
) -> None:
    url = live_server.url
    page.goto(setup.invite_url)
    assert page.get_by_role("heading", name="Open slots you can take").is_visible()
    assert page.get_by_role("heading", name="Your other slots").is_visible()

    # Declining with no reason: the error is in the summary and beside the box.
    page.goto(f"{url}/volunteer/assignments/{setup.later_assignment_id}/decline")
    _check(page)
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Decline the slot").click()
    assert posted.value is not None and posted.value.status == 422
    assert page.title().startswith("Error: ")
    summary = page.get_by_role("alert")
    summary.get_by_role("link", name="Tell festival staff why you cannot take this slot").click()
    assert page.evaluate("document.activeElement.id") == "reason"
    _check(page)

    page.goto(f"{url}/volunteer/profile")
    _check(page)
    page.get_by_label("Your pronouns (optional)").fill("they/them")
    page.get_by_role("button", name="Save your details").click()
    page.wait_for_url(f"{url}/volunteer?done=profile")

    page.goto(f"{url}/volunteer/availability")
    _check(page)
    assert page.locator("#windows-0-remove").is_visible()  # the saved window
    page.locator("#windows-1-day").select_option(index=2)
    page.locator("#windows-1-starts_at").fill("15:00")
    page.locator("#windows-1-ends_at").fill("11:00")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="Save the times you are free").click()
    assert posted.value is not None and posted.value.status == 422
    link = page.get_by_role("alert").get_by_role("link")
    assert link.inner_text() == "Time 2: the ‘to’ time must be after the ‘from’ time"
    link.click()
    assert page.evaluate("document.activeElement.id") == "windows-1-ends_at"
    _check(page)

    page.goto(setup.expired_url)
    assert page.get_by_role("heading", name="This link does not work").is_visible()
    assert "This invite link has expired." in page.inner_text("main")
    _check(page)
