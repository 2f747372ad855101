"""Staff build the programme through the API; clashes and bad values are refused clearly."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.programme.helpers import SLUG, make_programme, session_body

Client = AsyncTestClient[Litestar]
Headers = dict[str, str]


@pytest.fixture
async def programme(client: Client, staff_headers: Headers) -> dict[str, Any]:
    return await make_programme(client, staff_headers)


async def test_session_is_created_with_co_producers_and_read_back(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    body = session_body(
        programme["hall"]["id"],
        "10:00",
        "11:00",
        summary="How services change when people lead.",
        track="Mental health",
        access_notes="BSL interpreter on stage.",
        co_producers=[
            {"person_id": programme["ann"]["id"], "role": "experience"},
            {"person_id": programme["raj"]["id"], "role": "both"},
        ],
    )
    created = await client.post(f"{programme['base']}/sessions", json=body, headers=staff_headers)
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["starts_at"] == "2026-07-01T09:00:00Z"
    assert session["room"]["name"] == "Great Hall"
    assert session["room"]["venue_name"] == "Town Hall"
    assert [(p["name"], p["role"]) for p in session["co_producers"]] == [
        ("Ann Lee", "experience"),
        ("Raj Patel", "both"),
    ]
    again = await client.get(f"{programme['base']}/sessions/{session['id']}")
    assert again.json() == session


async def test_room_double_booking_is_409_naming_the_other_session(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base, hall = programme["base"], programme["hall"]["id"]
    first = await client.post(
        f"{base}/sessions",
        json=session_body(hall, "10:00", "11:00", title="Opening welcome"),
        headers=staff_headers,
    )
    assert first.status_code == 201
    clash = await client.post(
        f"{base}/sessions", json=session_body(hall, "10:30", "11:30"), headers=staff_headers
    )
    assert clash.status_code == 409
    problem = clash.json()
    assert "Opening welcome" in problem["detail"]
    assert "10:00 to 11:00" in problem["detail"]
    assert problem["conflicts_with"] == {
        "session_id": first.json()["id"],
        "title": "Opening welcome",
        "rule": "room",
    }
    # Back to back is fine, and so is another room at the same time.
    assert (
        await client.post(
            f"{base}/sessions", json=session_body(hall, "11:00", "12:00"), headers=staff_headers
        )
    ).status_code == 201
    assert (
        await client.post(
            f"{base}/sessions",
            json=session_body(programme["studio"]["id"], "10:30", "11:30"),
            headers=staff_headers,
        )
    ).status_code == 201


async def test_co_producer_in_two_places_is_409(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base = programme["base"]
    ann = [{"person_id": programme["ann"]["id"], "role": "experience"}]
    first = await client.post(
        f"{base}/sessions",
        json=session_body(
            programme["hall"]["id"], "14:00", "15:00", title="Panel", co_producers=ann
        ),
        headers=staff_headers,
    )
    assert first.status_code == 201
    clash = await client.post(
        f"{base}/sessions",
        json=session_body(programme["studio"]["id"], "14:30", "15:30", co_producers=ann),
        headers=staff_headers,
    )
    assert clash.status_code == 409
    assert "Ann Lee is already co-producing 'Panel'" in clash.json()["detail"]
    assert clash.json()["conflicts_with"]["rule"] == "co-producer"


async def test_cancelled_session_frees_its_room(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base, hall = programme["base"], programme["hall"]["id"]
    first = (
        await client.post(
            f"{base}/sessions", json=session_body(hall, "10:00", "11:00"), headers=staff_headers
        )
    ).json()
    cancelled = await client.patch(
        f"{base}/sessions/{first['id']}", json={"status": "cancelled"}, headers=staff_headers
    )
    assert cancelled.json()["status"] == "cancelled"
    replacement = await client.post(
        f"{base}/sessions", json=session_body(hall, "10:00", "11:00"), headers=staff_headers
    )
    assert replacement.status_code == 201
    # Bringing the cancelled one back would now clash.
    revived = await client.patch(
        f"{base}/sessions/{first['id']}", json={"status": "published"}, headers=staff_headers
    )
    assert revived.status_code == 409


async def test_concurrent_bookings_of_one_room_let_exactly_one_through(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base, hall = programme["base"], programme["hall"]["id"]
    responses = await asyncio.gather(
        *(
            client.post(
                f"{base}/sessions",
                json=session_body(hall, "10:00", "11:00", title=f"Try {n}"),
                headers=staff_headers,
            )
            for n in range(12)
        )
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] + [409] * 11
    listed = (await client.get(f"{base}/sessions", headers=staff_headers)).json()
    assert len(listed) == 1


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (
            {"starts_at": "2026-07-04T10:00:00+01:00", "ends_at": "2026-07-04T11:00:00+01:00"},
            422,
            "starts_at",
        ),
        ({"starts_at": "2026-06-30T23:30:00+01:00"}, 422, "starts_at"),
        ({"ends_at": "2026-07-01T09:00:00+01:00"}, 422, "ends_at"),
        ({"starts_at": "2026-07-01T10:00:00"}, 400, "starts_at"),
        ({"starts_at": "yesterday"}, 400, "starts_at"),
        ({"room_id": 999}, 422, "room_id"),
        ({"kind": "party"}, 400, "kind"),
        ({"status": "maybe"}, 400, "status"),
        ({"title": ""}, 400, "title"),
        ({"title": "x" * 201}, 400, "title"),
        ({"title": "two\nlines"}, 400, "title"),
        ({"summary": "x" * 5001}, 400, "summary"),
        ({"language": "english language"}, 400, "language"),
        ({"co_producers": [{"person_id": 999, "role": "experience"}]}, 422, "co_producers"),
        ({"co_producers": [{"person_id": 1, "role": "boss"}]}, 400, "co_producers[0].role"),
        ({"surprise": True}, 400, "surprise"),
    ],
)
async def test_bad_session_values_are_refused_and_nothing_is_written(
    client: Client,
    staff_headers: Headers,
    programme: dict[str, Any],
    change: dict[str, Any],
    status: int,
    field: str,
) -> None:
    body = session_body(programme["hall"]["id"], "10:00", "11:00")
    body.update(change)
    response = await client.post(f"{programme['base']}/sessions", json=body, headers=staff_headers)
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert problem["errors"][0]["field"] == field
    assert problem["detail"] and problem["fix"]
    assert (await client.get(f"{programme['base']}/sessions", headers=staff_headers)).json() == []


async def test_drafts_are_hidden_from_the_public_api(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base = programme["base"]
    draft = (
        await client.post(
            f"{base}/sessions",
            json=session_body(programme["hall"]["id"], "10:00", "11:00", status="draft"),
            headers=staff_headers,
        )
    ).json()
    assert (await client.get(f"{base}/sessions")).json() == []
    assert (await client.get(f"{base}/sessions/{draft['id']}")).status_code == 404
    assert len((await client.get(f"{base}/sessions", headers=staff_headers)).json()) == 1


async def test_duplicate_festival_slug_is_409(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    body = {"slug": SLUG, "name": "Again", "starts_on": "2026-08-01", "ends_on": "2026-08-02"}
    response = await client.post("/api/v1/festivals", json=body, headers=staff_headers)
    assert response.status_code == 409
    assert response.json()["errors"] == [{"field": "slug", "message": "already in use"}]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"timezone": "Europe/Nowhere"}, "timezone"),
        ({"ends_on": "2026-06-01"}, "ends_on"),
        ({"ends_on": "2026-12-31"}, "ends_on"),
        ({"starts_on": "1st July"}, "starts_on"),
    ],
)
async def test_bad_festival_values_name_the_field(
    client: Client, staff_headers: Headers, body: dict[str, Any], field: str
) -> None:
    full = {"slug": "new-fest", "name": "New", "starts_on": "2026-07-01", "ends_on": "2026-07-02"}
    full.update(body)
    response = await client.post("/api/v1/festivals", json=full, headers=staff_headers)
    assert response.status_code in (400, 422)
    assert response.json()["errors"][0]["field"] == field
    assert (await client.get("/api/v1/festivals")).json() == []


async def test_changing_festival_dates_cannot_strand_sessions(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base = programme["base"]
    await client.post(
        f"{base}/sessions",
        json=session_body(programme["hall"]["id"], "10:00", "11:00"),
        headers=staff_headers,
    )
    response = await client.patch(base, json={"starts_on": "2026-07-02"}, headers=staff_headers)
    assert response.status_code == 422
    assert "1 session(s) would fall outside" in response.json()["detail"]
    renamed = await client.patch(base, json={"name": "Summer Festival 2026"}, headers=staff_headers)
    assert renamed.json()["name"] == "Summer Festival 2026"


async def test_rooms_and_people_in_use_cannot_be_deleted(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base = programme["base"]
    await client.post(
        f"{base}/sessions",
        json=session_body(
            programme["hall"]["id"],
            "10:00",
            "11:00",
            title="Busy",
            co_producers=[{"person_id": programme["ann"]["id"], "role": "profession"}],
        ),
        headers=staff_headers,
    )
    room = await client.delete(f"{base}/rooms/{programme['hall']['id']}", headers=staff_headers)
    assert room.status_code == 409
    assert "'Busy'" in room.json()["detail"]
    venue = await client.delete(f"{base}/venues/{programme['venue']['id']}", headers=staff_headers)
    assert venue.status_code == 409
    person = await client.delete(f"{base}/people/{programme['ann']['id']}", headers=staff_headers)
    assert person.status_code == 409
    studio = await client.delete(f"{base}/rooms/{programme['studio']['id']}", headers=staff_headers)
    assert studio.status_code == 204
    rooms = (await client.get(f"{base}/rooms")).json()
    assert [r["name"] for r in rooms] == ["Great Hall"]


async def test_deleting_a_festival_removes_its_programme(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base = programme["base"]
    await client.post(
        f"{base}/sessions",
        json=session_body(programme["hall"]["id"], "10:00", "11:00"),
        headers=staff_headers,
    )
    assert (await client.delete(base, headers=staff_headers)).status_code == 204
    assert (await client.get(base)).status_code == 404
    assert (await client.get("/api/v1/festivals")).json() == []


async def test_duplicate_room_and_venue_names_are_409(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base = programme["base"]
    venue = await client.post(f"{base}/venues", json={"name": "town hall"}, headers=staff_headers)
    assert venue.status_code == 409
    room = await client.post(
        f"{base}/rooms",
        json={"venue_id": programme["venue"]["id"], "name": "Great Hall"},
        headers=staff_headers,
    )
    assert room.status_code == 409
    assert room.json()["errors"][0]["field"] == "name"


async def test_online_room_keeps_its_join_link(
    client: Client, staff_headers: Headers, programme: dict[str, Any]
) -> None:
    base = programme["base"]
    online = (
        await client.post(
            f"{base}/venues", json={"name": "Online", "online": True}, headers=staff_headers
        )
    ).json()
    room = await client.post(
        f"{base}/rooms",
        json={"venue_id": online["id"], "name": "Room A", "join_url": "https://meet.example.org/a"},
        headers=staff_headers,
    )
    assert room.status_code == 201
    assert room.json()["online"] is True
    bad = await client.post(
        f"{base}/rooms",
        json={"venue_id": online["id"], "name": "Room B", "join_url": "javascript:alert(1)"},
        headers=staff_headers,
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["field"] == "join_url"
