"""Named writer's locks for stores that have none of their own.

An object store such as S3 cannot lock an object, yet two PATCH requests for one tus
upload, possibly on two app instances, must never interleave their bytes. A store like
:class:`media.s3.S3Store` therefore asks a :class:`Locks` for a lock named after the
object, and the deployment chooses what holds it:

* :class:`FileLocks`: ``flock`` on a file per name, for instances on one machine.
* ``festival.db.locks.AdvisoryLocks``: PostgreSQL advisory locks, for instances on
  several machines that share a database.

Every lock is try-only: :meth:`Locks.hold` raises :class:`ObjectLocked` at once when the
name is held elsewhere, so callers answer "busy, retry" instead of queueing.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

from media.storage import ObjectLocked

__all__ = ["FileLocks", "Locks", "lock_digest"]


class Locks(Protocol):
    """Exclusive, non-blocking locks named by strings."""

    def hold(self, name: str) -> AbstractAsyncContextManager[None]:
        """Hold the lock ``name`` for the block; raise :class:`ObjectLocked` at once if
        anyone else (this process or another) holds it."""
        ...


def lock_digest(name: str, size: int) -> bytes:
    """A stable digest of a lock name, the same in every process and on every machine
    (unlike ``hash()``), so every instance derives the same lock from the same name."""
    return hashlib.blake2b(name.encode(), digest_size=size, person=b"festival-lock").digest()


class FileLocks:
    """:class:`Locks` as ``flock`` locks on files in ``folder``, one file per name.

    The file is named by a hash of the lock name (names may hold any character). It is
    removed when the lock is released, so the folder does not fill up with one file per
    upload ever made; taking a lock therefore checks that the file it locked is still
    the one at that path (see :meth:`_take`).
    """

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        # flock already excludes a second descriptor in this process, but the set answers
        # without touching the disk and keeps this object's own holders apart plainly.
        self._held: set[str] = set()

    def path_for(self, name: str) -> Path:
        return self.folder / f"{lock_digest(name, 16).hex()}.lock"

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[None]:
        if name in self._held:
            raise ObjectLocked(name)
        self._held.add(name)
        try:
            path = self.path_for(name)
            fd = self._take(path, name)  # non-blocking calls only: safe on the event loop
            try:
                yield
            finally:
                # Unlink while still holding the lock, then close (which releases it):
                # whoever opened the old file meanwhile sees it is no longer at the path.
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
                os.close(fd)
        finally:
            self._held.discard(name)

    @staticmethod
    def _take(path: Path, name: str) -> int:
        """Open (creating) ``path``, flock it without waiting, and return the descriptor.

        A holder unlinks the file before releasing it, so the file we locked may already
        be gone from the path, or replaced by a newer one that someone else holds. Only
        a lock on the file the path names right now counts; otherwise try again.
        """
        for _ in range(10):
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise ObjectLocked(name) from None
            except BaseException:
                os.close(fd)
                raise
            try:
                current = os.stat(path)
            except FileNotFoundError:
                os.close(fd)
                continue
            if os.path.samestat(os.fstat(fd), current):
                return fd
            os.close(fd)
        raise ObjectLocked(name)
