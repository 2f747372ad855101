"""The clip page, its transcript page and the caption correction pages in a real browser
on a 360 px phone: captions showing by default, no axe-core violations, no sideways
scrolling, the share link copyable, and captions corrected with the keyboard alone."""

from __future__ import annotations

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

SLUG = "clip-fest"
VTT = b"""WEBVTT

00:00:00.000 --> 00:00:00.900
<v Sam>This is my story.

00:00:00.900 --> 00:00:01.800
Peer suport changed everything.
"""


class World(msgspec.Struct):
    review_url: str
    clip_id: int


async def _set_up(server: LiveServer, folder: Path) -> World:
    """A festival and a captioned clip of Sam's, consented, approved and published."""
    db = Database.open(server.settings.database_url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        today = datetime.now(UTC).date()
        festival = await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG, name="Clip Festival", starts_on=today, ends_on=today + timedelta(days=1)
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
        await clips.save_captions(services, clip_id, VTT)
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
        await consent.approve(db, created.review_url.rsplit("/", 1)[1])
        await consent.publish(db, Identity(kind="staff", id=1), SLUG, clip_id)
        return World(review_url=created.review_url, clip_id=clip_id)
    finally:
        await db.close()


def _fits(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def _captions_showing(page: Page) -> None:
    video = page.locator("video")
    expect(video).to_be_visible()
    wait_for(page, "document.querySelector('video').readyState >= 1")
    assert video.evaluate("v => v.textTracks.length") == 1
    assert video.evaluate("v => v.textTracks[0].mode") == "showing"
    assert video.evaluate("v => v.autoplay || !v.paused") is False


def test_the_clip_page_and_its_transcript_on_a_phone(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    world = run_async(_set_up(live_server, tmp_path))
    clip_url = f"{live_server.url}/clips/{world.clip_id}"
    page.emulate_media(reduced_motion="reduce")
    page.goto(clip_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam on peer support")
    _captions_showing(page)
    expect(page.get_by_text("Ada Lovelace, co-producer")).to_be_visible()

    # The transcript folds open from the keyboard.
    transcript = page.locator("details.clip-transcript")
    tab_to(page, "summary.clip-transcript__summary")
    page.keyboard.press("Enter")
    expect(transcript).to_have_attribute("open", "")
    expect(transcript).to_contain_text("Peer suport changed everything.")

    # The share link: selectable without script; with it, a Copy link button that says
    # it copied (or, where the clipboard is refused, that the link is selected).
    share = page.get_by_label("Link to this interview")
    expect(share).to_have_value(clip_url)
    copy = page.get_by_role("button", name="Copy link")
    expect(copy).to_be_visible()
    tab_to(page, "#copy-link")
    page.keyboard.press("Enter")
    expect(page.locator("#copy-status")).not_to_be_empty()
    _fits(page)
    assert_accessible(page)

    # The transcript page, linked from the clip page.
    with page.expect_navigation():
        page.get_by_role("link", name="Open the transcript on its own page").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sam on peer support")
    expect(page.get_by_text("This is my story. Peer suport changed everything.")).to_be_visible()
    _fits(page)
    assert_accessible(page)

    # Without JavaScript the link is still there to select; no button that cannot work.
    context = page.context.browser
    assert context is not None
    plain = context.new_context(
        viewport={"width": 360, "height": 780}, java_script_enabled=False
    ).new_page()
    try:
        plain.goto(clip_url)
        expect(plain.get_by_label("Link to this interview")).to_have_value(clip_url)
        expect(plain.get_by_role("button", name="Copy link")).to_be_hidden()
    finally:
        plain.context.close()


def _sign_in(page: Page, url: str, target: str) -> None:
    page.goto(f"{url}{target}")
    assert "/staff/sign-in" in page.url
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url == f"{url}{target}"


def test_staff_correct_captions_with_the_keyboard(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    world = run_async(_set_up(live_server, tmp_path))
    target = f"/staff/festivals/{SLUG}/clips/{world.clip_id}/captions"
    _sign_in(page, live_server.url, target)
    expect(page.get_by_role("heading", level=1)).to_have_text("Correct the captions")
    _captions_showing(page)
    _fits(page)
    assert_accessible(page)

    # A mistake first: an empty caption is named in the error summary, which links to it.
    tab_to(page, "#cue-2")
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    tab_to(page, "button:has-text('Save the captions')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("Caption 2 has no words")
    _fits(page)
    assert_accessible(page)
    summary.get_by_role("link", name="Caption 2 has no words. A caption cannot be empty.").click()
    assert page.evaluate("document.activeElement.id") == "cue-2"

    # Then the right words, typed and saved with the keyboard alone (Space on the button).
    page.keyboard.type("Peer support changed everything.")
    tab_to(page, "button:has-text('Save the captions')")
    with page.expect_navigation():
        page.keyboard.press("Space")
    expect(page.get_by_role("status")).to_contain_text("The captions are saved")
    expect(page.get_by_label("Caption 2: 0:00 to 0:02")).to_have_value(
        "Peer support changed everything."
    )
    assert_accessible(page)

    # The public transcript reads the new words.
    page.goto(f"{live_server.url}/clips/{world.clip_id}/transcript")
    expect(page.get_by_text("Peer support changed everything.")).to_be_visible()


def test_the_interviewee_fixes_the_words_on_a_phone(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    world = run_async(_set_up(live_server, tmp_path))
    page.goto(world.review_url)
    tab_to(page, "a:has-text('Fix the words in the captions')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Fix the words in the captions")
    _captions_showing(page)
    _fits(page)
    assert_accessible(page)

    tab_to(page, "#cue-1")
    page.keyboard.press("Control+A")
    page.keyboard.type("This is my own story.")
    tab_to(page, "button:has-text('Save my changes')")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.get_by_role("status")).to_contain_text("Your changes to the words are saved.")
    expect(page.locator("#cue-1")).to_have_value("This is my own story.")
    _fits(page)
    assert_accessible(page)
