"""The staff clip list in a real browser: ready and refused clips, no axe violations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from playwright.sync_api import Page

from festival.accounts.service import create_or_update_staff
from festival.app import build_clip_services
from festival.clips import service as clips
from festival.db.engine import Database
from festival.jobs import Jobs
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn
from tests.browser.conftest import LiveServer, assert_accessible, settle_clips
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async
from tests.media import clips as make


def _set_up(server: LiveServer, folder: Path) -> None:
    async def work() -> None:
        db = Database.open(server.settings.database_url)
        try:
            await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
            today = datetime.now(UTC).date()
            festival = await programme.create_festival(
                db,
                FestivalIn(
                    slug="clip-fest",
                    name="Clip Festival",
                    starts_on=today,
                    ends_on=today + timedelta(days=1),
                ),
            )
            services = build_clip_services(server.settings, db, Jobs(db))
            made = []
            for source, title in (
                (make.portrait_h264_mp4(folder / "good.mp4"), "Sam on <b>peer</b> support"),
                (make.text_as_mp4(folder / "bad.mp4"), "Not a video"),
            ):
                clip_id = await clips.import_file(
                    services,
                    source,
                    festival_id=festival.id,
                    volunteer_id=None,
                    slot_id=None,
                    title=title,
                )
                made.append(clip_id)
            await services.jobs.run_until_idle()
            await settle_clips(db, made)
        finally:
            await db.close()

    run_async(work())


def test_staff_clip_list_is_accessible(live_server: LiveServer, page: Page, tmp_path: Path) -> None:
    _set_up(live_server, tmp_path)
    page.goto(f"{live_server.url}/staff/festivals/clip-fest/clips")
    page.get_by_label("Email address").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    assert page.url.endswith("/staff/festivals/clip-fest/clips")
    assert page.get_by_role("heading", name="Sam on <b>peer</b> support").is_visible()
    assert page.get_by_text("Could not be used").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert_accessible(page)
