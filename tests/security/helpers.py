"""A small festival with one published interview, for walking every route."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar import Litestar

from festival.db.engine import Database
from tests.clips.helpers import Client
from tests.consent.helpers import token_of
from tests.crew.helpers import SLUG, Crew
from tests.outputs.helpers import link, published, session

CSRF_FIELD = re.compile(r'name="_csrf_token" value="([^"]+)"')
#: What the service says when a form's CSRF token is missing or wrong.
CSRF_REFUSAL = "did not come from this site"


@dataclass
class World:
    crew: Crew
    volunteer: dict[str, Any]
    clip_id: int
    session_id: int
    consent: dict[str, Any]
    values: dict[str, str] = field(default_factory=dict)

    @property
    def consent_token(self) -> str:
        return token_of(self.consent)

    def fill(self, path: str) -> str:
        """A route's path with each parameter replaced by a real value from this world."""

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "token":
                return self.values[
                    "calendar"
                    if path.startswith("/volunteers/calendar")
                    else "invite"
                    if path.startswith("/volunteers/invite")
                    else "consent"
                ]
            return self.values.get(name, "1")

        return re.sub(r"\{(\w+)(?::\w+)?\}", value, path)


async def build_world(client: Client, app: Litestar, staff: dict[str, str], folder: Path) -> World:
    crew = await Crew(client, staff).setup()
    volunteer = await crew.volunteer("ada@crew.test", name="Ada Lovelace")
    session_id = await session(crew, "Opening circle")
    clip_id, created = await published(crew, app, volunteer["headers"], folder, "Ada's interview")
    await link(crew, clip_id, session_id)
    world = World(crew, volunteer, clip_id, session_id, created)
    day = (await client.get("/api/v1/volunteer/day", headers=volunteer["headers"])).json()
    calendar = str(day.get("calendar_url", "")).rsplit("/", 1)[-1]
    world.values = {
        "slug": SLUG,
        "clip_id": str(clip_id),
        "session_id": str(session_id),
        "consent_id": str(created["consent"]["id"]),
        "volunteer_id": str(volunteer["id"]),
        "consent": world.consent_token,
        "invite": volunteer["token"],
        "calendar": calendar or "1-x.ics",
        "name": "web.mp4",
        "file_path": "festival.css",
        "path": "openapi.json",
    }
    return world


async def csrf_token(client: Client, page: str) -> str:
    """The CSRF token from a form on ``page``, as a browser would find it."""
    response = await client.get(page)
    found = CSRF_FIELD.search(response.text)
    assert found, f"no CSRF field on {page}: {response.status_code}"
    return found.group(1)


async def every_row(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, each table's rows in a fixed order, with SQLite's
    ``sqlite_sequence`` or PostgreSQL's sequences (as a table of name and last value), so
    that even a row written and deleted again shows."""
    async with db.read() as conn:
        if db.dialect == "sqlite":
            listed = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            listed = "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        names = [name for (name,) in (await conn.exec_driver_sql(listed)).all()]
        rows = {
            name: [tuple(r) for r in await conn.exec_driver_sql(f'SELECT * FROM "{name}"')]
            for name in names
        }
        if db.dialect == "postgresql":
            sequences = await conn.execute(
                sa.text(
                    "SELECT sequencename, last_value FROM pg_sequences WHERE schemaname = 'public'"
                )
            )
            rows["pg_sequences"] = [tuple(r) for r in sequences]
    return {name: sorted(found, key=repr) for name, found in rows.items()}
