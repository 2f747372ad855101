"""The whole journey on a 360 px phone: consent captured, interview uploaded, the person
filmed watches and approves it, staff publish it, the person takes consent back, and the
interview is gone from every public address at once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import msgspec
import pytest
from playwright.sync_api import Browser, Page

from festival.accounts.service import create_or_update_staff
from festival.consent import service as consent
from festival.crew import service as crew
from festival.crew.schemas import AssignIn, AvailabilityIn, InviteIn, SlotIn, TrainingIn, Window
from festival.db.engine import Database
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn, RoomIn, VenueIn
from tests.browser.conftest import PHONE, LiveServer, assert_accessible
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async
from tests.media import clips as make

SLUG = "journey-week"
SRT = b"1\n00:00:00,000 --> 00:00:01,500\nThis is my story.\n"


class World(msgspec.Struct):
    invite_url: str
    token: str
    slot_id: int


async def _set_up(url: str, base_url: str) -> World:
    db = Database.open(url)
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Journey Week",
                starts_on=now.date() - timedelta(days=1),
                ends_on=now.date() + timedelta(days=2),
            ),
        )
        venue = await programme.create_venue(db, SLUG, VenueIn(name="Community Hub"))
        hall = await programme.create_room(db, SLUG, RoomIn(venue_id=venue.id, name="Hall"))
        ray = await crew.invite(db, SLUG, InviteIn(email="ray@crew.test", name="Ray"), base_url)
        await crew.add_training(
            db, SLUG, ray.volunteer.id, TrainingIn(trained_on=now.date(), trainer="Sam")
        )
        await crew.set_availability_for(
            db,
            SLUG,
            ray.volunteer.id,
            AvailabilityIn(
                windows=[
                    Window(starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=8))
                ]
            ),
        )
        slot = await crew.create_slot(
            db,
            SLUG,
            SlotIn(
                starts_at=now + timedelta(minutes=30),
                ends_at=now + timedelta(hours=1),
                room_id=hall.id,
            ),
        )
        await crew.assign(db, SLUG, slot.id, AssignIn(volunteer_id=ray.volunteer.id))
        return World(invite_url=ray.invite_url, token=ray.token, slot_id=slot.id)
    finally:
        await db.close()


async def _clip_ids(url: str) -> list[int]:
    db = Database.open(url)
    try:
        return [c for item in await consent.list_consents(db, SLUG) for c in item.clip_ids]
    finally:
        await db.close()


def _wait_until_ready(base: str, token: str, clip_id: int) -> None:
    deadline = time.monotonic() + 90
    while True:
        clip = httpx.get(
            f"{base}/api/v1/clips/{clip_id}", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if clip["state"] == "ready":
            return
        assert clip["state"] == "processing", clip
        assert time.monotonic() < deadline, "the clip never became ready"
        time.sleep(0.5)


@pytest.fixture
def world(live_server: LiveServer) -> World:
    return run_async(_set_up(live_server.settings.database_url, live_server.url))


def test_consent_to_publication_to_withdrawal_on_a_phone(
    live_server: LiveServer, world: World, page: Page, browser: Browser, tmp_path: Path
) -> None:
    base = live_server.url
    # The volunteer signs in and hands the phone over: the person chooses.
    page.goto(world.invite_url)
    page.goto(f"{base}/volunteer/consent/new?slot={world.slot_id}")
    page.locator("#scopes-timeline").check()
    page.locator("#scopes-blog").check()
    page.locator("#credit-chosen").check()
    page.locator("#display_name").fill("Sam")
    with page.expect_navigation():
        page.get_by_role("button", name="I agree to these choices").click()
    private_link = page.locator("#private-link").inner_text().strip()
    assert private_link.startswith(f"{base}/consent/fct_")

    # Back to the volunteer, who uploads the interview with this consent.
    with page.expect_navigation():
        page.get_by_role("link", name="Upload the interview for this consent").click()
    video = make.portrait_h264_mp4(tmp_path / "sam.mp4")
    page.get_by_label("Choose or record a video").set_input_files(str(video))
    page.get_by_role("button", name="Upload", exact=True).click()
    page.locator("#upload-done").wait_for(timeout=60_000)
    [clip_id] = run_async(_clip_ids(live_server.settings.database_url))
    _wait_until_ready(base, world.token, clip_id)
    captions = httpx.put(
        f"{base}/api/v1/clips/{clip_id}/captions",
        content=SRT,
        headers={"Authorization": f"Bearer {world.token}"},
    )
    assert captions.status_code == 200, captions.text

    # The person filmed, on their own phone, watches it and says it is fine.
    theirs = browser.new_context(viewport=PHONE, locale="en-GB")
    person = theirs.new_page()
    person.goto(private_link)
    assert person.locator("video").count() == 1
    assert_accessible(person)
    with person.expect_navigation():
        person.get_by_role("button", name="It is fine, publish it").click()

    # Staff publish it from the review queue.
    staff = browser.new_context(viewport=PHONE, locale="en-GB").new_page()
    staff.goto(f"{base}/staff/festivals/{SLUG}/review")
    staff.get_by_label("Email address").fill(STAFF_EMAIL)
    staff.get_by_label("Password").fill(STAFF_PASSWORD)
    with staff.expect_navigation():
        staff.get_by_role("button", name="Sign in").click()
    with staff.expect_navigation():
        staff.get_by_role("button", name="Publish").click()
    public = f"{base}/clips/{clip_id}"
    assert httpx.get(public).status_code == 200
    assert httpx.get(f"{base}/media/clips/{clip_id}/web.mp4").status_code == 200
    anyone = browser.new_context(viewport=PHONE).new_page()
    anyone.goto(public)
    assert "Sam" in anyone.inner_text("main")
    assert_accessible(anyone)

    # The person changes their mind: gone from every public address at once.
    person.goto(private_link)
    with person.expect_navigation():
        person.get_by_role("link", name="Take my consent back").click()
    with person.expect_navigation():
        person.get_by_role("button", name="Yes, take my consent back").click()
    assert_accessible(person)
    assert httpx.get(public).status_code == 410
    for name in ("web.mp4", "poster.jpg", "captions.vtt"):
        assert httpx.get(f"{base}/media/clips/{clip_id}/{name}").status_code in (404, 410)
    gone = anyone.goto(public)
    assert gone is not None and gone.status == 410
    assert "taken down" in anyone.inner_text("main")
    assert_accessible(anyone)

    # Within a minute the files themselves are deleted by the job worker.
    folder = live_server.settings.media_root / "clips" / str(clip_id)
    deadline = time.monotonic() + 60
    while folder.exists() and any(folder.iterdir()):
        assert time.monotonic() < deadline, "the media files were not deleted"
        time.sleep(0.5)
    for context in (theirs, staff.context, anyone.context):
        context.close()
