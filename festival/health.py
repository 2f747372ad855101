"""``GET /health``: 200 when the database and the media store answer, 503 when not."""

from __future__ import annotations

import logging
import os

import anyio
import msgspec
from litestar import Controller, Response, get
from litestar.di import NamedDependency

from festival.clips.service import ClipServices
from festival.db.engine import Database
from festival.settings import Settings
from festival.storage import open_store
from media.s3 import S3Store
from media.storage import Store

log = logging.getLogger(__name__)

MEDIA_TIMEOUT = 5.0
"""Seconds an S3 store has to answer: a health check that hangs helps nobody."""


class Health(msgspec.Struct):
    status: str
    database: str
    media: str


async def check(db: Database, settings: Settings, store: Store | None = None) -> Health:
    """Ask the database and the media store; ``store`` is the app's own, if it has one
    (without it, an S3 store is opened for the question)."""
    database = "ok" if await db.ping() else "unreachable"
    media = "ok"
    if settings.media_in_s3:
        if not await _s3_answers(store if store is not None else open_store(settings, db)):
            media = "unreachable"
    else:
        root = settings.media_root
        if not (root.is_dir() and os.access(root, os.W_OK)):
            media = "unreachable"
    status = "ok" if database == media == "ok" else "unavailable"
    return Health(status=status, database=database, media=media)


async def _s3_answers(store: Store) -> bool:
    """Whether the bucket answers a listing with our keys, within MEDIA_TIMEOUT."""
    if not isinstance(store, S3Store):
        return False
    try:
        with anyio.fail_after(MEDIA_TIMEOUT):
            await store.ping()
    except Exception as error:  # any failure means the same to a health check
        log.warning("media store %s does not answer: %s", store.url, error)
        return False
    return True


class HealthController(Controller):
    path = "/health"
    tags = ["health"]

    @get("", summary="Is the service up?", cache=False)
    async def health(
        self,
        db: NamedDependency[Database],
        settings: NamedDependency[Settings],
        clips: NamedDependency[ClipServices],
    ) -> Response[Health]:
        result = await check(db, settings, clips.store)
        return Response(result, status_code=200 if result.status == "ok" else 503)
