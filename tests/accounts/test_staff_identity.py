"""Staff sign in with a password or an API token; guessing is slowed; forms need CSRF."""

from __future__ import annotations

import re

import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import AsyncTestClient

from festival.accounts.service import create_or_update_staff, hash_token, new_api_token
from festival.db.engine import Database
from festival.db.tables import api_tokens, staff, web_sessions
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD

Client = AsyncTestClient[Litestar]
CSRF = re.compile(r'name="_csrf_token" value="([^"]+)"')


async def _csrf(client: Client, path: str = "/staff/sign-in") -> str:
    page = await client.get(path)
    match = CSRF.search(page.text)
    assert match, "the form carries a CSRF token"
    return match.group(1)


async def _sign_in(client: Client, password: str, email: str = STAFF_EMAIL) -> object:
    token = await _csrf(client)
    return await client.post(
        "/staff/sign-in",
        data={"email": email, "password": password, "_csrf_token": token, "next": "/staff"},
        follow_redirects=False,
    )


async def test_staff_member_signs_in_and_out_with_a_session_cookie(
    client: Client, db: Database
) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
    response = await _sign_in(client, STAFF_PASSWORD)
    assert response.status_code == 303  # type: ignore[attr-defined]
    assert response.headers["location"] == "/staff"  # type: ignore[attr-defined]
    cookie = response.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "festival_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie

    me = (await client.get("/api/v1/me")).json()
    assert me["kind"] == "staff"
    assert me["email"] == STAFF_EMAIL
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(web_sessions.c.token_hash))).scalars().all()
    session_token = client.cookies.get("festival_session")
    assert stored == [hash_token(session_token)], "only a hash of the session is stored"

    out_token = await _csrf(client)
    response = await client.post(
        "/staff/sign-out", data={"_csrf_token": out_token}, follow_redirects=False
    )
    assert response.status_code == 303
    async with db.read() as conn:
        assert (
            await conn.execute(sa.select(sa.func.count()).select_from(web_sessions))
        ).scalar() == 0


async def test_wrong_password_says_so_and_keeps_the_email(client: Client, db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD)
    response = await _sign_in(client, "not the password")
    assert response.status_code == 401  # type: ignore[attr-defined]
    text = response.text  # type: ignore[attr-defined]
    assert "There is a problem" in text
    assert "The email address or password is not right." in text
    assert f'value="{STAFF_EMAIL}"' in text
    assert "festival_session" not in response.headers.get("set-cookie", "")  # type: ignore[attr-defined]


async def test_repeated_wrong_passwords_are_rate_limited(client: Client, db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD)
    for _ in range(5):
        assert (await _sign_in(client, "guess")).status_code == 401  # type: ignore[attr-defined]
    blocked = await _sign_in(client, STAFF_PASSWORD)
    assert blocked.status_code == 429  # type: ignore[attr-defined]
    assert int(blocked.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert "Too many wrong sign-in attempts" in blocked.text  # type: ignore[attr-defined]


async def test_sign_in_form_without_csrf_token_is_refused(client: Client, db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD)
    await client.get("/staff/sign-in")
    response = await client.post(
        "/staff/sign-in", data={"email": STAFF_EMAIL, "password": STAFF_PASSWORD}
    )
    assert response.status_code == 403
    assert "This form has expired or did not come from this site." in response.text
    assert "festival_session" not in client.cookies


async def test_next_parameter_cannot_send_people_off_site(client: Client, db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD)
    token = await _csrf(client)
    response = await client.post(
        "/staff/sign-in",
        data={
            "email": STAFF_EMAIL,
            "password": STAFF_PASSWORD,
            "_csrf_token": token,
            "next": "//evil.example/",
        },
        follow_redirects=False,
    )
    assert response.headers["location"] == "/staff"


async def test_api_token_is_stored_hashed_and_works_as_bearer(client: Client, db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
    token = await new_api_token(db, STAFF_EMAIL)
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(api_tokens.c.token_hash))).scalars().all()
    assert stored == [hash_token(token)]
    assert token not in stored

    me = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["kind"] == "staff"
    assert me.json()["email"] == STAFF_EMAIL


async def test_unknown_or_revoked_token_is_401(client: Client, db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD)
    token = await new_api_token(db, STAFF_EMAIL)
    async with db.write() as conn:
        await conn.execute(sa.update(api_tokens).values(revoked_at=sa.func.current_timestamp()))
    for bearer in (token, "fst_made-up", "garbage"):
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {bearer}"})
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "revoked" in response.json()["detail"]


async def test_writes_need_staff(client: Client) -> None:
    body = {"slug": "x-fest", "name": "X", "starts_on": "2026-07-01", "ends_on": "2026-07-02"}
    response = await client.post("/api/v1/festivals", json=body)
    assert response.status_code == 401
    assert "sign in as festival staff" in response.json()["detail"]
    assert (await client.get("/api/v1/festivals")).json() == []


async def test_passwords_are_argon2_hashes(db: Database) -> None:
    await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD)
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(staff.c.password_hash))).scalar_one()
    assert stored.startswith("$argon2id$")
    assert STAFF_PASSWORD not in stored
