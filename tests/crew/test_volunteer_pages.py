"""The volunteer's phone pages over HTTP: the invite link, the day page and its forms."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import icalendar
import pytest
import sqlalchemy as sa

from festival.db.engine import Database
from festival.db.tables import volunteer_tokens
from tests.crew.helpers import SLUG, Client, Crew

_CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


def _path(url: str) -> str:
    return urlsplit(url).path


def _csrf(page: str) -> str:
    match = _CSRF.search(page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


async def _sign_in(crew: Crew, volunteer: dict[str, Any]) -> str:
    """Open the invite link as a browser would; returns the day page's HTML."""
    opened = await crew.client.get(_path(volunteer["url"]))
    assert opened.status_code == 200, opened.text
    assert opened.url.path == "/volunteer"
    return opened.text


async def _submit(crew: Crew, page: str, action: str, data: dict[str, str] | None = None) -> Any:
    """Post a form found on ``page`` with the token the page carries, not following the
    redirect, so the test sees the 303 (or the page shown again)."""
    assert f'action="{action}"' in page, f"no form posts to {action}"
    body = {"_csrf_token": _csrf(page), **(data or {})}
    return await crew.client.post(action, data=body, follow_redirects=False)


async def _slot_status(crew: Crew, slot_id: int, volunteer_id: int) -> str:
    found = await crew.client.get(f"{crew.base}/slots/{slot_id}", headers=crew.staff)
    assert found.status_code == 200
    held = [a for a in found.json()["assignments"] if a["volunteer_id"] == volunteer_id]
    return str(held[0]["status"])


def _assignment_id(slot: dict[str, Any], volunteer_id: int) -> int:
    return int(next(a["id"] for a in slot["assignments"] if a["volunteer_id"] == volunteer_id))


async def test_invite_link_signs_in_and_shows_the_next_slot(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test", name="Lee")
    soon = await crew.slot(0.5, 1.5, room="N2")
    later = await crew.slot(5, 6, room="S1")
    await crew.assign(soon["id"], lee["id"])
    await crew.assign(later["id"], lee["id"])

    opened = await crew.client.get(_path(lee["url"]), follow_redirects=False)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/volunteer"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith("festival_session=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # the test base URL is plain http

    day = await crew.client.get("/volunteer")
    assert day.status_code == 200
    text = day.text
    assert "Hello, Lee." in text
    nxt, others = text.index("Your next slot"), text.index("Your other slots")
    assert nxt < text.index("N2") < others < text.index("S1")
    assert "Assigned, waiting for reply" in text
    assert "The consent cards" in text
    assert f"/volunteer/upload?slot={soon['id']}" in text


async def test_anonymous_visitors_are_told_to_open_their_invite_link(crew: Crew) -> None:
    day = await crew.client.get("/volunteer")
    assert day.status_code == 401
    assert "Open the invite link festival staff sent you" in day.text


async def test_expired_and_revoked_invites_show_a_plain_page(crew: Crew, db: Database) -> None:
    mo = await crew.volunteer("mo@crew.test")
    async with db.write() as conn:
        await conn.execute(
            sa.update(volunteer_tokens).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    expired = await crew.client.get(_path(mo["url"]), follow_redirects=False)
    assert expired.status_code == 401
    assert "text/html" in expired.headers["content-type"]
    assert "This invite link has expired." in expired.text
    assert "Ask festival staff to send you a new invite link." in expired.text
    assert "festival_session" not in expired.headers.get("set-cookie", "")
    assert "/staff/sign-in" not in expired.text

    nia = await crew.volunteer("nia@crew.test")
    revoked = await crew.client.post(
        f"{crew.base}/volunteers/{nia['id']}/revoke", headers=crew.staff
    )
    assert revoked.status_code == 204
    refused = await crew.client.get(_path(nia["url"]), follow_redirects=False)
    assert refused.status_code == 401
    assert "withdrawn" in refused.text
    assert "Ask festival staff to send you a new invite link." in refused.text

    unknown = await crew.client.get(
        "/volunteers/invite/fvt_nothing-like-this", follow_redirects=False
    )
    assert unknown.status_code == 401
    assert "This link does not work" in unknown.text


async def test_accept_and_check_in_through_the_forms(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test")
    slot = await crew.assign((await crew.slot(0.5, 1.5))["id"], lee["id"])
    assignment = _assignment_id(slot, lee["id"])
    page = await _sign_in(crew, lee)

    accepted = await _submit(crew, page, f"/volunteer/assignments/{assignment}/accept")
    assert accepted.status_code == 303
    assert accepted.headers["location"] == "/volunteer?done=accepted"
    page = (await crew.client.get("/volunteer?done=accepted")).text
    assert 'role="status">You have accepted the slot. Thank you.' in page
    assert await _slot_status(crew, slot["id"], lee["id"]) == "accepted"
    assert f"/volunteer/assignments/{assignment}/accept" not in page  # nothing left to accept

    checked = await _submit(crew, page, f"/volunteer/assignments/{assignment}/check-in")
    assert checked.status_code == 303
    assert checked.headers["location"] == "/volunteer?done=checked-in"
    page = (await crew.client.get("/volunteer?done=checked-in")).text
    assert "Checked in" in page
    assert f"/volunteer/assignments/{assignment}/check-in" not in page
    assert await _slot_status(crew, slot["id"], lee["id"]) == "checked_in"


async def test_check_in_too_early_shows_why_with_the_status_of_the_error(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test")
    slot = await crew.assign((await crew.slot(5, 6))["id"], lee["id"])
    assignment = _assignment_id(slot, lee["id"])
    page = await _sign_in(crew, lee)
    assert f"/volunteer/assignments/{assignment}/check-in" not in page
    assert "You can check in from an hour before the slot starts." in page

    early = await crew.client.post(
        f"/volunteer/assignments/{assignment}/check-in", data={"_csrf_token": _csrf(page)}
    )
    assert early.status_code == 409
    assert "There is a problem" in early.text
    assert "Check-in opens an hour before the slot" in early.text
    assert "Your next slot" in early.text  # the day page, shown again
    assert await _slot_status(crew, slot["id"], lee["id"]) == "assigned"


async def test_decline_needs_a_reason(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test")
    slot = await crew.assign((await crew.slot(3, 4))["id"], lee["id"])
    assignment = _assignment_id(slot, lee["id"])
    day = await _sign_in(crew, lee)
    decline_path = f"/volunteer/assignments/{assignment}/decline"
    assert f'href="{decline_path}"' in day

    form = await crew.client.get(decline_path)
    assert form.status_code == 200
    assert "Why can you not take this slot?" in form.text

    blank = await _submit(crew, form.text, decline_path, {"reason": "   "})
    assert blank.status_code == 422
    assert "There is a problem" in blank.text
    assert 'href="#reason"' in blank.text
    assert 'id="reason-error"' in blank.text
    assert "Tell festival staff why you cannot take this slot" in blank.text
    assert await _slot_status(crew, slot["id"], lee["id"]) == "assigned"

    done = await _submit(crew, blank.text, decline_path, {"reason": "I have a clash"})
    assert done.status_code == 303
    assert done.headers["location"] == "/volunteer?done=declined"
    assert await _slot_status(crew, slot["id"], lee["id"]) == "declined"
    page = (await crew.client.get("/volunteer?done=declined")).text
    assert "You have declined the slot." in page
    assert "Your reason: I have a clash" in page


async def test_a_volunteer_cannot_answer_for_another_volunteers_slot(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test")
    mo = await crew.volunteer("mo@crew.test")
    slot = await crew.assign((await crew.slot(0.5, 1.5))["id"], mo["id"])
    theirs = _assignment_id(slot, mo["id"])
    page = await _sign_in(crew, lee)

    for action in ("accept", "check-in"):
        refused = await crew.client.post(
            f"/volunteer/assignments/{theirs}/{action}", data={"_csrf_token": _csrf(page)}
        )
        assert refused.status_code == 403
        assert "This is another volunteer&#39;s slot." in refused.text
    declined = await crew.client.post(
        f"/volunteer/assignments/{theirs}/decline",
        data={"_csrf_token": _csrf(page), "reason": "not mine"},
    )
    assert declined.status_code == 403
    assert (await crew.client.get(f"/volunteer/assignments/{theirs}/decline")).status_code == 404
    assert await _slot_status(crew, slot["id"], mo["id"]) == "assigned"


async def test_forms_without_the_csrf_token_are_refused(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test")
    slot = await crew.assign((await crew.slot(0.5, 1.5))["id"], lee["id"])
    await _sign_in(crew, lee)
    forged = await crew.client.post(
        f"/volunteer/assignments/{_assignment_id(slot, lee['id'])}/accept"
    )
    assert forged.status_code == 403
    assert await _slot_status(crew, slot["id"], lee["id"]) == "assigned"


async def test_self_sign_up_and_leaving(crew: Crew) -> None:
    rules = await crew.client.patch(
        f"{crew.base}/crew-rules", json={"self_signup": True}, headers=crew.staff
    )
    assert rules.status_code == 200
    lee = await crew.volunteer("lee@crew.test")
    slot = await crew.slot(5, 6, room="S1")
    page = await _sign_in(crew, lee)
    assert "Open slots you can take" in page

    taken = await _submit(crew, page, f"/volunteer/slots/{slot['id']}/sign-up")
    assert taken.headers["location"] == "/volunteer?done=signed-up"
    page = (await crew.client.get("/volunteer")).text
    assert "There are no open slots at the moment." in page
    assert await _slot_status(crew, slot["id"], lee["id"]) == "accepted"

    left = await _submit(crew, page, f"/volunteer/slots/{slot['id']}/leave")
    assert left.headers["location"] == "/volunteer?done=left"
    again = await crew.client.post(
        f"/volunteer/slots/{slot['id']}/leave", data={"_csrf_token": _csrf(page)}
    )
    assert again.status_code == 404
    assert "There is a problem" in again.text


async def test_availability_form_saves_windows_in_the_festival_time(crew: Crew) -> None:
    oz = await crew.volunteer("oz@crew.test", free=None)
    await _sign_in(crew, oz)
    form = await crew.client.get("/volunteer/availability")
    assert form.status_code == 200
    assert form.text.count('name="windows-') == 9  # three blank rows: day, from, to
    today = datetime.now(UTC).date()
    tomorrow = today + timedelta(days=1)

    saved = await _submit(
        crew,
        form.text,
        "/volunteer/availability",
        {
            "windows-0-day": today.isoformat(),
            "windows-0-starts_at": "10:00",
            "windows-0-ends_at": "12:00",
            "windows-1-day": today.isoformat(),
            "windows-1-starts_at": "11:30",
            "windows-1-ends_at": "13:00",
            "windows-2-day": tomorrow.isoformat(),
            "windows-2-starts_at": "22:00",
            "windows-2-ends_at": "00:00",
        },
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"] == "/volunteer?done=availability"
    api = await crew.client.get("/api/v1/volunteer/availability", headers=oz["headers"])
    windows = api.json()["windows"]
    assert [(w["starts_at"], w["ends_at"]) for w in windows] == [
        (f"{today}T10:00:00Z", f"{today}T13:00:00Z"),
        (f"{tomorrow}T22:00:00Z", f"{tomorrow + timedelta(days=1)}T00:00:00Z"),
    ]

    form = await crew.client.get("/volunteer/availability")
    assert 'value="13:00"' in form.text
    assert 'name="windows-1-remove"' in form.text
    assert 'name="windows-2-remove"' not in form.text  # blank rows have nothing to remove
    removed = await _submit(
        crew,
        form.text,
        "/volunteer/availability",
        {
            "windows-0-day": today.isoformat(),
            "windows-0-starts_at": "10:00",
            "windows-0-ends_at": "13:00",
            "windows-0-saved": "true",
            "windows-1-day": tomorrow.isoformat(),
            "windows-1-starts_at": "22:00",
            "windows-1-ends_at": "00:00",
            "windows-1-saved": "true",
            "windows-1-remove": "true",
        },
    )
    assert removed.status_code == 303
    api = await crew.client.get("/api/v1/volunteer/availability", headers=oz["headers"])
    assert len(api.json()["windows"]) == 1


async def test_availability_refuses_an_end_before_the_start(crew: Crew) -> None:
    oz = await crew.volunteer("oz@crew.test")
    await _sign_in(crew, oz)
    before = (await crew.client.get("/api/v1/volunteer/availability", headers=oz["headers"])).json()
    form = await crew.client.get("/volunteer/availability")
    today = datetime.now(UTC).date().isoformat()
    wrong = await _submit(
        crew,
        form.text,
        "/volunteer/availability",
        {
            "windows-3-day": today,
            "windows-3-starts_at": "14:00",
            "windows-3-ends_at": "09:00",
            "windows-4-day": today,
            "windows-4-starts_at": "9 o'clock",
            "windows-4-ends_at": "",
        },
    )
    assert wrong.status_code == 422
    text = html.unescape(wrong.text)
    assert "There is a problem" in text
    assert 'href="#windows-3-ends_at"' in text
    assert "Time 4: the ‘to’ time must be after the ‘from’ time" in text
    assert 'id="windows-3-ends_at-error"' in text
    assert 'href="#windows-4-starts_at"' in text
    assert 'href="#windows-4-ends_at"' in text
    assert 'value="14:00"' in text  # what was typed is shown again
    after = (await crew.client.get("/api/v1/volunteer/availability", headers=oz["headers"])).json()
    assert after == before


async def test_the_calendar_link_on_the_page_returns_a_calendar(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test")
    slot = await crew.slot(0.5, 1.5)
    await crew.assign(slot["id"], lee["id"])
    page = await _sign_in(crew, lee)
    link = re.search(r'id="calendar-url" type="url" readonly value="([^"]+)"', page)
    assert link
    feed_url = html.unescape(link.group(1))
    assert feed_url.startswith(f"http://festival.test/volunteers/calendar/{lee['id']}-")
    assert f'href="webcal://{feed_url.removeprefix("http://")}"' in page

    feed = await crew.client.get(_path(feed_url))
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert len(events) == 1

    renewed = await _submit(crew, page, "/volunteer/calendar-link")
    assert renewed.headers["location"] == "/volunteer?done=calendar"
    page = (await crew.client.get("/volunteer?done=calendar")).text
    assert "The old one no longer works." in page
    assert feed_url not in page
    assert (await crew.client.get(_path(feed_url))).status_code == 404


async def test_profile_form_saves_and_shows_html_as_typed(crew: Crew) -> None:
    lee = await crew.volunteer("lee@crew.test", name="Lee")
    await _sign_in(crew, lee)
    form = await crew.client.get("/volunteer/profile")
    assert 'value="Lee"' in form.text

    bad = await _submit(
        crew, form.text, "/volunteer/profile", {"display_name": "Lee", "phone": "call me"}
    )
    assert bad.status_code == 422
    assert 'href="#phone"' in bad.text
    assert "Enter a phone number using only numbers" in bad.text

    saved = await _submit(
        crew,
        form.text,
        "/volunteer/profile",
        {
            "display_name": "<script>alert(1)</script> Lee",
            "pronouns": "they/them",
            "phone": "+44 7700 900123",
            "access_needs": "A seat between slots",
        },
    )
    assert saved.headers["location"] == "/volunteer?done=profile"
    me = (await crew.client.get("/api/v1/volunteer/me", headers=lee["headers"])).json()
    assert me["pronouns"] == "they/them"
    assert me["access_needs"] == "A seat between slots"
    day = (await crew.client.get("/volunteer")).text
    assert "<script>alert(1)</script>" not in day
    assert "Hello, &lt;script&gt;alert(1)&lt;/script&gt; Lee." in day
    form = (await crew.client.get("/volunteer/profile")).text
    assert "<script>alert(1)</script>" not in form


async def test_staff_are_not_volunteers(crew: Crew) -> None:
    day = await crew.client.get("/volunteer", headers=crew.staff)
    assert day.status_code == 403
    assert SLUG not in day.text


async def test_a_suspended_volunteer_sees_why(crew: Crew) -> None:
    await crew.client.patch(
        f"{crew.base}/crew-rules", json={"self_signup": True}, headers=crew.staff
    )
    lee = await crew.volunteer("lee@crew.test")
    await crew.slot(5, 6)
    paused = await crew.client.patch(
        f"{crew.base}/volunteers/{lee['id']}",
        json={"suspended": True, "suspended_reason": "Training needs a refresher"},
        headers=crew.staff,
    )
    assert paused.status_code == 200
    page = await _sign_in(crew, lee)
    assert "You cannot take slots for now" in page
    assert "They said: Training needs a refresher" in page
    assert "/sign-up" not in page


async def test_volunteer_marks_slots_they_would_like_and_staff_proposals_use_it(
    crew: Crew,
) -> None:
    kit = await crew.volunteer("kit@crew.test", name="Kit")
    await crew.volunteer("oli@crew.test", name="Oli")  # free too; the wish decides
    wanted = await crew.slot(2, 3)
    await crew.client.get(kit["url"].removeprefix("http://festival.test"))
    page = await crew.client.get("/volunteer")
    assert "Slots you would like" in page.text
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    marked = await crew.client.post(
        f"/volunteer/slots/{wanted['id']}/wish",
        data={"_csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert marked.status_code == 303
    page = await crew.client.get("/volunteer?done=wished")
    assert "You would like this slot" in page.text
    assert "Festival staff will see that you would like that slot." in page.text
    proposal = await crew.post("/proposals", {})
    assert [(p["slot_id"], p["volunteer_id"]) for p in proposal["placements"]] == [
        (wanted["id"], kit["id"])
    ]
