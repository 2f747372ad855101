"""Numbers too large for the database are the client's mistake: a 400 that says so, never
a server error. Found by the API fuzzer (tests/test_api_fuzzing.py), on SQLite (64-bit
INTEGER) and again on PostgreSQL (32-bit INTEGER)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.programme.helpers import SLUG, make_programme

HUGE = 2**64 + 5  # beyond any database's integers
#: The first whole number the ids' INTEGER columns cannot hold, on each engine.
LIMITS = {"sqlite": 2**63, "postgresql": 2**31}


def _paths(number: int) -> tuple[str, ...]:
    return (
        f"/api/v1/clips/{number}",
        f"/api/v1/clips/{number}/cues",
        f"/api/v1/festivals/{SLUG}/sessions/{number}",
    )


async def test_an_id_beyond_the_databases_integers_in_the_path_is_a_400_problem(
    client: AsyncTestClient[Litestar], staff_headers: dict[str, str], engine: str
) -> None:
    await make_programme(client, staff_headers)
    limit = LIMITS[engine]
    for number in (HUGE, limit):
        for path in _paths(number):
            response = await client.get(path, headers=staff_headers)
            assert response.status_code == 400, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            problem = response.json()
            assert problem["title"] == "The request could not be read"
            assert (
                problem["detail"] == "A number in this request is too large to be an id or a count."
            )
            assert problem["fix"] == f"Use whole numbers below {limit}."
            assert problem["instance"] == path
    # One below the limit is an id that could exist: there is simply nothing there.
    for path in _paths(limit - 1):
        response = await client.get(path, headers=staff_headers)
        assert response.status_code == 404, (path, response.text)
