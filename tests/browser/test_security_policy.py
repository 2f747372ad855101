"""The main pages under the real Content-Security-Policy in Chromium: nothing they need
is blocked (no violation reported, no console complaint) and axe-core stays clean."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from playwright.sync_api import ConsoleMessage, Page, expect

from festival.accounts.service import new_api_token
from festival.crew import service as crew
from festival.crew.schemas import InviteIn
from festival.db.engine import Database
from tests.browser.conftest import LiveServer, assert_accessible, wait_for
from tests.browser.test_clip_pages import SLUG, _set_up
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async

#: Collects every violation the page reports, from before its first script runs.
LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__violations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


async def _more(server: LiveServer) -> tuple[int, str]:
    """A published session, and an invite link for a volunteer."""
    db = Database.open(server.settings.database_url)
    try:
        token = await new_api_token(db, STAFF_EMAIL)
        invited = await crew.invite(
            db, SLUG, InviteIn(email="bo@crew.test", name="Bo Example"), server.url
        )
    finally:
        await db.close()
    api = f"{server.url}/api/v1/festivals/{SLUG}"
    auth = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(headers=auth) as http:
        venue = (await http.post(f"{api}/venues", json={"name": "Main Hall"})).json()
        room = (
            await http.post(f"{api}/rooms", json={"venue_id": venue["id"], "name": "R1"})
        ).json()
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        made = await http.post(
            f"{api}/sessions",
            json={
                "title": "Opening circle",
                "kind": "talk",
                "room_id": room["id"],
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=1)).isoformat(),
                "status": "published",
            },
        )
        assert made.status_code == 201, made.text
    return int(made.json()["id"]), invited.invite_url


def _visit(page: Page, url: str, complaints: list[str]) -> None:
    response = page.goto(url)
    assert response is not None and response.status < 400, (url, response and response.status)
    assert "script-src 'self'" in (response.headers.get("content-security-policy") or "")
    page.wait_for_load_state("load")
    violations = page.evaluate("window.__violations")
    assert violations == [], (url, violations)
    assert complaints == [], (url, complaints)
    assert_accessible(page)


def test_the_main_pages_run_under_the_policy_without_a_violation(
    live_server: LiveServer, page: Page, tmp_path: Path
) -> None:
    world = run_async(_set_up(live_server, tmp_path))
    session_id, invite_url = run_async(_more(live_server))
    complaints: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text or "Refused to" in message.text:
            complaints.append(message.text)

    page.on("console", on_console)
    page.add_init_script(LISTEN)
    base = live_server.url
    for path in (
        "/",
        f"/festivals/{SLUG}",
        f"/festivals/{SLUG}/programme",
        f"/festivals/{SLUG}/sessions/{session_id}",
        f"/festivals/{SLUG}/timeline",
        f"/clips/{world.clip_id}",
        f"/clips/{world.clip_id}/transcript",
        f"/clips/{world.clip_id}/player",
        world.review_url.removeprefix(base),
        "/staff/sign-in",
    ):
        _visit(page, base + path, complaints)
    # The clip page's video, poster and captions load under media-src and img-src.
    page.goto(f"{base}/clips/{world.clip_id}")
    wait_for(page, "document.querySelector('video').readyState >= 1")
    assert page.evaluate("window.__violations") == []

    # Staff, signed in through the form.
    page.goto(f"{base}/staff/sign-in")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    for path in ("/staff", f"/staff/festivals/{SLUG}/review", f"/staff/festivals/{SLUG}/clips"):
        _visit(page, base + path, complaints)

    # A volunteer, through their invite link: their day and the upload page.
    page.context.clear_cookies()
    page.goto(invite_url)
    expect(page).to_have_url(f"{base}/volunteer")
    for path in ("/volunteer", "/volunteer/upload", "/volunteer/clips"):
        _visit(page, base + path, complaints)
    # The uploader's own script ran (its file picker is enhanced), so it was not blocked.
    page.goto(f"{base}/volunteer/upload")
    wait_for(page, "typeof window.tus === 'object'")
    assert page.evaluate("window.__violations") == [] and complaints == []
