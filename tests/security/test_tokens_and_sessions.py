"""Secrets at rest are hashes only; sessions are new on every sign-in and end for good
on sign-out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from litestar import Litestar

from festival.settings import Settings
from tests.clips.helpers import Client, sign_in_as_staff
from tests.security.helpers import World, csrf_token

SESSION = "festival_session"


def database_bytes(settings: Settings) -> bytes:
    """The database as it lies on disk, write-ahead log included."""
    path = Path(settings.database_url.removeprefix("sqlite+aiosqlite:///"))
    with sqlite3.connect(path) as conn:
        rows = [
            repr(row)
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            for row in conn.execute(f'SELECT * FROM "{table}"')
        ]
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    return "\n".join(rows).encode() + b"".join(p.read_bytes() for p in files)


async def test_no_raw_token_is_kept_in_the_database(
    client: Client, app: Litestar, world: World, settings: Settings, staff_token: str
) -> None:
    await sign_in_as_staff(client)
    staff_session = client.cookies[SESSION]
    client.cookies.clear()
    opened = await client.get(f"/volunteers/invite/{world.volunteer['token']}")
    assert opened.status_code == 200
    volunteer_session = client.cookies[SESSION]
    secrets = {
        "staff API token": staff_token,
        "staff session": staff_session,
        "volunteer invite": world.volunteer["token"],
        "volunteer session": volunteer_session,
        "consent link": world.consent_token,
    }
    assert all(len(value) >= 32 for value in secrets.values())
    await app.state.jobs.run_until_idle()
    stored = database_bytes(settings)
    assert len(stored) > 10_000
    for what, value in secrets.items():
        # Neither the token nor its random part (after a prefix such as fst_) is stored.
        assert value.encode() not in stored, what
        assert value.split("_", 1)[-1][:24].encode() not in stored, what


async def test_sign_in_gives_a_new_session_and_a_planted_one_gets_nothing(
    client: Client, staff_headers: dict[str, str]
) -> None:
    planted = "planted-by-someone-else-" + "p" * 20
    client.cookies.set(SESSION, planted, domain="festival.test")
    await sign_in_as_staff(client)
    first = client.cookies[SESSION]
    assert first != planted
    assert (await client.get("/api/v1/me")).json()["kind"] == "staff"
    # Signing in again (on this device or another) starts another session.
    await sign_in_as_staff(client)
    second = client.cookies[SESSION]
    assert second not in (first, planted)
    client.cookies.clear()
    client.cookies.set(SESSION, planted, domain="festival.test")
    assert (await client.get("/api/v1/me")).json()["kind"] == "anonymous"
    refused = await client.get("/staff", follow_redirects=False)
    assert refused.status_code == 303 and "/staff/sign-in" in refused.headers["location"]


async def test_sign_out_ends_the_session_on_the_server(
    client: Client, staff_headers: dict[str, str]
) -> None:
    await sign_in_as_staff(client)
    session = client.cookies[SESSION]
    token = await csrf_token(client, "/staff/festivals/new")
    out = await client.post("/staff/sign-out", data={"_csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    # Someone who copied the cookie before sign-out cannot use it afterwards.
    client.cookies.set(SESSION, session, domain="festival.test")
    assert (await client.get("/api/v1/me")).json()["kind"] == "anonymous"
    page = await client.get("/staff", follow_redirects=False)
    assert page.status_code == 303
