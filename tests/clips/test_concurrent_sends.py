"""Two PATCH requests to one upload at once, over real sockets: one wins, bytes never mix."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from festival.crew.schemas import InviteIn
from festival.crew.service import invite
from festival.db.engine import Database
from festival.programme.schemas import FestivalIn
from festival.programme.service import create_festival
from tests.browser.conftest import LiveServer
from tests.clips.helpers import OCTETS, TUS, metadata
from tests.conftest import NewDatabase, run_async

pytestmark = pytest.mark.slow
SIZE = 8 * 1024 * 1024


@pytest.fixture
def server(tmp_path: Path, new_database: NewDatabase) -> Iterator[LiveServer]:
    data_dir = tmp_path / "var"
    live = LiveServer(data_dir, new_database(data_dir)).start()
    yield live
    live.stop()


def _volunteer_token(server: LiveServer) -> str:
    from datetime import UTC, datetime, timedelta

    async def setup() -> str:
        db = Database.open(server.settings.database_url)
        try:
            today = datetime.now(UTC).date()
            await create_festival(
                db,
                FestivalIn(
                    slug="race-fest",
                    name="Race Festival",
                    starts_on=today - timedelta(days=1),
                    ends_on=today + timedelta(days=1),
                ),
            )
            made = await invite(db, "race-fest", InviteIn(email="ada@crew.test"), server.url)
            return made.token
        finally:
            await db.close()

    return run_async(setup())


def test_two_sends_at_once_never_interleave(server: LiveServer) -> None:
    auth = {"Authorization": f"Bearer {_volunteer_token(server)}"}

    async def race() -> tuple[list[int], str]:
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:
            created = await client.post(
                "/api/v1/uploads",
                headers={
                    **auth,
                    **TUS,
                    "Upload-Length": str(SIZE),
                    "Upload-Metadata": metadata(filename="a.mp4", filetype="video/mp4"),
                },
            )
            assert created.status_code == 201, created.text
            url = created.headers["location"]

            async def body(fill: bytes) -> AsyncIterator[bytes]:
                for _ in range(128):
                    await asyncio.sleep(0.001)
                    yield fill * (SIZE // 128)

            async def send(fill: bytes) -> int:
                response = await client.patch(
                    url,
                    content=body(fill),
                    headers={**auth, **TUS, "Upload-Offset": "0", "Content-Type": OCTETS},
                )
                return response.status_code

            codes = await asyncio.gather(send(b"a"), send(b"b"))
            mine = (await client.get("/api/v1/my-clips", headers=auth)).json()
            return list(codes), mine["clips"][0]["original_sha256"] if mine["clips"] else ""

    codes, digest = asyncio.run(race())
    assert sorted(codes)[0] == 204 and sorted(codes)[1] in (409, 423), codes
    winner = b"a" if codes[0] == 204 else b"b"
    assert digest == hashlib.sha256(winner * SIZE).hexdigest()
