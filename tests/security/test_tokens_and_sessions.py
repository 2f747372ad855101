"""Secrets at rest are hashes only; sessions are new on every sign-in and end for good
on sign-out."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from festival.accounts.service import hash_token
from festival.db.engine import Database
from festival.settings import Settings
from tests.clips.helpers import Client, sign_in_as_staff
from tests.security.helpers import World, csrf_token, every_row

SESSION = "festival_session"


async def stored_bytes(db: Database, settings: Settings) -> bytes:
    """Every row of every table and, on SQLite, the database's files as they lie on disk,
    write-ahead log included (PostgreSQL's files belong to its server)."""
    rows = await every_row(db)
    stored = "\n".join(repr(row) for found in rows.values() for row in found).encode()
    if db.dialect == "sqlite":
        path = Path(settings.database_url.removeprefix("sqlite+aiosqlite:///"))
        files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
        stored += b"".join(p.read_bytes() for p in files)
    return stored


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
    stored = await stored_bytes(app.state.db, settings)
    for what, value in secrets.items():
        # What is kept is the token's hash (so this read the rows that hold them) ...
        assert hash_token(value).encode() in stored, what
        # ... and neither the token nor its random part (after a prefix such as fst_).
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
