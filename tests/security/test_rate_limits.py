"""Guessing is throttled per client address, in the database (so every instance sees it):
staff sign-in, volunteer invite links and interviewees' consent links."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import httpx
import sqlalchemy as sa
from litestar import Litestar

from festival.app import create_app
from festival.consent.routes import TOKEN_ATTEMPTS, TOKEN_WINDOW
from festival.crew.service import INVITE_ATTEMPTS, INVITE_WINDOW
from festival.db.engine import Database
from festival.db.tables import sign_in_failures
from festival.settings import Settings
from tests.app_client import AppClient
from tests.clips.helpers import Client
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD
from tests.security.helpers import World

PROBLEM = "application/problem+json"
GUESS = "x" * 43


@asynccontextmanager
async def from_address(app: Litestar, host: str) -> AsyncIterator[httpx.AsyncClient]:
    """Another device: the same running app, reached from another client address."""
    transport = httpx.ASGITransport(app=app, client=(host, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://festival.test") as c:
        yield c


async def age_failures(db: Database, seconds: int) -> None:
    """Move every recorded failure ``seconds`` into the past, as waiting would."""
    async with db.write() as conn:
        rows = (await conn.execute(sa.select(sign_in_failures.c.id, sign_in_failures.c.at))).all()
        for row_id, at in rows:
            when = at if isinstance(at, datetime) else datetime.fromisoformat(at)
            await conn.execute(
                sa.update(sign_in_failures)
                .where(sign_in_failures.c.id == row_id)
                .values(at=when - timedelta(seconds=seconds))
            )


def assert_throttled(response: httpx.Response, window: int) -> None:
    assert response.status_code == 429, response.text
    wait = int(response.headers["retry-after"])
    assert 0 < wait <= window + 1


async def test_consent_link_guesses_are_throttled_per_address(
    client: Client, app: Litestar, world: World, db: Database
) -> None:
    async with (
        from_address(app, "198.51.100.7") as guesser,
        from_address(app, "203.0.113.20") as owner,
    ):
        for n in range(TOKEN_ATTEMPTS):
            guess = await guesser.get(f"/api/v1/consent/{GUESS}{n}")
            assert guess.status_code == 404
        api = await guesser.get(f"/api/v1/consent/{GUESS}")
        assert_throttled(api, TOKEN_WINDOW)
        assert api.headers["content-type"].startswith(PROBLEM)
        assert api.json()["retry_after"] == int(api.headers["retry-after"])
        page = await guesser.get(f"/consent/{GUESS}")
        assert_throttled(page, TOKEN_WINDOW)
        assert "text/html" in page.headers["content-type"]
        # Even the right link waits, from the guessing device: no oracle left open.
        assert_throttled(await guesser.get(f"/consent/{world.consent_token}"), TOKEN_WINDOW)
        # The interviewee on their own phone is not locked out by someone else's guessing.
        mine = await owner.get(f"/consent/{world.consent_token}")
        assert mine.status_code == 200
        assert (await owner.get(f"/api/v1/consent/{world.consent_token}")).status_code == 200
        # The media behind the link is throttled the same way.
        media = await guesser.get(f"/consent/{GUESS}/media/{world.clip_id}/web.mp4")
        assert media.status_code == 429
        await age_failures(db, TOKEN_WINDOW + 1)
        assert (await guesser.get(f"/consent/{world.consent_token}")).status_code == 200


async def test_invite_link_guesses_are_throttled_per_address(
    app: Litestar, world: World, db: Database
) -> None:
    async with (
        from_address(app, "198.51.100.8") as guesser,
        from_address(app, "203.0.113.21") as volunteer,
    ):
        for n in range(INVITE_ATTEMPTS):
            guess = await guesser.get(f"/volunteers/invite/fvt_{GUESS}{n}")
            assert guess.status_code == 401
        blocked = await guesser.get(f"/volunteers/invite/fvt_{GUESS}")
        assert_throttled(blocked, INVITE_WINDOW)
        assert "Wait" in blocked.text and "festival_session" not in blocked.cookies
        assert_throttled(
            await guesser.get(f"/volunteers/invite/{world.volunteer['token']}"), INVITE_WINDOW
        )
        opened = await volunteer.get(f"/volunteers/invite/{world.volunteer['token']}")
        assert opened.status_code == 303 and "festival_session" in opened.cookies
        await age_failures(db, INVITE_WINDOW + 1)
        again = await guesser.get(f"/volunteers/invite/{world.volunteer['token']}")
        assert again.status_code == 303


async def sign_in(c: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await c.get("/staff/sign-in")
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
    assert token
    return await c.post(
        "/staff/sign-in",
        data={"_csrf_token": token.group(1), "email": email, "password": password},
    )


async def test_wrong_passwords_are_throttled_and_every_instance_knows(
    client: Client,
    app: Litestar,
    settings: Settings,
    db: Database,
    staff_headers: dict[str, str],
) -> None:
    from festival.accounts.service import create_or_update_staff

    await create_or_update_staff(db, "second@festival.test", STAFF_PASSWORD, "Second")
    async with (
        from_address(app, "198.51.100.9") as guesser,
        from_address(app, "203.0.113.22") as colleague,
    ):
        for _ in range(settings.sign_in_attempts):
            wrong = await sign_in(guesser, STAFF_EMAIL, "not the password")
            assert wrong.status_code == 401
        refused = await sign_in(guesser, STAFF_EMAIL, STAFF_PASSWORD)
        assert_throttled(refused, settings.sign_in_window)
        assert "festival_session" not in guesser.cookies
        # Another instance of the service, on the same database, refuses as well.
        async with AppClient(create_app(settings), base_url="http://festival.test") as other:
            assert_throttled(
                await sign_in(other, STAFF_EMAIL, STAFF_PASSWORD), settings.sign_in_window
            )
        # Someone else, on their own device and account, signs in as usual.
        fine = await sign_in(colleague, "second@festival.test", STAFF_PASSWORD)
        assert fine.status_code == 303 and "festival_session" in colleague.cookies
        await age_failures(db, settings.sign_in_window + 1)
        back = await sign_in(guesser, STAFF_EMAIL, STAFF_PASSWORD)
        assert back.status_code == 303, back.text
        assert (await guesser.get("/api/v1/me")).json()["email"] == STAFF_EMAIL
