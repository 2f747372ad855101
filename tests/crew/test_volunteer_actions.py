"""Volunteers answer for their own slots from their phones, with their invite token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from festival.accounts.service import hash_token
from festival.db.engine import Database
from festival.db.tables import volunteer_tokens
from tests.crew.helpers import Client, Crew, at


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def test_invite_token_is_a_bearer_token_stored_only_as_a_hash(
    crew: Crew, db: Database
) -> None:
    lee = await crew.volunteer("lee@crew.test", name="Lee")
    assert lee["url"] == f"http://festival.test/volunteers/invite/{lee['token']}"
    me = await crew.client.get("/api/v1/volunteer/me", headers=lee["headers"])
    assert me.status_code == 200
    assert me.json()["email"] == "lee@crew.test"
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(volunteer_tokens.c.token_hash))).scalars().all()
    assert stored == [hash_token(lee["token"])]


async def test_expired_and_revoked_invites_are_refused(crew: Crew, db: Database) -> None:
    mo = await crew.volunteer("mo@crew.test")
    async with db.write() as conn:
        await conn.execute(
            sa.update(volunteer_tokens).values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    expired = await crew.client.get("/api/v1/volunteer/me", headers=mo["headers"])
    assert expired.status_code == 401
    assert expired.json()["detail"] == "This invite link has expired."

    nia = await crew.volunteer("nia@crew.test")
    revoked = await crew.client.post(
        f"{crew.base}/volunteers/{nia['id']}/revoke", headers=crew.staff
    )
    assert revoked.status_code == 204
    refused = await crew.client.get("/api/v1/volunteer/me", headers=nia["headers"])
    assert refused.status_code == 401
    assert "withdrawn" in refused.json()["detail"]


async def test_volunteer_sets_profile_and_availability(crew: Crew) -> None:
    oz = await crew.volunteer("oz@crew.test", free=None)
    profile = await crew.client.patch(
        "/api/v1/volunteer/me",
        json={
            "display_name": "Oz",
            "pronouns": "they/them",
            "phone": "+44 7700 900123",
            "access_needs": "Needs a seat between slots",
        },
        headers=oz["headers"],
    )
    assert profile.status_code == 200, profile.text
    assert profile.json()["pronouns"] == "they/them"
    windows = {
        "windows": [
            {"starts_at": at(1), "ends_at": at(3)},
            {"starts_at": at(2), "ends_at": at(4)},
            {"starts_at": at(6), "ends_at": at(7)},
        ]
    }
    saved = await crew.client.put(
        "/api/v1/volunteer/availability", json=windows, headers=oz["headers"]
    )
    assert saved.status_code == 200
    assert len(saved.json()["windows"]) == 2  # the overlapping two are joined


@pytest.mark.parametrize(
    ("window", "field"),
    [
        ({"starts_at": at(3), "ends_at": at(2)}, "windows[0].ends_at"),
        ({"starts_at": at(24 * 9), "ends_at": at(24 * 9 + 2)}, "windows[0]"),
    ],
)
async def test_bad_availability_is_refused(crew: Crew, window: dict[str, str], field: str) -> None:
    pat = await crew.volunteer("pat@crew.test", free=None)
    response = await crew.client.put(
        "/api/v1/volunteer/availability", json={"windows": [window]}, headers=pat["headers"]
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == field
    stored = await crew.client.get("/api/v1/volunteer/availability", headers=pat["headers"])
    assert stored.json() == {"windows": []}


async def test_accept_then_check_in_at_the_slot(crew: Crew) -> None:
    quinn = await crew.volunteer("quinn@crew.test", name="Quinn")
    soon = await crew.slot(0.5, 1)
    await crew.assign(soon["id"], quinn["id"])
    day = (await crew.client.get("/api/v1/volunteer/day", headers=quinn["headers"])).json()
    assert day["next_slot"]["slot"]["id"] == soon["id"]
    assignment_id = day["next_slot"]["assignment"]["id"]
    accepted = await crew.client.post(
        f"/api/v1/volunteer/assignments/{assignment_id}/accept", headers=quinn["headers"]
    )
    assert accepted.json()["status"] == "accepted"
    checked = await crew.client.post(
        f"/api/v1/volunteer/assignments/{assignment_id}/check-in", headers=quinn["headers"]
    )
    assert checked.status_code == 200
    assert checked.json()["status"] == "checked_in"
    assert checked.json()["checked_in_at"]


async def test_check_in_too_early_is_refused(crew: Crew) -> None:
    rue = await crew.volunteer("rue@crew.test")
    later = await crew.slot(5, 6)
    slot = await crew.assign(later["id"], rue["id"])
    assignment_id = slot["assignments"][0]["id"]
    early = await crew.client.post(
        f"/api/v1/volunteer/assignments/{assignment_id}/check-in", headers=rue["headers"]
    )
    assert early.status_code == 409
    assert "Check-in opens an hour before the slot" in early.json()["detail"]


async def test_decline_needs_a_reason_and_frees_the_place(crew: Crew) -> None:
    sol = await crew.volunteer("sol@crew.test")
    slot = await crew.slot(5, 6)
    assignment_id = (await crew.assign(slot["id"], sol["id"]))["assignments"][0]["id"]
    path = f"/api/v1/volunteer/assignments/{assignment_id}/decline"
    no_reason = await crew.client.post(path, json={"reason": ""}, headers=sol["headers"])
    assert no_reason.status_code == 400
    declined = await crew.client.post(path, json={"reason": "Train strike"}, headers=sol["headers"])
    assert declined.json()["status"] == "declined"
    assert declined.json()["decline_reason"] == "Train strike"
    tam = await crew.volunteer("tam@crew.test")
    await crew.assign(slot["id"], tam["id"])


async def test_another_volunteers_slot_is_403_and_unchanged(crew: Crew) -> None:
    uma = await crew.volunteer("uma@crew.test")
    vic = await crew.volunteer("vic@crew.test")
    slot = await crew.slot(0.5, 1)
    assignment_id = (await crew.assign(slot["id"], uma["id"]))["assignments"][0]["id"]
    for action in ("accept", "check-in"):
        response = await crew.client.post(
            f"/api/v1/volunteer/assignments/{assignment_id}/{action}", headers=vic["headers"]
        )
        assert response.status_code == 403
        assert response.json()["detail"] == "This is another volunteer's slot."
    decline = await crew.client.post(
        f"/api/v1/volunteer/assignments/{assignment_id}/decline",
        json={"reason": "no"},
        headers=vic["headers"],
    )
    assert decline.status_code == 403
    after = (await crew.client.get(f"{crew.base}/slots/{slot['id']}", headers=crew.staff)).json()
    assert after["assignments"][0]["status"] == "assigned"


async def test_self_sign_up_only_when_allowed_and_leaving_has_a_cut_off(crew: Crew) -> None:
    wyn = await crew.volunteer("wyn@crew.test")
    soon = await crew.slot(1, 1.5)
    later = await crew.slot(5, 5.5)
    refused = await crew.client.post(
        f"/api/v1/volunteer/slots/{later['id']}/sign-up", headers=wyn["headers"]
    )
    assert refused.status_code == 403
    await crew.client.patch(
        f"{crew.base}/crew-rules",
        json={"self_signup": True, "leave_cutoff_minutes": 120},
        headers=crew.staff,
    )
    day = (await crew.client.get("/api/v1/volunteer/day", headers=wyn["headers"])).json()
    assert [s["id"] for s in day["open_slots"]] == [soon["id"], later["id"]]
    for slot in (soon, later):
        taken = await crew.client.post(
            f"/api/v1/volunteer/slots/{slot['id']}/sign-up", headers=wyn["headers"]
        )
        assert taken.status_code == 201, taken.text
        assert taken.json()["status"] == "accepted"
    too_late = await crew.client.delete(
        f"/api/v1/volunteer/slots/{soon['id']}/sign-up", headers=wyn["headers"]
    )
    assert too_late.status_code == 409
    assert "too late to leave" in too_late.json()["detail"]
    left = await crew.client.delete(
        f"/api/v1/volunteer/slots/{later['id']}/sign-up", headers=wyn["headers"]
    )
    assert left.status_code == 204


async def test_no_show_is_recorded_and_counted(crew: Crew) -> None:
    xan = await crew.volunteer("xan@crew.test")
    started = await crew.slot(-0.5, 0.5)
    await crew.assign(started["id"], xan["id"])
    marked = await crew.client.post(
        f"{crew.base}/slots/{started['id']}/assignments/{xan['id']}/no-show", headers=crew.staff
    )
    assert marked.status_code == 201
    assert marked.json()["assignments"][0]["status"] == "no_show"
    counts = (
        await crew.client.get(f"{crew.base}/volunteers/{xan['id']}", headers=crew.staff)
    ).json()["counts"]
    assert counts == {"slots": 0, "hours": 0.0, "no_shows": 1, "declined": 0}


async def test_calendar_feed_follows_assignments_and_can_be_replaced(crew: Crew) -> None:
    yas = await crew.volunteer("yas@crew.test", name="Yas")
    slot = await crew.slot(2, 3)
    await crew.assign(slot["id"], yas["id"])
    day = (await crew.client.get("/api/v1/volunteer/day", headers=yas["headers"])).json()
    path = day["calendar_url"].removeprefix("http://festival.test")
    feed = await crew.client.get(path)
    assert feed.status_code == 200
    assert feed.headers["content-type"].startswith("text/calendar")
    events = icalendar.Calendar.from_ical(feed.content).walk("VEVENT")
    assert [str(e["UID"]) for e in events] == [
        f"slot-{slot['id']}-volunteer-{yas['id']}@festival.test"
    ]
    assert str(events[0]["LOCATION"]) == "N1, North Hall"

    await crew.client.delete(
        f"{crew.base}/slots/{slot['id']}/assignments/{yas['id']}", headers=crew.staff
    )
    emptied = icalendar.Calendar.from_ical((await crew.client.get(path)).content)
    assert emptied.walk("VEVENT") == []

    replaced = await crew.client.post("/api/v1/volunteer/calendar-link", headers=yas["headers"])
    assert replaced.status_code == 201
    assert (await crew.client.get(path)).status_code == 404
    new_path = replaced.json()["url"].removeprefix("http://festival.test")
    assert (await crew.client.get(new_path)).status_code == 200
