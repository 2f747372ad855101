"""Numbers too large for the database are the client's mistake: a 400 that says so, never
a server error. Found by the API fuzzer (tests/test_api_fuzzing.py)."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.programme.helpers import SLUG, make_programme

HUGE = 2**64 + 5  # beyond SQLite's 64-bit INTEGER


async def test_an_id_beyond_64_bits_in_the_path_is_a_400_problem(
    client: AsyncTestClient[Litestar], staff_headers: dict[str, str]
) -> None:
    await make_programme(client, staff_headers)
    for path in (
        f"/api/v1/clips/{HUGE}",
        f"/api/v1/clips/{HUGE}/cues",
        f"/api/v1/festivals/{SLUG}/sessions/{HUGE}",
    ):
        response = await client.get(path, headers=staff_headers)
        assert response.status_code == 400, (path, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        problem = response.json()
        assert problem["title"] == "The request could not be read"
        assert problem["detail"] == "A number in this request is too large to be an id or a count."
        assert "9223372036854775808" in problem["fix"]
        assert problem["instance"] == path
