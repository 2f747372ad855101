"""Staff programme pages, driven as a browser would: signed in through the form, every
change posted as a form with its CSRF token, and read back through the JSON API."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.accounts.service import create_or_update_staff
from festival.db.engine import Database
from festival.errors import Invalid
from festival.programme import forms
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD

Client = AsyncTestClient[Litestar]
SLUG = "coproduction-week-2019"
BASE = f"/staff/festivals/{SLUG}"
API = f"/api/v1/festivals/{SLUG}"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
TITLE = "Opening: what co-production means"


async def csrf_token(client: Client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def submit(client: Client, path: str, data: dict[str, Any]) -> httpx.Response:
    """Open the form at ``path`` and post ``data`` with the token it carries."""
    token = await csrf_token(client, path)
    return await client.post(path, data={**data, "_csrf_token": token}, follow_redirects=False)


def saved(response: httpx.Response, key: str, to: str = BASE) -> None:
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"{to}?saved={key}"


def text(response: httpx.Response) -> str:
    return unescape(response.text)


@pytest.fixture
async def staff(client: Client, db: Database) -> Client:
    """The client, signed in through the sign-in form."""
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
    token = await csrf_token(client, "/staff/sign-in?next=/staff")
    page = await client.post(
        "/staff/sign-in",
        data={
            "_csrf_token": token,
            "email": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
            "next": "/staff",
        },
    )
    assert page.status_code == 200, page.text
    assert str(page.url).endswith("/staff")
    assert "Staff dashboard" in page.text
    return client


def session_form(room_id: int, **extra: str) -> dict[str, str]:
    form = {
        "title": TITLE,
        "summary": "Why we make the festival together.",
        "kind": "talk",
        "track": "Co-production",
        "room_id": str(room_id),
        "day": "2019-07-01",
        "starts_at": "10:00",
        "ends_at": "11:00",
        "language": "en",
        "access_notes": "",
        "status": "published",
        "co_producers-0-person_id": "",
        "co_producers-0-role": "experience",
        "co_producers-1-person_id": "",
        "co_producers-1-role": "experience",
        "co_producers-2-person_id": "",
        "co_producers-2-role": "experience",
    }
    form.update(extra)
    return form


async def build(staff: Client) -> dict[str, int]:
    """A festival, a venue, a room and a person, all made through the staff forms."""
    saved(
        await submit(
            staff,
            "/staff/festivals/new",
            {
                "name": "Co-production Week 2019",
                "slug": SLUG,
                "starts_on": "2019-07-01",
                "ends_on": "2019-07-05",
                "timezone": "Europe/London",
                "description": "A week of working as equals.",
            },
        ),
        "festival-created",
    )
    saved(
        await submit(
            staff,
            f"{BASE}/venues/new",
            {"name": "Kentish Town Community Hub", "address": "1 Hub Road", "directions": ""},
        ),
        "venue-added",
    )
    venues = (await staff.get(f"{API}/venues")).json()
    saved(
        await submit(
            staff,
            f"{BASE}/rooms/new",
            {
                "venue_id": str(venues[0]["id"]),
                "name": "Main hall",
                "capacity": "120",
                "join_url": "",
                "step_free": "true",
                "hearing_loop": "true",
                "access_notes": "Lift to the first floor.",
            },
        ),
        "room-added",
    )
    saved(
        await submit(
            staff, f"{BASE}/people/new", {"name": "Ann Lee", "organisation": "Peer Network"}
        ),
        "person-added",
    )
    rooms = (await staff.get(f"{API}/rooms")).json()
    people = (await staff.get(f"{API}/people")).json()
    return {"venue": venues[0]["id"], "room": rooms[0]["id"], "person": people[0]["id"]}


async def add_first_session(staff: Client, ids: dict[str, int]) -> httpx.Response:
    return await submit(
        staff,
        f"{BASE}/sessions/new",
        session_form(
            ids["room"],
            **{
                "co_producers-0-person_id": str(ids["person"]),
                "co_producers-0-role": "both",
            },
        ),
    )


# --- signing in and out ---------------------------------------------------------------------


async def test_anonymous_visitor_is_sent_to_sign_in(client: Client) -> None:
    response = await client.get("/staff/festivals/new", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/sign-in?next=/staff/festivals/new"

    dashboard = await client.get("/staff", follow_redirects=False)
    assert dashboard.headers["location"] == "/staff/sign-in?next=/staff"


async def test_sign_in_then_return_to_the_page_asked_for(client: Client, db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
    first = await client.get("/staff/festivals/new")  # followed to the sign-in page
    assert 'name="next" value="/staff/festivals/new"' in first.text
    token = CSRF.search(first.text)
    assert token
    page = await client.post(
        "/staff/sign-in",
        data={
            "_csrf_token": token.group(1),
            "email": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
            "next": "/staff/festivals/new",
        },
    )
    assert page.status_code == 200
    assert str(page.url).endswith("/staff/festivals/new")
    assert "Create a festival" in page.text


async def test_dashboard_shows_who_is_signed_in(staff: Client) -> None:
    page = await staff.get("/staff")
    assert "Organiser" in page.text and STAFF_EMAIL in page.text
    assert 'action="/staff/sign-out"' in page.text
    assert 'href="/staff/festivals/new"' in page.text


# --- building a programme -------------------------------------------------------------------


async def test_build_a_programme_through_the_forms(staff: Client) -> None:
    ids = await build(staff)
    saved(await add_first_session(staff, ids), "session-added")

    festival = (await staff.get(API)).json()
    assert festival["name"] == "Co-production Week 2019"
    assert festival["timezone"] == "Europe/London"
    room = (await staff.get(f"{API}/rooms/{ids['room']}")).json()
    assert room["capacity"] == 120
    assert room["step_free"] and room["hearing_loop"]
    assert not room["bsl_interpretation"] and not room["quiet_room"]

    sessions = (await staff.get(f"{API}/sessions")).json()
    assert len(sessions) == 1
    session = sessions[0]
    assert session["title"] == TITLE
    # 10:00 in London in July is 09:00 UTC.
    assert session["starts_at"].startswith("2019-07-01T09:00:00")
    assert session["ends_at"].startswith("2019-07-01T10:00:00")
    assert session["status"] == "published"
    assert session["do_not_film"] is False
    assert [(p["name"], p["role"]) for p in session["co_producers"]] == [("Ann Lee", "both")]

    overview = await staff.get(f"{BASE}?saved=session-added")
    assert overview.status_code == 200
    assert 'role="status"' in overview.text and "The session has been added." in overview.text
    assert "Monday 1 July 2019" in overview.text
    assert "10:00–11:00" in overview.text
    assert "tag--published" in overview.text
    assert f'href="{BASE}/sessions/{session["id"]}/edit"' in overview.text
    assert f'href="/festivals/{SLUG}/programme"' in overview.text


async def test_session_form_offers_days_rooms_and_three_blank_rows(staff: Client) -> None:
    await build(staff)
    page = await staff.get(f"{BASE}/sessions/new")
    assert page.status_code == 200
    assert '<optgroup label="Kentish Town Community Hub">' in page.text
    assert '<option value="2019-07-05">Friday 5 July 2019</option>' in page.text
    assert 'name="co_producers-2-person_id"' in page.text
    assert 'name="co_producers-3-person_id"' not in page.text
    assert 'type="time"' in page.text
    for label in ("Expert by experience", "Expert by profession", ">Both<"):
        assert label in page.text


async def test_a_clash_shows_the_other_session_and_keeps_what_was_typed(staff: Client) -> None:
    ids = await build(staff)
    saved(await add_first_session(staff, ids), "session-added")

    clash = await submit(
        staff,
        f"{BASE}/sessions/new",
        session_form(
            ids["room"], title="Peer support <b>café</b>", starts_at="10:30", ends_at="11:30"
        ),
    )
    assert clash.status_code == 409
    page = text(clash)
    assert "<title>Error: " in page
    assert 'role="alert"' in clash.text
    assert f"already booked for '{TITLE}'" in page
    assert "Monday 1 July 2019, 10:00 to 11:00" in page
    assert '<a href="#room_id">The room is already booked at this time</a>' in clash.text
    assert 'aria-describedby="room_id-error"' in clash.text
    # What was typed is still there (and escaped).
    assert 'value="Peer support &lt;b&gt;café&lt;/b&gt;"' in clash.text
    assert 'value="10:30"' in clash.text and 'value="11:30"' in clash.text
    assert f'<option value="{ids["room"]}" selected>' in clash.text
    assert len((await staff.get(f"{API}/sessions")).json()) == 1


async def test_a_co_producer_clash_names_the_person_and_session(staff: Client) -> None:
    ids = await build(staff)
    saved(await add_first_session(staff, ids), "session-added")
    saved(
        await submit(
            staff,
            f"{BASE}/rooms/new",
            {"venue_id": str(ids["venue"]), "name": "Studio", "capacity": ""},
        ),
        "room-added",
    )
    studio = next(r for r in (await staff.get(f"{API}/rooms")).json() if r["name"] == "Studio")
    response = await submit(
        staff,
        f"{BASE}/sessions/new",
        session_form(
            studio["id"],
            title="Another",
            **{"co_producers-1-person_id": str(ids["person"]), "co_producers-1-role": "both"},
        ),
    )
    assert response.status_code == 409
    assert f"Ann Lee is already co-producing '{TITLE}'" in text(response)
    assert '<a href="#co_producers-0-person_id">' in response.text
    assert f'<option value="{ids["person"]}" selected>' in response.text


async def test_a_session_outside_the_festival_is_refused(staff: Client) -> None:
    ids = await build(staff)
    response = await submit(
        staff, f"{BASE}/sessions/new", session_form(ids["room"], day="2019-07-06")
    )
    assert response.status_code == 422
    page = text(response)
    assert "The session must take place during the festival" in page
    assert '<a href="#day">Choose a day during the festival</a>' in response.text
    assert (await staff.get(f"{API}/sessions")).json() == []


async def test_bad_times_and_missing_answers_are_marked_on_their_fields(staff: Client) -> None:
    ids = await build(staff)
    response = await submit(
        staff,
        f"{BASE}/sessions/new",
        session_form(ids["room"], title="  ", kind="", starts_at="25:00", ends_at=""),
    )
    assert response.status_code == 422
    page = response.text
    assert '<a href="#title">Enter a title</a>' in page
    assert '<a href="#kind-talk">Choose the kind of session</a>' in page
    assert '<a href="#starts_at">Enter a time on the 24-hour clock' in page
    assert '<a href="#ends_at">Enter the end time</a>' in page
    assert 'id="starts_at-error"' in page and "field--error" in page

    backwards = await submit(
        staff, f"{BASE}/sessions/new", session_form(ids["room"], starts_at="11:00", ends_at="10:00")
    )
    assert backwards.status_code == 422
    assert "The end time must be after the start time" in backwards.text


def test_clock_times_are_read_in_the_festival_time_zone() -> None:
    winter = forms.session_in(session_form(1, day="2019-01-07"), "Europe/London")
    assert winter.starts_at.utcoffset() is not None
    assert winter.starts_at.isoformat() == "2019-01-07T10:00:00+00:00"
    summer = forms.session_in(session_form(1, starts_at="9.30"), "Europe/London")
    assert summer.starts_at.isoformat() == "2019-07-01T09:30:00+01:00"
    # 01:30 never happens in London on the morning the clocks go forward.
    with pytest.raises(Invalid) as caught:
        forms.session_in(
            session_form(1, day="2019-03-31", starts_at="01:30", ends_at="03:00"),
            "Europe/London",
        )
    assert [e.field for e in caught.value.errors] == ["starts_at"]


async def test_a_festival_form_error_keeps_the_values(staff: Client) -> None:
    response = await submit(
        staff,
        "/staff/festivals/new",
        {
            "name": "Week",
            "slug": "Not A Slug",
            "starts_on": "2019-07-01",
            "ends_on": "2019-07-05",
            "timezone": "Europe/London",
        },
    )
    assert response.status_code == 422
    assert '<a href="#slug">Use lower-case letters' in response.text
    assert 'value="Not A Slug"' in response.text
    assert (await staff.get("/api/v1/festivals")).json() == []


async def test_form_without_csrf_token_is_refused(staff: Client) -> None:
    response = await staff.post(
        "/staff/festivals/new",
        data={
            "name": "Forged",
            "slug": "forged",
            "starts_on": "2019-07-01",
            "ends_on": "2019-07-02",
        },
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert (await staff.get("/api/v1/festivals")).json() == []


# --- changing and deleting ------------------------------------------------------------------


async def test_edit_and_delete(staff: Client) -> None:
    ids = await build(staff)
    saved(await add_first_session(staff, ids), "session-added")
    session_id = (await staff.get(f"{API}/sessions")).json()[0]["id"]

    # The edit form shows the session in local time, its co-producer and three blank rows.
    edit = await staff.get(f"{BASE}/sessions/{session_id}/edit")
    assert 'value="10:00"' in edit.text
    assert 'name="co_producers-3-person_id"' in edit.text
    assert 'name="co_producers-4-person_id"' not in edit.text

    form = session_form(ids["room"], starts_at="14:00", ends_at="15:30", status="draft")
    form["do_not_film"] = "true"
    saved(await submit(staff, f"{BASE}/sessions/{session_id}/edit", form), "session-saved")
    session = (await staff.get(f"{API}/sessions/{session_id}")).json()
    assert session["starts_at"].startswith("2019-07-01T13:00:00")
    assert session["status"] == "draft" and session["do_not_film"] is True
    assert session["co_producers"] == []  # the rows sent were blank

    room_form = {"venue_id": str(ids["venue"]), "name": "Great hall", "capacity": ""}
    saved(await submit(staff, f"{BASE}/rooms/{ids['room']}/edit", room_form), "room-saved")
    room = (await staff.get(f"{API}/rooms/{ids['room']}")).json()
    assert room["name"] == "Great hall" and room["capacity"] is None and not room["step_free"]

    # A room with a session cannot go, and the page says why.
    refused = await submit(staff, f"{BASE}/rooms/{ids['room']}/delete", {})
    assert refused.status_code == 409
    assert f"is used by 1 session(s): '{TITLE}'" in text(refused)
    assert (await staff.get(f"{API}/rooms/{ids['room']}")).status_code == 200

    saved(await submit(staff, f"{BASE}/sessions/{session_id}/delete", {}), "session-deleted")
    saved(await submit(staff, f"{BASE}/rooms/{ids['room']}/delete", {}), "room-deleted")
    saved(await submit(staff, f"{BASE}/people/{ids['person']}/delete", {}), "person-deleted")
    saved(await submit(staff, f"{BASE}/venues/{ids['venue']}/delete", {}), "venue-deleted")
    assert (await staff.get(f"{API}/venues")).json() == []

    venue = (await staff.get(f"{API}/people")).json()
    assert venue == []

    festival_form = {
        "name": "Co-production Week",
        "slug": SLUG,
        "starts_on": "2019-07-01",
        "ends_on": "2019-07-03",
        "timezone": "Europe/London",
        "description": "",
    }
    saved(await submit(staff, f"{BASE}/edit", festival_form), "festival-saved")
    assert (await staff.get(API)).json()["ends_on"] == "2019-07-03"

    saved(await submit(staff, f"{BASE}/delete", {}), "festival-deleted", to="/staff")
    assert (await staff.get(API)).status_code == 404


async def test_unknown_ids_are_not_found(staff: Client) -> None:
    await build(staff)
    assert (await staff.get(f"{BASE}/rooms/999/edit")).status_code == 404
    assert (await staff.get(f"{BASE}/sessions/999/delete")).status_code == 404
    assert (await staff.get("/staff/festivals/no-such-festival")).status_code == 404


async def test_html_typed_into_a_title_is_shown_as_text(staff: Client) -> None:
    ids = await build(staff)
    saved(
        await submit(
            staff,
            f"{BASE}/sessions/new",
            session_form(ids["room"], title="<script>alert('hi')</script>"),
        ),
        "session-added",
    )
    overview = await staff.get(BASE)
    assert "<script>alert" not in overview.text
    assert "&lt;script&gt;alert(&#39;hi&#39;)&lt;/script&gt;" in overview.text
