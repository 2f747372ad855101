"""Staff assign volunteers to interview slots; every hard rule refuses with its name."""

from __future__ import annotations

import pytest

from tests.crew.helpers import Client, Crew, at


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def test_trained_free_volunteer_is_assigned_and_counted(crew: Crew) -> None:
    ada = await crew.volunteer("ada@crew.test", name="Ada")
    slot = await crew.slot(2, 2.25)
    result = await crew.assign(slot["id"], ada["id"])
    assert [(a["volunteer_name"], a["status"], a["source"]) for a in result["assignments"]] == [
        ("Ada", "assigned", "staff")
    ]
    volunteer = (
        await crew.client.get(f"{crew.base}/volunteers/{ada['id']}", headers=crew.staff)
    ).json()
    assert volunteer["counts"] == {"slots": 1, "hours": 0.25, "no_shows": 0, "declined": 0}
    assert volunteer["trained"] is True


async def test_untrained_volunteer_is_refused_naming_the_rule(crew: Crew) -> None:
    bo = await crew.volunteer("bo@crew.test", name="Bo", trained=False)
    slot = await crew.slot(2, 3)
    problem = await crew.assign(slot["id"], bo["id"], status=422)
    assert problem["conflicts_with"] == {"rule": "trained", "volunteer_id": bo["id"]}
    assert "Bo has no training recorded" in problem["detail"]
    assert (await crew.client.get(f"{crew.base}/slots/{slot['id']}", headers=crew.staff)).json()[
        "assignments"
    ] == []


async def test_suspended_volunteer_is_refused(crew: Crew) -> None:
    cy = await crew.volunteer("cy@crew.test", name="Cy")
    suspended = await crew.client.patch(
        f"{crew.base}/volunteers/{cy['id']}",
        json={"suspended": True, "suspended_reason": "Asked for a break"},
        headers=crew.staff,
    )
    assert suspended.json()["suspended"] is True
    slot = await crew.slot(2, 3)
    problem = await crew.assign(slot["id"], cy["id"], status=422)
    assert problem["conflicts_with"]["rule"] == "not-suspended"


async def test_volunteer_not_free_then_is_refused(crew: Crew) -> None:
    di = await crew.volunteer("di@crew.test", name="Di", free=(0, 2))
    slot = await crew.slot(1.5, 2.5)
    problem = await crew.assign(slot["id"], di["id"], status=422)
    assert problem["conflicts_with"]["rule"] == "available"
    assert "Di has not said they are free" in problem["detail"]


async def test_overlapping_slot_is_409_naming_the_other_slot(crew: Crew) -> None:
    ed = await crew.volunteer("ed@crew.test", name="Ed")
    first = await crew.slot(2, 3, room="N1")
    second = await crew.slot(2.5, 3.5, room="N2")
    await crew.assign(first["id"], ed["id"])
    problem = await crew.assign(second["id"], ed["id"], status=409)
    assert problem["conflicts_with"] == {
        "rule": "no-overlap",
        "volunteer_id": ed["id"],
        "slot_id": first["id"],
    }
    assert f"Ed already has slot {first['id']}" in problem["detail"]


async def test_travel_buffer_applies_between_venues_only(crew: Crew) -> None:
    fay = await crew.volunteer("fay@crew.test", name="Fay")
    north = await crew.slot(2, 3, room="N1")
    next_door = await crew.slot(3, 3.5, room="N2")  # same venue, back to back
    across_town = await crew.slot(3.5, 4, room="S1")  # other venue, no time to travel
    await crew.assign(north["id"], fay["id"])
    await crew.assign(next_door["id"], fay["id"])
    problem = await crew.assign(across_town["id"], fay["id"], status=409)
    assert "15 minutes' travel" in problem["detail"]
    rules = await crew.client.patch(
        f"{crew.base}/crew-rules", json={"travel_buffer_minutes": 0}, headers=crew.staff
    )
    assert rules.json()["travel_buffer_minutes"] == 0
    await crew.assign(across_town["id"], fay["id"])


async def test_full_slot_and_double_assignment_are_409(crew: Crew) -> None:
    gus = await crew.volunteer("gus@crew.test", name="Gus")
    hal = await crew.volunteer("hal@crew.test", name="Hal")
    slot = await crew.slot(2, 3, capacity=1)
    await crew.assign(slot["id"], gus["id"])
    twice = await crew.assign(slot["id"], gus["id"], status=409)
    assert twice["conflicts_with"]["rule"] == "once"
    full = await crew.assign(slot["id"], hal["id"], status=409)
    assert full["conflicts_with"] == {"rule": "capacity", "slot_id": slot["id"]}
    assert "all 1 place(s) filled" in full["detail"]


async def test_unassign_frees_the_place(crew: Crew) -> None:
    ivy = await crew.volunteer("ivy@crew.test")
    jo = await crew.volunteer("jo@crew.test")
    slot = await crew.slot(2, 3)
    await crew.assign(slot["id"], ivy["id"])
    gone = await crew.client.delete(
        f"{crew.base}/slots/{slot['id']}/assignments/{ivy['id']}", headers=crew.staff
    )
    assert gone.status_code == 204
    await crew.assign(slot["id"], jo["id"])


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"capacity": -1}, 400, "capacity"),
        ({"capacity": 0}, 400, "capacity"),
        ({"starts_at": at(24 * 10), "ends_at": at(24 * 10 + 1)}, 422, "starts_at"),
        ({"ends_at": at(1)}, 422, "ends_at"),
        ({"room_id": 999}, 422, "room_id"),
        ({"session_id": 999}, 422, "session_id"),
    ],
)
async def test_bad_slots_are_refused(
    crew: Crew, body: dict[str, object], status: int, field: str
) -> None:
    full: dict[str, object] = {"starts_at": at(2), "ends_at": at(3), "room_id": crew.rooms["N1"]}
    full.update(body)
    problem = await crew.post("/slots", full, status)
    assert problem["errors"][0]["field"] == field
    assert (await crew.client.get(f"{crew.base}/slots", headers=crew.staff)).json() == []


async def test_roaming_slot_needs_a_place(crew: Crew) -> None:
    problem = await crew.post("/slots", {"starts_at": at(2), "ends_at": at(3)}, 422)
    assert problem["errors"][0]["field"] == "place"
    roaming = await crew.post(
        "/slots", {"starts_at": at(2), "ends_at": at(3), "place": "Roaming at lunch"}
    )
    assert roaming["place"] == "Roaming at lunch"
    assert roaming["venue_id"] is None


async def test_volunteers_cannot_use_staff_routes(crew: Crew) -> None:
    kim = await crew.volunteer("kim@crew.test")
    response = await crew.client.get(f"{crew.base}/volunteers", headers=kim["headers"])
    assert response.status_code == 403
    assert "Only festival staff" in response.json()["detail"]
