"""The staff consent pages in a real browser on a 360 px phone: no axe-core violations, no
sideways scrolling, and a clip published by keyboard alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page

from festival.accounts.schemas import Identity
from festival.accounts.service import create_or_update_staff
from festival.app import build_clip_services
from festival.clips import service as clips
from festival.consent import service as consent
from festival.consent.schemas import ConsentIn, Scope
from festival.db.engine import Database
from festival.jobs import Jobs
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn
from tests.browser.conftest import LiveServer, assert_accessible, settle_clips, tab_to
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async
from tests.media import clips as make

SLUG = "review-fest"
BASE = f"/staff/festivals/{SLUG}"
SRT = b"1\n00:00:00,000 --> 00:00:01,000\nHello, I am Sam.\n"


@dataclass
class World:
    url: str
    database_url: str
    ready: int  # consented, approved and captioned: publish it by keyboard
    blocked: int  # consented, not yet approved, no captions
    blocked_consent: int
    unconsented: int
    withdrawn: int
    published: int


async def _set_up(server: LiveServer, folder: Path) -> World:
    """Clips in every state the queue shows, made through the services as the API would."""
    db = Database.open(server.settings.database_url)
    try:
        staff_id = await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        staff = Identity(kind="staff", id=staff_id)
        start = datetime.now(UTC).date()
        festival = await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Review Festival",
                starts_on=start,
                ends_on=start + timedelta(days=1),
                timezone="Europe/London",
            ),
        )
        services = build_clip_services(server.settings, db, Jobs(db))
        ids: dict[str, int] = {}
        for number, (key, title) in enumerate(
            (
                ("ready", "Sam on peer support"),
                ("blocked", "Jo on being a carer"),
                ("unconsented", ""),
                ("withdrawn", "Ravi on the day centre"),
                ("published", "Lee on <b>co-production</b>"),
            )
        ):
            source = make.portrait_h264_mp4(folder / f"{key}.mp4", seconds=1.0 + number / 10)
            ids[key] = await clips.import_file(
                services,
                source,
                festival_id=festival.id,
                volunteer_id=None,
                slot_id=None,
                title=title,
            )
        await services.jobs.run_until_idle()
        await settle_clips(db, list(ids.values()))

        async def consented(key: str, scopes: list[Scope], *, approve: bool, captions: bool) -> int:
            created = await consent.record_consent(
                db,
                staff,
                SLUG,
                ConsentIn(
                    scopes=scopes,
                    credit="chosen",
                    display_name=f"{key.capitalize()} person",
                    interviewee_name=f"{key.capitalize()} Fullname",
                    form_version=1,
                    clip_id=ids[key],
                ),
                server.url,
            )
            if approve:
                await consent.approve(db, created.review_url.rsplit("/", 1)[1])
            if captions:
                await clips.save_captions(services, ids[key], SRT)
            return created.consent.id

        await consented("ready", ["timeline", "blog"], approve=True, captions=True)
        blocked_consent = await consented("blocked", ["research"], approve=False, captions=False)
        gone = await consented("withdrawn", ["timeline"], approve=True, captions=True)
        await consent.withdraw_for(db, services.jobs, staff, SLUG, gone)
        await consented("published", ["timeline", "social"], approve=True, captions=True)
        await consent.publish(db, staff, SLUG, ids["published"])
        await services.jobs.run_until_idle()
    finally:
        await db.close()
    return World(
        url=server.url,
        database_url=server.settings.database_url,
        blocked_consent=blocked_consent,
        **ids,
    )


@pytest.fixture
def world(live_server: LiveServer, tmp_path: Path) -> World:
    return run_async(_set_up(live_server, tmp_path))


def _check(page: Page) -> None:
    """No axe-core violations, no sideways scrolling at 360 px, one main heading."""
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


def _published(world: World, clip_id: int) -> bool:
    async def read() -> bool:
        db = Database.open(world.database_url)
        try:
            items = await consent.queue(db, SLUG)
        finally:
            await db.close()
        return next(i for i in items if i.clip_id == clip_id).published

    return run_async(read())


def test_the_review_queue_is_accessible_with_clips_in_every_state(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/review")
    blocked = page.locator(f"#clip-{world.blocked}")
    assert blocked.get_by_text("Someone in it has not agreed to").is_visible()
    assert blocked.get_by_text("It has no captions yet.").is_visible()
    assert blocked.get_by_role("button").count() == 0
    unconsented = page.locator(f"#clip-{world.unconsented}")
    assert unconsented.get_by_text(re.compile(r"^Will be deleted on .+ unless someone consents"))
    assert page.locator(f"#clip-{world.withdrawn}").get_by_text("Taken down").first.is_visible()
    published = page.locator(f"#clip-{world.published}")
    assert published.get_by_role("heading", name="Lee on <b>co-production</b>").is_visible()
    assert published.get_by_role("button", name=re.compile("^Take off public view")).is_visible()
    _check(page)

    page.get_by_role("link", name=re.compile(r"^Taken down")).click()
    page.wait_for_url(re.compile(r"show=taken-down$"))
    _check(page)


def test_publish_by_keyboard_alone(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/review")
    button = f"#clip-{world.ready} button[type=submit]"
    assert page.locator(button).inner_text().startswith("Publish")
    tab_to(page, button, limit=200)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("status").inner_text().startswith("The clip has been published.")
    assert page.url.endswith(f"#clip-{world.ready}")
    assert _published(world, world.ready)
    take_off = page.locator(f"#clip-{world.ready}").get_by_role(
        "button", name=re.compile("^Take off public view")
    )
    assert take_off.is_visible()
    _check(page)


def test_a_consent_and_its_actions_are_accessible(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/consents")
    _check(page)
    page.get_by_role("link", name=f"Consent {world.blocked_consent}", exact=True).click()
    page.wait_for_url(re.compile(rf"/consents/{world.blocked_consent}$"))
    assert page.get_by_text("Blocked Fullname").is_visible()
    _check(page)

    page.get_by_role("link", name="Withdraw on their behalf").click()
    page.wait_for_url(re.compile(r"/withdraw$"))
    assert page.get_by_text("This cannot be undone.").is_visible()
    _check(page)

    page.go_back()
    page.get_by_role("link", name="Send a new private link").click()
    _check(page)
    with page.expect_navigation():
        page.get_by_role("button", name="Make a new link").click()
    link = page.get_by_label(f"Private link for consent {world.blocked_consent}")
    assert link.input_value().startswith(f"{world.url}/consent/fct_")
    assert page.get_by_role("img", name="QR code of the private link").is_visible()
    _check(page)


def test_the_audit_log_and_the_rules_are_accessible(world: World, page: Page) -> None:
    _sign_in(page, world.url, f"{BASE}/audit")
    assert page.get_by_text("Consent withdrawn by staff, on their behalf").is_visible()
    assert "Fullname" not in page.content()
    _check(page)
    page.get_by_label("Clip number").fill("abc")
    with page.expect_navigation():
        page.get_by_role("button", name="Show events").click()
    assert page.get_by_role("alert").is_visible()
    _check(page)

    page.goto(f"{world.url}{BASE}/publication-rules")
    _check(page)
    page.get_by_label("Days before a clip nobody has consented to is deleted").fill("0")
    with page.expect_navigation():
        page.get_by_role("button", name="Save the rules").click()
    assert page.get_by_role("alert").is_visible()
    _check(page)
