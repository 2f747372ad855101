"""Consent capture in a real browser on a 360 px phone: the easy-read form, the plain one,
the form with mistakes and the private link pass axe-core, nothing scrolls sideways, and
the whole form can be filled in with the keyboard alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from playwright.sync_api import Page

from festival.consent import service as consent
from festival.consent.schemas import Consent
from festival.crew import service as crew
from festival.crew.schemas import AssignIn, AvailabilityIn, InviteIn, SlotIn, TrainingIn, Window
from festival.db.engine import Database
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn, RoomIn, VenueIn
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import run_async

SLUG = "kentish-town-week"


class Setup(msgspec.Struct):
    invite_url: str
    slot_id: int


async def _set_up(url: str, base_url: str) -> Setup:
    """A festival happening now, and Ray, a trained volunteer with a slot in the hall."""
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
        slot = await crew.create_slot(
            db,
            SLUG,
            SlotIn(
                starts_at=now + timedelta(minutes=30),
                ends_at=now + timedelta(minutes=90),
                room_id=hall.id,
            ),
        )
        await crew.assign(db, SLUG, slot.id, AssignIn(volunteer_id=ray.volunteer.id))
        return Setup(invite_url=ray.invite_url, slot_id=slot.id)
    finally:
        await db.close()


async def _consents(url: str) -> list[Consent]:
    db = Database.open(url)
    try:
        return await consent.list_consents(db, SLUG)
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


def _focused(page: Page) -> str:
    return str(page.evaluate("document.activeElement.id"))


def _press_on(page: Page, selector: str, key: str = "Enter") -> None:
    tab_to(page, selector)
    with page.expect_navigation():
        page.keyboard.press(key)


def test_consent_is_captured_by_keyboard_on_a_phone(
    live_server: LiveServer, setup: Setup, page: Page
) -> None:
    url = live_server.url
    form = consent.form()
    page.goto(setup.invite_url)
    _press_on(page, f"a[href='/volunteer/consent/new?slot={setup.slot_id}']")
    assert page.url == f"{url}/volunteer/consent/new?slot={setup.slot_id}"

    # Easy read: every line with its picture, named by its text alternative.
    lines = page.locator(".consent-easy__line")
    assert lines.count() == len(form.easy_read)
    for index, line in enumerate(form.easy_read):
        assert page.get_by_role("img", name=line.alt).count() == 1
        assert lines.nth(index).inner_text().strip() == line.text
    _check(page)

    # The plain-language version is one tap away, and back again.
    _press_on(page, "a:has-text('Read this in more detail')")
    assert page.url.endswith("variant=plain")
    assert "you keep all rights to your interview" in page.inner_text("main")
    _check(page)
    _press_on(page, "a:has-text('Read this in easy read')")
    assert page.locator(".consent-easy").is_visible()

    # Agreeing before choosing how to be named: the mistake is named and linked.
    _press_on(page, "button.consent-agree")
    assert page.title().startswith("Error: ")
    summary = page.get_by_role("alert")
    link = summary.get_by_role("link", name="Choose how we should name you")
    link.focus()
    page.keyboard.press("Enter")
    assert _focused(page) == "credit-name"
    _check(page)

    # Now by keyboard only: Space ticks, arrows choose, Enter sends.
    tab_to(page, "#scopes-timeline")
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert _focused(page) == "scopes-blog"
    page.keyboard.press("Space")
    tab_to(page, "#credit-name")
    page.keyboard.press("ArrowDown")
    assert _focused(page) == "credit-chosen"
    assert page.locator("#credit-chosen").is_checked()
    page.keyboard.press("Tab")
    assert _focused(page) == "interviewee_name"
    page.keyboard.type("Samira Example")
    page.keyboard.press("Tab")
    assert _focused(page) == "display_name"
    page.keyboard.type("Sam")
    page.keyboard.press("Tab")
    assert _focused(page) == "licence-all-rights-reserved"  # the default, already chosen
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    assert page.locator("[id='licence-CC-BY-NC-4.0']").is_checked()
    assert page.locator("#scopes-timeline").is_checked()
    assert page.locator("#scopes-blog").is_checked()
    assert not page.locator("#scopes-social").is_checked()
    with page.expect_navigation() as posted:
        tab_to(page, "button.consent-agree")
        page.keyboard.press("Enter")
    assert posted.value is not None and posted.value.status == 200

    # The private link, for the person: a QR code and the link written out.
    assert page.get_by_role("heading", name="Thank you").is_visible()
    assert page.get_by_role("img", name="QR code of your private link").is_visible()
    link_text = page.locator("#private-link").inner_text().strip()
    assert link_text.startswith(f"{url}/consent/fct_")
    assert "Keep this link." in page.inner_text("main")
    _check(page)

    [saved] = run_async(_consents(live_server.settings.database_url))
    assert saved.scopes == ["timeline", "blog"]
    assert (saved.credit, saved.credit_line, saved.licence) == ("chosen", "Sam", "CC-BY-NC-4.0")
    assert (saved.form_version, saved.form_variant) == (form.version, "easy-read")

    # Back to the volunteer: the upload for this consent.
    _press_on(page, "a:has-text('Upload the interview for this consent')")
    assert page.url == f"{url}/volunteer/upload?slot={setup.slot_id}&consent={saved.id}"
    assert f"linked to consent number {saved.id}" in page.inner_text("main")
    assert page.locator("#upload").get_attribute("data-consent") == str(saved.id)

    # The upload goes with the consent (upload.js sends it in the tus metadata).
    page.get_by_label("Choose or record a video").set_input_files(
        {"name": "sam.mp4", "mimeType": "video/mp4", "buffer": b"\0" * 4096}
    )
    page.get_by_role("button", name="Upload", exact=True).click()
    page.locator("#upload-done").wait_for()
    [linked] = run_async(_consents(live_server.settings.database_url))
    assert len(linked.clip_ids) == 1

    # The clip's own page for linking more people's consent.
    page.goto(f"{url}/volunteer/clips")
    _press_on(page, "a.clip-consent")
    assert page.url == f"{url}/volunteer/consent/link?clip={linked.clip_ids[0]}"
    assert f"Number {saved.id}: Sam" in page.inner_text("main")
    _check(page)


def test_the_plain_form_with_mistakes_is_accessible(
    live_server: LiveServer, setup: Setup, page: Page
) -> None:
    url = live_server.url
    page.goto(setup.invite_url)
    page.goto(f"{url}/volunteer/consent/new?slot={setup.slot_id}&variant=plain")
    page.locator("#credit-name").check()
    page.locator("#method-spoken").check()
    page.locator("#expires_on").fill("2001-01-01")
    with page.expect_navigation() as posted:
        page.get_by_role("button", name="I agree to these choices").click()
    assert posted.value is not None and posted.value.status == 422
    messages = page.get_by_role("alert").get_by_role("link").all_inner_texts()
    assert messages == [
        "Write your name, or choose another way to be named",
        "The end date must be after today. Leave it empty if your permission does not end",
        "Write where in the film you say yes, like 1:30",
    ]
    assert page.locator("input[name=form_variant]").get_attribute("value") == "plain"
    _check(page)
