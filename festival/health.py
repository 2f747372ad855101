"""``GET /health``: 200 when the database and the media store answer, 503 when not."""

from __future__ import annotations

import os

import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from festival.db.engine import Database
from festival.settings import Settings


class Health(msgspec.Struct):
    status: str
    database: str
    media: str


async def check(db: Database, settings: Settings) -> Health:
    database = "ok" if await db.ping() else "unreachable"
    media = "ok"
    if settings.media_url.startswith("file://"):
        root = settings.media_root
        if not (root.is_dir() and os.access(root, os.W_OK)):
            media = "unreachable"
    status = "ok" if database == media == "ok" else "unavailable"
    return Health(status=status, database=database, media=media)


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("", summary="Is the service up?", cache=False)
    async def health(
        self, db: NamedDependency[Database], settings: NamedDependency[Settings]
    ) -> Response[Health]:
        result = await check(db, settings)
        return Response(result, status_code=200 if result.status == "ok" else 503)
