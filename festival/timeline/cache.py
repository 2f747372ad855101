"""Public pages kept ready to send, and never stale.

A page is kept with the value of the public change counter (``public_changes``, bumped
by database triggers on every change to anything public) and the date it was built on
(a consent can reach its end date with no write at all). Each request reads the counter,
one tiny query, and sends the kept bytes and ETag only if neither has moved. So a
withdrawal made on any instance, or from the command line, reaches every cached page at
the next request.

On PostgreSQL the counter is read over one private connection, and requests arriving
together share one read: every request waits for a read *sent after it arrived*, which
sees every change committed before it arrived, so sharing never makes a page stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from sqlalchemy.engine import make_url

from festival.caching import conditional, etag_of
from festival.clips.service import ClipServices
from festival.db.engine import Database
from festival.settings import Settings
from festival.timeline import queries

MAX_PAGES = 512


class Kept(msgspec.Struct, frozen=True):
    version: int
    day: date
    etag: str
    body: bytes


class PublicCache:
    """Encoded public documents by key, checked against the change counter."""

    def __init__(self, db: Database, database_url: str) -> None:
        self._db = db
        self._pages: OrderedDict[str, Kept] = OrderedDict()
        self._building: dict[tuple[str, int, date], asyncio.Future[Kept]] = {}
        self._sqlite: sqlite3.Connection | None = None
        if database_url.startswith("sqlite") and ":memory:" not in database_url:
            # A private connection for the counter: the read takes microseconds, less
            # than handing it to a worker thread would.
            path = database_url.split(":///", 1)[1]
            self._sqlite = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._sqlite.execute("PRAGMA query_only = ON")
        self._postgres_dsn: str | None = None
        if database_url.startswith("postgresql"):
            url = make_url(database_url).set(drivername="postgresql")
            self._postgres_dsn = url.render_as_string(hide_password=False)
        self._postgres: asyncpg.Connection | None = None
        self._postgres_lock = asyncio.Lock()
        self._next_read: asyncio.Future[int] | None = None
        self._reads: set[asyncio.Task[None]] = set()

    async def version(self) -> int:
        if self._sqlite is not None:
            return queries.public_version_now(self._sqlite)
        if self._postgres_dsn is not None:
            return await self._shared_postgres_read()
        async with self._db.read() as conn:
            return await queries.public_version(conn)

    async def _shared_postgres_read(self) -> int:
        """Join the next read of the counter that has not been sent yet, or start one."""
        pending = self._next_read
        if pending is None:
            pending = self._next_read = asyncio.get_running_loop().create_future()
            task = asyncio.ensure_future(self._read_postgres())
            self._reads.add(task)
            task.add_done_callback(self._reads.discard)
        return await asyncio.shield(pending)

    async def _read_postgres(self) -> None:
        async with self._postgres_lock:
            # From here on, newcomers wait for the next read: this one may be sent before
            # their request arrived.
            pending, self._next_read = self._next_read, None
            assert pending is not None
            try:
                if self._postgres is None or self._postgres.is_closed():
                    assert self._postgres_dsn is not None
                    self._postgres = await asyncpg.connect(self._postgres_dsn)
                pending.set_result(await queries.public_version_postgres(self._postgres))
            except Exception as error:
                if self._postgres is not None:
                    self._postgres.terminate()
                    self._postgres = None
                pending.set_exception(error)

    async def get(self, key: str, build: Callable[[], Awaitable[bytes]]) -> tuple[str, bytes]:
        """The ETag and bytes for ``key``, built again only when something changed."""
        version = await self.version()
        today = datetime.now(UTC).date()
        kept = self._pages.get(key)
        if kept is not None and kept.version == version and kept.day == today:
            self._pages.move_to_end(key)
            return kept.etag, kept.body
        # One build per page and change: requests arriving while it is built wait for it
        # instead of each building the same page (a crowd arriving at once would).
        flight = (key, version, today)
        task = self._building.get(flight)
        if task is None:
            task = asyncio.ensure_future(self._build_and_keep(key, version, today, build))
            self._building[flight] = task
            task.add_done_callback(lambda _: self._building.pop(flight, None))
        built = await asyncio.shield(task)
        return built.etag, built.body

    async def _build_and_keep(
        self, key: str, version: int, today: date, build: Callable[[], Awaitable[bytes]]
    ) -> Kept:
        """Build the page and keep it under the version read before the build began, in
        the same step, so no request can slip between the build ending and the page
        being kept. If something changed while it was built, the counter has moved past
        that version already and the next request builds again."""
        body = await build()
        kept = Kept(version, today, etag_of(body), body)
        self._pages[key] = kept
        self._pages.move_to_end(key)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        return kept

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.close()
            self._sqlite = None
        for task in list(self._reads):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._postgres is not None:
            await self._postgres.close()
            self._postgres = None


class Public(msgspec.Struct, frozen=True):
    """What a cached public route needs, as one dependency: resolving several costs each
    request a task group, which is most of the time a cached answer takes."""

    db: Database
    settings: Settings
    cache: PublicCache
    clips: ClipServices


async def cached_page(
    request: Request[Any, Any, Any],
    public: Public,
    template: str,
    context: Callable[[], Awaitable[dict[str, Any]]],
) -> Response[bytes]:
    """A public HTML page from the cache, built with ``context`` when something changed.

    Errors raised while building (404, 410) pass through and are never kept.
    """

    async def build() -> bytes:
        engine = request.app.template_engine
        assert engine is not None
        page: str = engine.get_template(template).render(**await context())
        return page.encode()

    key = f"html {request.url.path}?{request.url.query}"
    etag, body = await public.cache.get(key, build)
    return conditional(request, body, "text/html; charset=utf-8", etag=etag)
