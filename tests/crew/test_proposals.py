"""Staff ask for a proposal for every unfilled place, read why gaps remain, then apply it."""

from __future__ import annotations

import pytest

from tests.crew.helpers import Client, Crew


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def test_proposal_fills_what_the_rules_allow_and_explains_the_rest(crew: Crew) -> None:
    ann = await crew.volunteer("ann@crew.test", name="Ann", free=(1, 4))
    ben = await crew.volunteer("ben@crew.test", name="Ben", free=(1, 4))
    await crew.volunteer("cal@crew.test", name="Cal", trained=False, free=(1, 4))
    first = await crew.slot(1, 2, capacity=2)
    second = await crew.slot(2, 3)
    lonely = await crew.slot(10, 11)  # nobody is free then

    proposal = await crew.post("/proposals", {})
    assert proposal["wanted"] == 4
    assert proposal["covered"] == 3
    placed = sorted((p["slot_id"], p["volunteer_name"]) for p in proposal["placements"])
    assert placed[:2] == [(first["id"], "Ann"), (first["id"], "Ben")]
    assert placed[2][0] == second["id"]
    assert [(u["slot_id"], u["places"]) for u in proposal["unfilled"]] == [(lonely["id"], 1)]
    assert proposal["unfilled"][0]["reason"]
    assert "Cal" not in {p["volunteer_name"] for p in proposal["placements"]}
    # Nothing is assigned until staff apply it.
    slots = (await crew.client.get(f"{crew.base}/slots", headers=crew.staff)).json()
    assert all(s["assignments"] == [] for s in slots)

    applied = await crew.post(f"/proposals/{proposal['id']}/apply", {})
    assert applied["applied"] is True
    slots = (await crew.client.get(f"{crew.base}/slots", headers=crew.staff)).json()
    by_id = {s["id"]: s for s in slots}
    assert sorted(a["volunteer_id"] for a in by_id[first["id"]]["assignments"]) == sorted(
        [ann["id"], ben["id"]]
    )
    assert [a["source"] for a in by_id[second["id"]]["assignments"]] == ["auto"]
    again = await crew.post(f"/proposals/{proposal['id']}/apply", {}, status=409)
    assert "already been applied" in again["detail"]


async def test_same_state_gives_the_same_proposal(crew: Crew) -> None:
    for name in ("dee", "eli", "fin"):
        await crew.volunteer(f"{name}@crew.test", name=name.title(), free=(1, 6))
    for hour in (1, 2, 3, 4):
        await crew.slot(hour, hour + 1)
    one = await crew.post("/proposals", {})
    two = await crew.post("/proposals", {})
    assert one["placements"] == two["placements"]
    hours = sorted(one["hours_by_volunteer"].values())
    assert hours[-1] - hours[0] <= 1.0  # four hours shared among three as evenly as can be


async def test_stale_proposal_is_refused(crew: Crew) -> None:
    gil = await crew.volunteer("gil@crew.test", name="Gil", free=(1, 4))
    slot = await crew.slot(1, 2)
    proposal = await crew.post("/proposals", {})
    await crew.assign(slot["id"], gil["id"])
    stale = await crew.post(f"/proposals/{proposal['id']}/apply", {}, status=409)
    assert "changed since this proposal" in stale["detail"]


async def test_a_saved_proposal_reads_back_with_its_own_id(crew: Crew) -> None:
    await crew.volunteer("hana@crew.test", name="Hana", free=(1, 4))
    await crew.slot(1, 2)
    proposal = await crew.post("/proposals", {})
    again = await crew.client.get(f"{crew.base}/proposals/{proposal['id']}", headers=crew.staff)
    assert again.json()["id"] == proposal["id"] != 0
    assert again.json()["placements"] == proposal["placements"]
