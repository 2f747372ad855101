"""Writer's locks shared by every app instance that uses one PostgreSQL database.

Media in S3 can be written by instances on several machines; :class:`AdvisoryLocks`
lets them agree on who writes an upload, through PostgreSQL's session advisory locks.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from festival.db.engine import Database
from media.locks import lock_digest
from media.storage import ObjectLocked

__all__ = ["AdvisoryLocks", "advisory_key"]

#: Idle connections kept for locks, and how many more a crowd of uploads may open.
POOL_SIZE = 4
MAX_OVERFLOW = 200

_TRY_LOCK = text("SELECT pg_try_advisory_lock(CAST(:key AS bigint))")
_UNLOCK = text("SELECT pg_advisory_unlock(CAST(:key AS bigint))")


def advisory_key(name: str) -> int:
    """The signed 64-bit key (PostgreSQL ``bigint``) of a lock name, the same on every
    machine. Two names sharing a key would only make one wait for the other."""
    return int.from_bytes(lock_digest(name, 8), "big", signed=True)


class AdvisoryLocks:
    """:class:`media.locks.Locks` as ``pg_try_advisory_lock`` held on a connection
    checked out for as long as the lock is held.

    A session lock lives as long as its connection, so a crashed instance's locks go
    with its connections and nothing is left locked. The connections come from an
    engine of their own, not from the app's pool: an upload holds its lock for the whole
    PATCH, and a crowd uploading at once must not take every connection the app needs to
    record their progress. It keeps a few idle connections, because opening one costs
    PostgreSQL a new backend per PATCH; a connection whose unlock did not succeed is
    thrown away rather than reused, so a lock can never stay behind in the pool.
    """

    def __init__(self, db: Database) -> None:
        if db.dialect != "postgresql":
            raise ValueError(f"advisory locks need PostgreSQL, not {db.dialect}")
        self._engine: AsyncEngine = db.adopt(
            create_async_engine(
                db.writer.url, pool_size=POOL_SIZE, max_overflow=MAX_OVERFLOW, pool_pre_ping=True
            )
        )
        # Checked before PostgreSQL: a second holder in this process is refused without
        # opening a connection (PostgreSQL would refuse it too, the key being held by
        # another session).
        self._held: set[str] = set()

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        if name in self._held:
            raise ObjectLocked(name)
        key = advisory_key(name)
        self._held.add(name)
        try:
            conn = await self._engine.connect()
            try:
                # Commit at once: an open transaction would sit idle for the whole hold.
                # The lock is the session's, so it outlives the transaction.
                locked: bool = (await conn.execute(_TRY_LOCK, {"key": key})).scalar_one()
                await conn.commit()
                if not locked:
                    raise ObjectLocked(name)
                try:
                    yield
                finally:
                    # Shielded, so a cancelled holder still unlocks. If the unlock fails
                    # the connection is thrown away: ending its session releases the
                    # lock all the same, and the block's own error matters more.
                    with anyio.CancelScope(shield=True):
                        unlocked = False
                        with contextlib.suppress(Exception):
                            found = await conn.execute(_UNLOCK, {"key": key})
                            unlocked = bool(found.scalar_one())
                            await conn.commit()
                        if not unlocked:
                            with contextlib.suppress(Exception):
                                await conn.invalidate()
            finally:
                with anyio.CancelScope(shield=True):
                    await conn.close()
        finally:
            self._held.discard(name)
