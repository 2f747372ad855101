"""The interviewee's private page and the public clip page in a real browser on a 360 px
phone: watch, approve and withdraw with the keyboard alone, no axe-core violations, no
sideways scrolling."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from playwright.sync_api import Page, expect

from festival.accounts.schemas import Identity
from festival.accounts.service import create_or_update_staff
from festival.app import build_clip_services
from festival.clips import service as clips
from festival.consent import service as consent
from festival.consent.schemas import ConsentIn
from festival.crew import service as crew
from festival.crew.schemas import InviteIn
from festival.db.engine import Database
from festival.jobs import Jobs
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn
from tests.browser.conftest import LiveServer, assert_accessible, settle_clips, tab_to, wait_for
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async
from tests.media import clips as make

SLUG = "review-fest"
SRT = b"1\n00:00:00,000 --> 00:00:01,500\nThis is my story, in my words.\n"


class World(msgspec.Struct):
    review_url: str
    clip_id: int


async def _set_up(server: LiveServer, folder: Path) -> World:
    """A festival, a volunteer's captioned clip, and Sam's consent for it."""
    db = Database.open(server.settings.database_url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        today = datetime.now(UTC).date()
        festival = await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Review Festival",
                starts_on=today,
                ends_on=today + timedelta(days=1),
            ),
        )
        ada = await crew.invite(
            db, SLUG, InviteIn(email="ada@crew.test", name="Ada Lovelace"), server.url
        )
        services = build_clip_services(server.settings, db, Jobs(db))
        clip_id = await clips.import_file(
            services,
            make.portrait_h264_mp4(folder / "sam.mp4"),
            festival_id=festival.id,
            volunteer_id=ada.volunteer.id,
            slot_id=None,
            title="Sam on peer support",
        )
        await services.jobs.run_until_idle()
        await settle_clips(db, [clip_id])
        await clips.save_captions(services, clip_id, SRT)
        created = await consent.record_consent(
            db,
            Identity(kind="volunteer", id=ada.volunteer.id),
            SLUG,
            ConsentIn(
                scopes=["timeline", "blog"],
                credit="chosen",
                display_name="Sam",
                interviewee_name="Samira Example",
                form_version=1,
                clip_id=clip_id,
            ),
            server.url,
        )
        return World(review_url=created.review_url, clip_id=clip_id)
    finally:
        await db.close()


async def _publish(server: LiveServer, clip_id: int) -> None:
    db = Database.open(server.settings.database_url)
    try:
        await consent.publish(db, Identity(kind="staff", id=1), SLUG, clip_id)
    finally:
        await db.close()


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_review_approve_and_withdraw_on_a_phone(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    world = run_async(_set_up(live_server, tmp_path))
    review = world.review_url

    # Watch: the page with the player, its poster and captions.
    page.goto(review)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your interview")
    video = page.locator("video")
    expect(video).to_be_visible()
    assert video.evaluate("v => v.textTracks.length") == 1
    assert video.evaluate("v => v.textTracks[0].mode") == "showing"
    wait_for(page, "document.querySelector('video').readyState >= 1")
    _fits(page)
    assert_accessible(page)

    # The change form, and the same form shown again with an error.
    page.goto(f"{review}/change")
    _fits(page)
    assert_accessible(page)
    page.get_by_label("End date (optional)").fill(
        (datetime.now(UTC).date() - timedelta(days=2)).isoformat()
    )
    with page.expect_navigation():
        page.get_by_role("button", name="Save my choices").click()
    expect(page.get_by_role("alert")).to_contain_text("The end date must be after today")
    _fits(page)
    assert_accessible(page)

    # Approve with the keyboard alone.
    page.goto(review)
    tab_to(page, "button:has-text('It is fine, publish it')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("fine to share")
    assert_accessible(page)

    # Published by staff: the public page, with whose story it is.
    run_async(_publish(live_server, world.clip_id))
    page.goto(f"{live_server.url}/clips/{world.clip_id}")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam on peer support")
    expect(page.get_by_text("Ada Lovelace, co-producer")).to_be_visible()
    wait_for(page, "document.querySelector('video').readyState >= 1")
    _fits(page)
    assert_accessible(page)

    # Withdraw with the keyboard alone: the confirmation first, then the calm answer.
    page.goto(review)
    tab_to(page, "a:has-text('Take my consent back')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Take your consent back?")
    _fits(page)
    assert_accessible(page)
    tab_to(page, "button:has-text('Yes, take my consent back')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("You took your consent back")
    expect(page.get_by_role("status")).to_contain_text("taken down")
    expect(page.get_by_text(re.compile(r"^You took your consent back on "))).to_be_visible()
    assert page.locator("video").count() == 0
    _fits(page)
    assert_accessible(page)

    # The public page is gone, respectfully.
    response = page.goto(f"{live_server.url}/clips/{world.clip_id}")
    assert response is not None and response.status == 410
    expect(page.get_by_role("heading", level=1)).to_have_text("This interview has been taken down")
    _fits(page)
    assert_accessible(page)
