"""The crew staff pages in a real browser on a 360 px phone: no axe-core violations, no
sideways scrolling, and a volunteer given a place from the coverage grid by keyboard alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page

from festival.accounts.schemas import Identity
from festival.accounts.service import create_or_update_staff
from festival.crew import service as crew
from festival.crew.schemas import (
    AssignIn,
    AvailabilityIn,
    DeclineIn,
    InviteIn,
    SlotIn,
    TrainingIn,
    Window,
)
from festival.db.engine import Database
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn, RoomIn, SessionIn, VenueIn
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async

SLUG = "crew-week"
BASE = f"/staff/festivals/{SLUG}"
ZONE = ZoneInfo("Europe/London")


@dataclass
class World:
    url: str
    database_url: str
    now_slot: int
    later_slot: int
    fay: int  # trained, free, holds nothing: the one to assign by keyboard
    eve: int  # not trained
    day: str  # the local day of the slot under way
    later_day: str  # the local day of the later slot (the next day, just before midnight)


def _quarter(hours: float) -> datetime:
    base = datetime.now(UTC).replace(second=0, microsecond=0)
    base -= timedelta(minutes=base.minute % 15)
    return base + timedelta(hours=hours)


async def _set_up(url: str, base_url: str) -> World:
    """A festival happening now, with slots whose places are in every state, made through
    the services as the API would."""
    db = Database.open(url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        today = datetime.now(ZONE).date()
        await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Crew Week",
                starts_on=today - timedelta(days=1),
                ends_on=today + timedelta(days=2),
                timezone="Europe/London",
            ),
        )
        hub = await programme.create_venue(db, SLUG, VenueIn(name="Community Hub"))
        hall = await programme.create_room(db, SLUG, RoomIn(venue_id=hub.id, name="Main hall"))
        library = await programme.create_venue(db, SLUG, VenueIn(name="Library"))
        reading = await programme.create_room(
            db, SLUG, RoomIn(venue_id=library.id, name="Reading room")
        )
        for title, room, start, film in (
            ("What co-production means", hall.id, 3, True),
            ("Peer support café", reading.id, 5, True),
            ("Closed circle", hall.id, 7, False),
        ):
            await programme.create_session(
                db,
                SLUG,
                SessionIn(
                    title=title,
                    kind="talk",
                    room_id=room,
                    starts_at=_quarter(start),
                    ends_at=_quarter(start + 1),
                    status="published",
                    do_not_film=not film,
                ),
            )

        people: dict[str, tuple[int, str]] = {}
        for name, trained in (
            ("Ada Lovelace", True),
            ("Ben Okri", True),
            ("Cy Twombly", True),
            ("Dee Dee", True),
            ("Eve Untrained", False),
            ("Fay Weldon", True),
        ):
            email = name.split()[0].lower() + "@crew.test"
            invitation = await crew.invite(db, SLUG, InviteIn(email=email, name=name), base_url)
            vid = invitation.volunteer.id
            people[name] = (vid, invitation.token)
            if trained:
                await crew.add_training(
                    db,
                    SLUG,
                    vid,
                    TrainingIn(trained_on=datetime.now(UTC).date(), trainer="Sam Trainer"),
                )
            await crew.set_availability_for(
                db,
                SLUG,
                vid,
                AvailabilityIn(windows=[Window(starts_at=_quarter(-6), ends_at=_quarter(12))]),
            )

        now_slot = await crew.create_slot(
            db,
            SLUG,
            SlotIn(starts_at=_quarter(0), ends_at=_quarter(1), room_id=hall.id, capacity=4),
        )
        later = await crew.create_slot(
            db,
            SLUG,
            SlotIn(starts_at=_quarter(2), ends_at=_quarter(2.5), room_id=hall.id, capacity=2),
        )
        roaming = await crew.create_slot(
            db,
            SLUG,
            SlotIn(starts_at=_quarter(1.5), ends_at=_quarter(2), place="Roaming in the foyer"),
        )
        assert roaming.id

        async def place(slot_id: int, who: str) -> int:
            slot = await crew.assign(db, SLUG, slot_id, AssignIn(volunteer_id=people[who][0]))
            return next(a.id for a in slot.assignments if a.volunteer_id == people[who][0])

        async def me(who: str) -> Identity:
            return await crew.identity_from_token(db, people[who][1])

        checked = await place(now_slot.id, "Ada Lovelace")
        await crew.check_in(db, await me("Ada Lovelace"), checked)
        await place(now_slot.id, "Ben Okri")  # assigned, no reply: "Did not come" is offered
        accepted = await place(now_slot.id, "Cy Twombly")
        await crew.accept(db, await me("Cy Twombly"), accepted)
        declined = await place(later.id, "Dee Dee")
        await crew.decline(db, await me("Dee Dee"), declined, DeclineIn(reason="Train cancelled"))
        return World(
            url="",
            database_url=url,
            now_slot=now_slot.id,
            later_slot=later.id,
            fay=people["Fay Weldon"][0],
            eve=people["Eve Untrained"][0],
            day=_quarter(0).astimezone(ZONE).date().isoformat(),
            later_day=_quarter(2).astimezone(ZONE).date().isoformat(),
        )
    finally:
        await db.close()


@pytest.fixture
def world(live_server: LiveServer) -> World:
    """Asked for before ``page``, so the data is in place before Playwright starts."""
    made = run_async(_set_up(live_server.settings.database_url, live_server.url))
    made.url = live_server.url
    return made


def _check(page: Page) -> None:
    assert_accessible(page)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{page.url} scrolls sideways: {width}px wide"
    assert page.locator("h1").count() == 1


def _sign_in(page: Page, url: str, target: str) -> None:
    page.goto(f"{url}{target}")
    assert "/staff/sign-in" in page.url
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{url}{target}"


def _slot_assignments(url: str, slot_id: int) -> list[tuple[int, str]]:
    async def read() -> list[tuple[int, str]]:
        db = Database.open(url)
        try:
            slot = await crew.get_slot(db, SLUG, slot_id)
        finally:
            await db.close()
        return [(a.volunteer_id, a.status) for a in slot.assignments]

    return run_async(read())


def test_volunteer_pages_are_accessible(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/volunteers")
    _check(page)
    assert page.get_by_role("link", name="Ada Lovelace").is_visible()

    page.get_by_label("Email address").fill("gil@crew.test")
    page.get_by_label("Name").fill("Gil Scott")
    with page.expect_navigation():
        page.get_by_role("button", name="Invite the volunteer").click()
    assert page.get_by_role("heading", level=1).inner_text() == "Send Gil Scott their invite link"
    link = page.get_by_label("Invite link for Gil Scott")
    assert link.input_value().startswith(f"{world.url}/volunteers/invite/fvt_")
    assert link.get_attribute("readonly") is not None
    _check(page)

    page.goto(f"{world.url}{BASE}/volunteers")
    page.get_by_role("link", name="Ada Lovelace").click()
    page.wait_for_url(re.compile(r"/volunteers/\d+$"))
    assert page.get_by_text("Sam Trainer").first.is_visible()
    _check(page)

    page.get_by_role("link", name="Withdraw all their links").click()
    _check(page)


def test_slot_pages_are_accessible(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/slots")
    _check(page)
    page.get_by_role("link", name="Add a slot").click()
    _check(page)
    page.get_by_role("button", name="Add the slot").click()  # nothing chosen: an error
    assert page.get_by_role("alert").is_visible()
    _check(page)

    page.goto(f"{world.url}{BASE}/slots/bulk")
    _check(page)
    page.get_by_label("During each session").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Preview the slots").click()
    assert (
        page.get_by_role("heading", level=1).inner_text() == "Check the slots before you make them"
    )
    assert page.get_by_text("Closed circle: marked do not film").is_visible()
    _check(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Make these 2 slots").click()
    assert page.get_by_role("status").inner_text() == "2 interview slots made."
    _check(page)

    page.goto(f"{world.url}{BASE}/crew-rules")
    _check(page)


def test_coverage_grid_is_accessible_and_shows_errors(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/coverage?day={world.day}")
    for word in ("Unfilled", "Assigned, waiting for reply", "Accepted", "Checked in"):
        assert page.locator("td .crew-tag", has_text=word).count() >= 1, word
    assert page.get_by_role("button", name=re.compile(r"^Did not come\W+Ben Okri")).is_visible()
    _check(page)

    page.goto(f"{world.url}{BASE}/coverage?day={world.later_day}")
    assert page.locator("td .crew-tag", has_text="Declined").count() == 1

    # Eve has no training: the grid comes back with the rule's message.
    select = page.locator(f"#assign-{world.later_slot}-1")
    select.select_option(label="Eve Untrained (no training recorded)")
    with page.expect_navigation() as posted:
        page.locator(f"#slot-{world.later_slot}").get_by_role(
            "button", name=re.compile("^Assign")
        ).first.click()
    assert posted.value is not None and posted.value.status == 422
    assert page.title().startswith("Error: ")
    summary = page.get_by_role("alert")
    assert "Eve Untrained has no training recorded" in summary.inner_text()
    _check(page)
    summary.get_by_role("link").first.click()
    assert page.evaluate("document.activeElement.id") == f"assign-{world.later_slot}-1"
    assert all(v != world.eve for v, _ in _slot_assignments(world.database_url, world.later_slot))


def test_assign_from_the_grid_by_keyboard(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/coverage?day={world.later_day}")
    target = f"#assign-{world.later_slot}-1"
    tab_to(page, target, limit=150)
    for _ in range(12):
        if page.locator(target).input_value() == str(world.fay):
            break
        page.keyboard.press("ArrowDown")
    assert page.locator(target).input_value() == str(world.fay)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent").startswith("Assign")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("status").inner_text().startswith("The volunteer has been given")
    assert page.url.endswith(f"#slot-{world.later_slot}")
    assert (world.fay, "assigned") in _slot_assignments(world.database_url, world.later_slot)
    _check(page)


def test_proposal_page_is_accessible(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/proposal")
    _check(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Propose assignments for all unfilled places").click()
    assert re.search(r"/proposals/\d+$", page.url)
    assert page.get_by_role("heading", level=1).inner_text() == "Proposed assignments"
    _check(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Apply these assignments").click()
    assert page.get_by_role("status").is_visible()
    _check(page)
