"""Database access: serialised writes and a pool of readers, on SQLite or PostgreSQL.

SQLite allows one writer at a time. Rather than let concurrent requests collide and see
"database is locked", every write goes through :meth:`Database.write`, which holds an
in-process lock and opens the transaction with ``BEGIN IMMEDIATE`` (so another process
waits on the busy timeout instead of failing half-way). Reads use their own pool and, in
WAL mode, never wait for the writer.

On PostgreSQL the same promise holds across every instance sharing the database: a
write transaction first takes one transaction-level advisory lock, so the services'
check-then-write rules (no double booking, one consent per clip, ...) hold exactly as on
SQLite, while reads never wait. Writes are short, so this costs little; the job queue,
whose rows are claimed with ``FOR UPDATE SKIP LOCKED``, asks for ``exclusive=False`` and
does not take the lock, so workers on several machines claim side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

BUSY_TIMEOUT_MS = 30_000
#: The advisory lock key every exclusive PostgreSQL write takes ("festival" in ASCII).
WRITE_LOCK_KEY = 0x66657374_6976616C


def _sqlite_pragmas(engine: Engine, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's begin event, not the driver, decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(begin)


class Database:
    """The service's engines. Build with :meth:`open`, release with :meth:`close`."""

    def __init__(self, reader: AsyncEngine, writer: AsyncEngine) -> None:
        self.reader = reader
        self.writer = writer
        self._write_lock = asyncio.Lock()
        self._adopted: list[AsyncEngine] = []

    @property
    def dialect(self) -> str:
        return self.writer.dialect.name

    @classmethod
    def open(cls, url: str) -> Database:
        if url.startswith("sqlite"):
            path = url.split(":///", 1)[1]
            if path and path != ":memory:":
                from pathlib import Path

                Path(path).parent.mkdir(parents=True, exist_ok=True)
            writer = create_async_engine(url, pool_size=1, max_overflow=0)
            reader = create_async_engine(url, pool_size=5, max_overflow=5)
            _sqlite_pragmas(writer.sync_engine, "BEGIN IMMEDIATE")
            _sqlite_pragmas(reader.sync_engine, "BEGIN")
            return cls(reader, writer)
        engine = create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True)
        return cls(engine, engine)

    def adopt(self, engine: AsyncEngine) -> AsyncEngine:
        """Close ``engine`` (a pool kept for one purpose, such as upload locks) together
        with this database."""
        self._adopted.append(engine)
        return engine

    async def close(self) -> None:
        for engine in self._adopted:
            await engine.dispose()
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()

    async def ping(self) -> bool:
        try:
            async with self.reader.connect() as conn:
                await conn.exec_driver_sql("SELECT 1")
        except Exception:
            return False
        return True

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction with a consistent snapshot."""
        async with self.reader.connect() as conn, conn.begin():
            yield conn

    @asynccontextmanager
    async def write(self, *, exclusive: bool = True) -> AsyncIterator[AsyncConnection]:
        """A write transaction: committed when the block ends, rolled back on any error.

        ``exclusive=False`` is for work whose rows are locked one by one (the job queue):
        on PostgreSQL it runs beside other writes. SQLite has one writer regardless.
        """
        if self.dialect != "postgresql":
            async with self._write_lock, self.writer.connect() as conn, conn.begin():
                yield conn
            return
        async with self.writer.connect() as conn, conn.begin():
            if exclusive:
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
            yield conn
