"""A session's track is as long as its column holds: a longer one is refused with a 400
that says so, on SQLite (which would have kept it) as on PostgreSQL (which refused it
with a server error). Found by the browser tests on PostgreSQL."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.programme.schemas import TRACK_LENGTH
from tests.programme.helpers import make_programme, session_body


async def test_a_track_longer_than_its_column_is_refused_and_the_longest_is_kept(
    client: AsyncTestClient[Litestar], staff_headers: dict[str, str]
) -> None:
    made = await make_programme(client, staff_headers)
    sessions = f"{made['base']}/sessions"
    longest = "T" * TRACK_LENGTH
    too_long = longest + "T"

    refused = await client.post(
        sessions,
        json=session_body(made["hall"]["id"], "10:00", "11:00", track=too_long),
        headers=staff_headers,
    )
    assert refused.status_code == 400, refused.text
    assert refused.json()["errors"] == [
        {"field": "track", "message": f"Expected `str` of length <= {TRACK_LENGTH}"}
    ]

    created = await client.post(
        sessions,
        json=session_body(made["hall"]["id"], "10:00", "11:00", track=longest),
        headers=staff_headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["track"] == longest

    changed = await client.patch(
        f"{sessions}/{created.json()['id']}", json={"track": too_long}, headers=staff_headers
    )
    assert changed.status_code == 400, changed.text
    kept = await client.get(f"{sessions}/{created.json()['id']}", headers=staff_headers)
    assert kept.json()["track"] == longest
