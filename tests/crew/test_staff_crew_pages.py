"""Crew staff pages, driven as a browser would: signed in through the sign-in form, every
change posted as a form with its CSRF token, and checked through the JSON API."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from typing import Any

import httpx
import pytest

from festival.accounts.service import create_or_update_staff
from festival.crew.schemas import DEFAULT_COURSE
from festival.db.engine import Database
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD
from tests.crew.helpers import SLUG, Client, Crew, at

BASE = f"/staff/festivals/{SLUG}"
API = f"/api/v1/festivals/{SLUG}"
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')
INVITE_LINK = re.compile(r'id="invite-link" type="text" value="([^"]+)"')


async def csrf_token(client: Client, path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match, f"no CSRF field on {path}"
    return match.group(1)


async def submit(
    client: Client, page: str, data: dict[str, Any], action: str | None = None
) -> httpx.Response:
    """Open ``page`` and post ``data`` to ``action`` (the page itself if not given) with the
    token its forms carry."""
    token = await csrf_token(client, page)
    return await client.post(
        action or page, data={**data, "_csrf_token": token}, follow_redirects=False
    )


def saved(response: httpx.Response, path: str, key: str) -> str:
    """The redirect after a change: to ``path`` with ``?saved=key``. Returns its location."""
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert location.startswith(f"{path}?"), location
    assert f"saved={key}" in location, location
    return str(location)


def text(response: httpx.Response) -> str:
    return unescape(response.text)


def today() -> str:
    return datetime.now(UTC).date().isoformat()


def day_of(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(UTC).date().isoformat()


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
    assert "Staff dashboard" in page.text
    return client


@pytest.fixture
async def crew(staff: Client, staff_headers: dict[str, str]) -> Crew:
    """A festival happening now, built over the API with a staff token."""
    return await Crew(staff, staff_headers).setup()


async def api(crew: Crew, path: str) -> Any:
    response = await crew.client.get(API + path, headers=crew.staff)
    assert response.status_code == 200, response.text
    return response.json()


# --- access -----------------------------------------------------------------------------------


async def test_anonymous_visitors_are_sent_to_sign_in(client: Client) -> None:
    response = await client.get(f"{BASE}/coverage", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/sign-in?next={BASE}/coverage"


async def test_a_form_without_its_csrf_token_is_refused(crew: Crew) -> None:
    response = await crew.client.post(
        f"{BASE}/volunteers", data={"email": "ada@crew.test"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert "did not come from this site" in text(response)
    assert await api(crew, "/volunteers") == []


async def test_the_festival_overview_links_to_the_crew_pages(crew: Crew) -> None:
    page = await crew.client.get(BASE)
    assert page.status_code == 200
    for path in ("volunteers", "slots", "coverage"):
        assert f'href="{BASE}/{path}"' in page.text


# --- volunteers -------------------------------------------------------------------------------


async def test_invite_shows_the_link_once_and_it_works_as_a_token(crew: Crew) -> None:
    page = await submit(
        crew.client, f"{BASE}/volunteers", {"email": "ada@crew.test", "name": "Ada"}
    )
    assert page.status_code == 200, page.text
    assert page.headers["cache-control"] == "no-store"
    assert "Send Ada their invite link" in text(page)
    match = INVITE_LINK.search(page.text)
    assert match, page.text
    link = unescape(match.group(1))
    assert link.startswith("http://festival.test/volunteers/invite/fvt_")
    token = link.rsplit("/", 1)[1]

    me = await crew.client.get("/api/v1/volunteer/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    assert me.json()["email"] == "ada@crew.test"

    # Never shown again: not on the list, not on their page.
    (volunteer,) = await api(crew, "/volunteers")
    listing = await crew.client.get(f"{BASE}/volunteers")
    detail = await crew.client.get(f"{BASE}/volunteers/{volunteer['id']}")
    assert "Ada" in listing.text and "ada@crew.test" in listing.text
    assert token not in listing.text
    assert token not in detail.text


async def test_a_bad_email_shows_the_form_again_with_the_error(crew: Crew) -> None:
    page = await submit(crew.client, f"{BASE}/volunteers", {"email": "not an email", "name": ""})
    assert page.status_code == 422
    assert "There is a problem" in page.text
    assert 'href="#email"' in page.text
    assert "Enter an email address in the right form" in text(page)
    assert 'value="not an email"' in page.text
    assert await api(crew, "/volunteers") == []


async def test_html_in_a_volunteer_name_is_shown_as_text(crew: Crew) -> None:
    await crew.volunteer("eve@crew.test", name="<script>alert(1)</script>")
    listing = await crew.client.get(f"{BASE}/volunteers")
    assert listing.status_code == 200
    assert "<script>alert(1)</script>" not in listing.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in listing.text


async def test_record_and_remove_training_through_the_form(crew: Crew) -> None:
    bo = await crew.volunteer("bo@crew.test", name="Bo", trained=False)
    path = f"{BASE}/volunteers/{bo['id']}"
    page = await crew.client.get(path)
    assert f'value="{DEFAULT_COURSE}"' in page.text  # the course is filled in already

    response = await submit(
        crew.client,
        path,
        {"trained_on": today(), "trainer": "Sam Trainer", "course": DEFAULT_COURSE},
        action=f"{path}/training",
    )
    location = saved(response, path, "training-added")
    volunteer = await api(crew, f"/volunteers/{bo['id']}")
    assert volunteer["trained"] is True
    (training,) = volunteer["trainings"]
    assert training["course"] == DEFAULT_COURSE
    assert training["trainer"] == "Sam Trainer"
    shown = await crew.client.get(location)
    assert "The training has been recorded." in shown.text
    assert "Sam Trainer" in shown.text

    removed = await submit(crew.client, path, {}, action=f"{path}/training/{training['id']}/remove")
    saved(removed, path, "training-removed")
    assert (await api(crew, f"/volunteers/{bo['id']}"))["trained"] is False


async def test_training_needs_a_date_and_a_trainer(crew: Crew) -> None:
    bo = await crew.volunteer("bo@crew.test", name="Bo", trained=False)
    path = f"{BASE}/volunteers/{bo['id']}"
    page = await submit(
        crew.client,
        path,
        {"trained_on": "", "trainer": "", "course": ""},
        action=f"{path}/training",
    )
    assert page.status_code == 422
    assert 'href="#trained_on"' in page.text
    assert "Enter the date of the training" in page.text
    assert "Enter the name of the trainer" in page.text


async def test_suspend_with_a_reason_and_reinstate(crew: Crew) -> None:
    cy = await crew.volunteer("cy@crew.test", name="Cy")
    path = f"{BASE}/volunteers/{cy['id']}"

    refused = await submit(crew.client, path, {"suspended_reason": " "}, action=f"{path}/suspend")
    assert refused.status_code == 422
    assert "Say why you are suspending them" in refused.text
    assert (await api(crew, f"/volunteers/{cy['id']}"))["suspended"] is False

    response = await submit(
        crew.client, path, {"suspended_reason": "Filmed without consent"}, action=f"{path}/suspend"
    )
    location = saved(response, path, "suspended")
    volunteer = await api(crew, f"/volunteers/{cy['id']}")
    assert volunteer["suspended"] is True
    assert volunteer["suspended_reason"] == "Filmed without consent"
    shown = await crew.client.get(location)
    assert "Filmed without consent" in shown.text
    assert "Reinstate Cy" in shown.text

    back = await submit(crew.client, path, {}, action=f"{path}/reinstate")
    saved(back, path, "reinstated")
    assert (await api(crew, f"/volunteers/{cy['id']}"))["suspended"] is False


async def test_withdraw_all_links_asks_first_then_ends_the_token(crew: Crew) -> None:
    di = await crew.volunteer("di@crew.test", name="Di")
    path = f"{BASE}/volunteers/{di['id']}"
    confirm = await crew.client.get(f"{path}/revoke")
    assert confirm.status_code == 200
    assert "Withdraw all of Di’s links?" in text(confirm)
    assert (await crew.client.get("/api/v1/volunteer/me", headers=di["headers"])).status_code == 200

    response = await submit(crew.client, f"{path}/revoke", {})
    saved(response, path, "links-withdrawn")
    refused = await crew.client.get("/api/v1/volunteer/me", headers=di["headers"])
    assert refused.status_code == 401


async def test_volunteer_page_shows_availability_in_local_time(
    staff: Client, staff_headers: dict[str, str]
) -> None:
    await _summer_festival(staff, staff_headers)
    invited = await staff.post(
        f"{SUMMER_API}/volunteers", json={"email": "fi@crew.test"}, headers=staff_headers
    )
    volunteer_id = invited.json()["volunteer"]["id"]
    windows = {
        "windows": [{"starts_at": "2019-07-01T08:00:00Z", "ends_at": "2019-07-01T16:00:00Z"}]
    }
    response = await staff.put(
        f"{SUMMER_API}/volunteers/{volunteer_id}/availability", json=windows, headers=staff_headers
    )
    assert response.status_code == 200, response.text
    page = await staff.get(f"{SUMMER}/volunteers/{volunteer_id}")
    assert "Monday 1 July 2019, 09:00 to 17:00" in page.text


# --- slots ------------------------------------------------------------------------------------

SUMMER_SLUG = "summer-2019"
SUMMER = f"/staff/festivals/{SUMMER_SLUG}"
SUMMER_API = f"/api/v1/festivals/{SUMMER_SLUG}"


async def _summer_festival(client: Client, headers: dict[str, str]) -> int:
    """A festival in London in July, when clocks are an hour ahead of UTC; returns a room."""
    body = {
        "slug": SUMMER_SLUG,
        "name": "Summer 2019",
        "starts_on": "2019-07-01",
        "ends_on": "2019-07-02",
        "timezone": "Europe/London",
    }
    assert (await client.post("/api/v1/festivals", json=body, headers=headers)).status_code == 201
    venue = await client.post(f"{SUMMER_API}/venues", json={"name": "Hub"}, headers=headers)
    room = await client.post(
        f"{SUMMER_API}/rooms",
        json={"venue_id": venue.json()["id"], "name": "Hall"},
        headers=headers,
    )
    assert room.status_code == 201, room.text
    return int(room.json()["id"])


def slot_form(room_id: int | str = "", **extra: str) -> dict[str, str]:
    form = {
        "session_id": "",
        "room_id": str(room_id),
        "place": "",
        "day": "2019-07-01",
        "starts_at": "10:00",
        "ends_at": "10:30",
        "capacity": "2",
        "notes": "Ask for Jo at the desk",
    }
    form.update(extra)
    return form


async def test_add_a_slot_in_local_time(staff: Client, staff_headers: dict[str, str]) -> None:
    room_id = await _summer_festival(staff, staff_headers)
    response = await submit(staff, f"{SUMMER}/slots/new", slot_form(room_id))
    saved(response, f"{SUMMER}/slots", "slot-added")

    slots = (await staff.get(f"{SUMMER_API}/slots", headers=staff_headers)).json()
    (slot,) = slots
    assert datetime.fromisoformat(slot["starts_at"]) == datetime(2019, 7, 1, 9, 0, tzinfo=UTC)
    assert datetime.fromisoformat(slot["ends_at"]) == datetime(2019, 7, 1, 9, 30, tzinfo=UTC)
    assert slot["capacity"] == 2
    assert slot["room_id"] == room_id

    listing = await staff.get(f"{SUMMER}/slots?saved=slot-added")
    assert "The slot has been added." in listing.text
    assert "10:00 to 10:30" in listing.text
    assert "Hall" in listing.text

    # The edit form shows the same local times back.
    edit = await staff.get(f"{SUMMER}/slots/{slot['id']}/edit")
    assert 'value="10:00"' in edit.text and 'value="10:30"' in edit.text
    moved = await submit(
        staff,
        f"{SUMMER}/slots/{slot['id']}/edit",
        slot_form(room_id, starts_at="11:00", ends_at="11:15"),
    )
    saved(moved, f"{SUMMER}/slots", "slot-saved")
    (slot,) = (await staff.get(f"{SUMMER_API}/slots", headers=staff_headers)).json()
    assert datetime.fromisoformat(slot["starts_at"]) == datetime(2019, 7, 1, 10, 0, tzinfo=UTC)

    gone = await submit(staff, f"{SUMMER}/slots/{slot['id']}/delete", {})
    saved(gone, f"{SUMMER}/slots", "slot-deleted")
    assert (await staff.get(f"{SUMMER_API}/slots", headers=staff_headers)).json() == []


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"ends_at": "09:00"}, "ends_at", "The end time must be after the start time"),
        ({"starts_at": "25:00"}, "starts_at", "Enter a time on the 24-hour clock"),
        ({"room_id": ""}, "place", "Say where to meet, or choose a session or a room"),
        ({"capacity": "0"}, "capacity", "Volunteers needed must be 1 or more"),
    ],
)
async def test_a_bad_slot_shows_the_form_again(
    staff: Client, staff_headers: dict[str, str], form: dict[str, str], field: str, message: str
) -> None:
    room_id = await _summer_festival(staff, staff_headers)
    page = await submit(staff, f"{SUMMER}/slots/new", slot_form(**{"room_id": room_id, **form}))
    assert page.status_code == 422, page.text
    assert f'href="#{field}"' in page.text
    assert message in text(page)
    assert 'value="Ask for Jo at the desk"' not in page.text  # notes are a textarea
    assert "Ask for Jo at the desk" in page.text
    assert (await staff.get(f"{SUMMER_API}/slots", headers=staff_headers)).json() == []


async def test_bulk_preview_then_make_the_slots(crew: Crew) -> None:
    sessions = []
    for title, room, start, film in (
        ("Opening", "N1", 2, True),
        ("Peer support café", "S1", 4, True),
        ("Closed circle", "N2", 6, False),
    ):
        made = await crew.post(
            "/sessions",
            {
                "title": title,
                "kind": "talk",
                "room_id": crew.rooms[room],
                "starts_at": at(start),
                "ends_at": at(start + 1),
                "status": "published",
                "do_not_film": not film,
            },
        )
        sessions.append(made)
    choices = {"position": "after", "minutes": "20", "gap_minutes": "5", "capacity": "2"}

    preview = await submit(crew.client, f"{BASE}/slots/bulk", choices)
    assert preview.status_code == 200, preview.text
    words = text(preview)
    assert "2 slots would be made" in words
    assert "Closed circle: marked do not film" in words
    assert "Make these 2 slots" in words
    assert await api(crew, "/slots") == []  # a preview saves nothing

    response = await submit(
        crew.client, f"{BASE}/slots/bulk", choices, action=f"{BASE}/slots/bulk/apply"
    )
    location = saved(response, f"{BASE}/slots", "slots-made")
    assert "made=2" in location
    slots = await api(crew, "/slots")
    assert sorted(s["session"]["id"] for s in slots) == sorted(s["id"] for s in sessions[:2])
    assert all(s["capacity"] == 2 for s in slots)
    opening = next(s for s in slots if s["session"]["id"] == sessions[0]["id"])
    ends = datetime.fromisoformat(sessions[0]["ends_at"])
    assert datetime.fromisoformat(opening["starts_at"]) == ends + timedelta(minutes=5)
    assert datetime.fromisoformat(opening["ends_at"]) == ends + timedelta(minutes=25)
    assert "2 interview slots made." in (await crew.client.get(location)).text


async def test_bulk_with_a_bad_length_shows_the_form_again(crew: Crew) -> None:
    page = await submit(
        crew.client,
        f"{BASE}/slots/bulk",
        {"position": "after", "minutes": "2", "gap_minutes": "0", "capacity": "1"},
    )
    assert page.status_code == 422
    assert 'href="#minutes"' in page.text
    assert "must be 5 or more" in page.text


# --- coverage ---------------------------------------------------------------------------------


async def test_coverage_grid_shows_each_place_in_words(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test", name="Ada")
    ben = await crew.volunteer("ben@crew.test", name="Ben")
    slot = await crew.slot(0, 1, capacity=3)  # under way now
    await crew.assign(slot["id"], ada["id"])
    await crew.assign(slot["id"], ben["id"])
    day = await crew.client.get("/api/v1/volunteer/day", headers=ada["headers"])
    assignment = day.json()["slots"][0]["assignment"]["id"]
    checked = await crew.client.post(
        f"/api/v1/volunteer/assignments/{assignment}/check-in", headers=ada["headers"]
    )
    assert checked.status_code == 200, checked.text

    page = await crew.client.get(f"{BASE}/coverage?day={day_of(slot['starts_at'])}")
    assert page.status_code == 200
    words = text(page)
    for word in ("Unfilled", "Assigned, waiting for reply", "Checked in"):
        assert f">{word}</strong>" in words, word
    assert "2 of 3 filled" in words
    assert '<th scope="row"' in page.text and "<caption" in page.text
    assert f'id="assign-{slot["id"]}-3"' in page.text
    # Ben has not checked in and the slot has begun: he can be recorded as not coming.
    no_show = f"{BASE}/coverage/slots/{slot['id']}/no-show/{ben['id']}"
    assert no_show in page.text
    assert f"{BASE}/coverage/slots/{slot['id']}/no-show/{ada['id']}" not in page.text

    response = await submit(
        crew.client,
        f"{BASE}/coverage?day={day_of(slot['starts_at'])}",
        {},
        action=f"{no_show}?day={day_of(slot['starts_at'])}",
    )
    location = saved(response, f"{BASE}/coverage", "no-show")
    assert location.endswith(f"#slot-{slot['id']}")
    after = text(await crew.client.get(location))
    assert ">Did not come</strong>" in after
    assert "The volunteer has been recorded as not coming." in after


async def test_assign_from_the_grid(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test", name="Ada")
    slot = await crew.slot(2, 3)
    grid = f"{BASE}/coverage?day={day_of(slot['starts_at'])}"
    action = f"{BASE}/coverage/slots/{slot['id']}/assign?day={day_of(slot['starts_at'])}"
    response = await submit(crew.client, grid, {"volunteer_id": str(ada["id"])}, action=action)
    location = saved(response, f"{BASE}/coverage", "assigned")
    assert location.endswith(f"#slot-{slot['id']}")
    (held,) = (await api(crew, f"/slots/{slot['id']}"))["assignments"]
    assert held["volunteer_id"] == ada["id"]
    assert held["status"] == "assigned"
    assert "The volunteer has been given the place." in (await crew.client.get(location)).text

    unassign = f"{BASE}/coverage/slots/{slot['id']}/unassign/{ada['id']}"
    response = await submit(crew.client, grid, {}, action=unassign)
    saved(response, f"{BASE}/coverage", "unassigned")
    assert (await api(crew, f"/slots/{slot['id']}"))["assignments"] == []


async def test_assigning_an_untrained_volunteer_shows_the_rule(crew: Crew) -> None:
    dee = await crew.volunteer("dee@crew.test", name="Dee", trained=False)
    slot = await crew.slot(2, 3)
    grid = f"{BASE}/coverage?day={day_of(slot['starts_at'])}"
    action = f"{BASE}/coverage/slots/{slot['id']}/assign?day={day_of(slot['starts_at'])}"
    page = await submit(crew.client, grid, {"volunteer_id": str(dee["id"])}, action=action)
    assert page.status_code == 422
    words = text(page)
    assert "There is a problem" in words
    assert "Dee has no training recorded in smartphone interviewing and consent." in words
    assert "Record their training first, then assign them." in words
    assert f'href="#assign-{slot["id"]}-1"' in page.text
    assert f'id="assign-{slot["id"]}-1-error"' in page.text
    assert "Dee (no training recorded)" in words
    assert (await api(crew, f"/slots/{slot['id']}"))["assignments"] == []


async def test_assigning_someone_who_is_not_free_shows_the_rule(crew: Crew) -> None:
    await crew.volunteer("eli@crew.test", name="Eli", free=(5, 8))
    (eli,) = await api(crew, "/volunteers")
    slot = await crew.slot(2, 3)
    grid = f"{BASE}/coverage?day={day_of(slot['starts_at'])}"
    page = await submit(
        crew.client,
        grid,
        {"volunteer_id": str(eli["id"])},
        action=f"{BASE}/coverage/slots/{slot['id']}/assign",
    )
    assert page.status_code == 422
    assert "Eli has not said they are free for all of" in text(page)


async def test_coverage_filters_by_venue(crew: Crew) -> None:
    north = await crew.slot(2, 3, room="N1")
    south = await crew.slot(2, 3, room="S1")
    venues = (await crew.client.get(f"{API}/venues")).json()
    south_id = next(v["id"] for v in venues if v["name"] == "South Hall")
    page = await crew.client.get(
        f"{BASE}/coverage?day={day_of(north['starts_at'])}&venue={south_id}&session="
    )
    assert page.status_code == 200
    assert f'id="slot-{south["id"]}"' in page.text
    assert f'id="slot-{north["id"]}"' not in page.text


# --- proposals --------------------------------------------------------------------------------


async def test_propose_then_apply(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test", name="Ada")
    ben = await crew.volunteer("ben@crew.test", name="Ben")
    first = await crew.slot(2, 3, room="N1")
    second = await crew.slot(4, 5, room="S1")

    response = await submit(crew.client, f"{BASE}/proposal", {})
    assert response.status_code == 303, response.text
    location = response.headers["location"]
    assert re.fullmatch(rf"{BASE}/proposals/\d+", location)
    page = await crew.client.get(location)
    assert page.status_code == 200
    words = text(page)
    assert "2 of 2 unfilled places would be covered" in words
    assert "Apply these assignments" in words

    applied = await submit(crew.client, location, {}, action=f"{location}/apply")
    saved(applied, location, "proposal-applied")
    held = [
        a["volunteer_id"]
        for s in (first, second)
        for a in (await api(crew, f"/slots/{s['id']}"))["assignments"]
    ]
    assert len(held) == 2
    assert set(held) <= {ada["id"], ben["id"]}
    after = text(await crew.client.get(f"{location}?saved=proposal-applied"))
    assert "These assignments have been made." in after
    assert "Apply these assignments" not in after


async def test_applying_a_stale_proposal_says_things_have_changed(crew: Crew) -> None:
    await crew.volunteer("ada@crew.test", name="Ada")
    slot = await crew.slot(2, 3)
    response = await submit(crew.client, f"{BASE}/proposal", {})
    location = response.headers["location"]
    await crew.slot(4, 5)  # something changes after the proposal

    page = await submit(crew.client, location, {}, action=f"{location}/apply")
    assert page.status_code == 409
    words = text(page)
    assert "have changed since this proposal was made" in words
    assert "Make a new proposal" in words
    assert (await api(crew, f"/slots/{slot['id']}"))["assignments"] == []  # nobody placed


# --- rules ------------------------------------------------------------------------------------


async def test_crew_rules_form(crew: Crew) -> None:
    response = await submit(
        crew.client,
        f"{BASE}/crew-rules",
        {"self_signup": "true", "leave_cutoff_minutes": "60", "travel_buffer_minutes": "20"},
    )
    saved(response, f"{BASE}/crew-rules", "rules-saved")
    assert await api(crew, "/crew-rules") == {
        "self_signup": True,
        "leave_cutoff_minutes": 60,
        "travel_buffer_minutes": 20,
    }
    # An unticked box sends nothing, and turns self sign-up off again.
    response = await submit(
        crew.client,
        f"{BASE}/crew-rules",
        {"leave_cutoff_minutes": "60", "travel_buffer_minutes": "20"},
    )
    saved(response, f"{BASE}/crew-rules", "rules-saved")
    assert (await api(crew, "/crew-rules"))["self_signup"] is False

    bad = await submit(
        crew.client,
        f"{BASE}/crew-rules",
        {"leave_cutoff_minutes": "60", "travel_buffer_minutes": "999"},
    )
    assert bad.status_code == 422
    assert 'href="#travel_buffer_minutes"' in bad.text
