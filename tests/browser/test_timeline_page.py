"""The interview timeline in a real browser on a 360 px phone: no axe-core violations,
nothing wider than the screen, filters and search by keyboard alone, and nothing that
moves for someone who asked for reduced motion."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from playwright.sync_api import Page, expect

from festival.app import build_clip_services
from festival.db.engine import Database
from festival.demo.synthetic import add_synthetic_clips
from festival.jobs import Jobs
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn, RoomIn, SessionIn, VenueIn
from tests.browser.conftest import LiveServer, assert_accessible, tab_to
from tests.conftest import run_async

SLUG = "story-fest"


async def _set_up(server: LiveServer) -> None:
    """A festival with two tracks and 30 published interviews."""
    db = Database.open(server.settings.database_url)
    try:
        today = datetime.now(UTC).date()
        await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG, name="Story Festival", starts_on=today, ends_on=today + timedelta(days=1)
            ),
        )
        venue = await programme.create_venue(db, SLUG, VenueIn(name="Town Hall"))
        room = await programme.create_room(db, SLUG, RoomIn(venue_id=venue.id, name="Main room"))
        for day, (title, track) in enumerate(
            (("Listening circle", "Lived experience"), ("Commissioners' panel", "Commissioning"))
        ):
            starts = datetime.combine(today + timedelta(days=day), time(10), UTC)
            await programme.create_session(
                db,
                SLUG,
                SessionIn(
                    title=title,
                    kind="talk",
                    room_id=room.id,
                    starts_at=starts,
                    ends_at=starts + timedelta(hours=6),
                    track=track,
                    status="published",
                ),
            )
        await add_synthetic_clips(build_clip_services(server.settings, db, Jobs(db)), SLUG, 30)
    finally:
        await db.close()


def _fits_the_phone(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 360


def test_timeline_reads_well_on_a_phone_and_filters_by_keyboard(
    page: Page, live_server: LiveServer, tmp_path: Path
) -> None:
    run_async(_set_up(live_server))
    page.emulate_media(reduced_motion="reduce")
    page.goto(f"{live_server.url}/festivals/{SLUG}/timeline")
    expect(page.get_by_role("heading", level=1)).to_have_text("Interviews")
    expect(page.locator(".interview")).to_have_count(20)
    assert_accessible(page)
    _fits_the_phone(page)
    assert page.evaluate("document.getAnimations().length") == 0
    # Stills load lazily and have room kept for them, so the page does not jump.
    still = page.locator(".interview img").first
    assert still.get_attribute("loading") == "lazy" and still.get_attribute("height")

    # Choose a track with the keyboard, then show the interviews.
    tab_to(page, "#track")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    tab_to(page, "button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**track=Lived+experience**")
    count = page.locator(".interview").count()
    assert 0 < count < 30
    for context in page.locator(".interview__context").all_text_contents():
        assert "Listening circle" in context
    assert_accessible(page)

    # Search from the keyboard.
    page.goto(f"{live_server.url}/festivals/{SLUG}/timeline")
    tab_to(page, "#q")
    page.keyboard.type("recovery college")
    page.keyboard.press("Enter")
    page.wait_for_url("**q=recovery+college**")
    expect(page.locator(".results-count")).to_contain_text("Showing")
    titles = page.locator(".interview__title").all_text_contents()
    assert titles, "the made-up interviews include some about the recovery college"
    for title in titles:
        assert "recovery college" in title.lower()

    # The next page is one link away.
    page.goto(f"{live_server.url}/festivals/{SLUG}/timeline")
    tab_to(page, "a[rel=next]")
    page.keyboard.press("Enter")
    page.wait_for_url("**cursor=**")
    expect(page.locator(".interview")).to_have_count(10)
    assert_accessible(page)


def test_a_bad_filter_is_explained_on_the_page(page: Page, live_server: LiveServer) -> None:
    run_async(_set_up(live_server))
    response = page.goto(f"{live_server.url}/festivals/{SLUG}/timeline?day=someday")
    assert response is not None and response.status == 400
    expect(page.locator(".error-summary")).to_contain_text("a date like")
    expect(page).to_have_title("Error: Interviews – Story Festival – Festival")
    assert_accessible(page)
    _fits_the_phone(page)
