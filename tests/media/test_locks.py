"""Named writer's locks for stores without their own: flock files (always) and
PostgreSQL advisory locks (when the run has a PostgreSQL, in FESTIVAL_TEST_POSTGRES_URL).
Both must refuse a second holder at once, in this process or another, and let go when
the holder leaves, fails or is cancelled."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
from sqlalchemy import text

from festival.db.engine import Database
from festival.db.locks import AdvisoryLocks, advisory_key
from media.locks import FileLocks, Locks
from media.storage import ObjectLocked

POSTGRES_ENV = "FESTIVAL_TEST_POSTGRES_URL"


async def can_take(locks: Locks, name: str) -> bool:
    try:
        async with locks.hold(name):
            return True
    except ObjectLocked:
        return False


@pytest.fixture
def names() -> tuple[str, str]:
    """Two lock names no other test (or test process sharing the database) uses."""
    bucket = f"s3://test-{secrets.token_hex(4)}/media"
    return f"{bucket}:originals/a", f"{bucket}:originals/b"


async def check_exclusive(first: Locks, second: Locks, names: tuple[str, str]) -> None:
    """What every Locks promises, with two holders standing for two instances."""
    a, b = names
    async with first.hold(a):
        for locks in (first, second):
            with pytest.raises(ObjectLocked, match="originals/a"):
                async with locks.hold(a):
                    pass
        assert await can_take(second, b), "other names are other locks"
    assert await can_take(second, a)

    with pytest.raises(RuntimeError):
        async with first.hold(a):
            raise RuntimeError("the PATCH failed")
    assert await can_take(second, a), "released after an error"

    with anyio.move_on_after(0.1):
        async with first.hold(a):
            await anyio.sleep(10)
    assert await can_take(second, a), "released when cancelled"


# -- FileLocks -------------------------------------------------------------------------


async def test_file_locks_are_exclusive_and_let_go(tmp_path: Path, names: tuple[str, str]) -> None:
    first, second = FileLocks(tmp_path / "locks"), FileLocks(tmp_path / "locks")
    await check_exclusive(first, second, names)
    # Lock files go with their locks: one per upload ever made would pile up.
    assert list((tmp_path / "locks").iterdir()) == []


async def test_file_locks_take_any_name(tmp_path: Path) -> None:
    locks = FileLocks(tmp_path / "locks")
    for name in ("", "a/../../b", "x" * 5000, "é\x00/"):
        async with locks.hold(name):
            assert locks.path_for(name).parent == tmp_path / "locks"


HOLD = """
import sys, anyio
from pathlib import Path
from media.locks import FileLocks

async def main() -> None:
    async with FileLocks(Path(sys.argv[1])).hold(sys.argv[2]):
        print("held", flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)

anyio.run(main)
"""


def test_a_file_lock_held_by_another_process_is_respected(tmp_path: Path) -> None:
    folder, name = tmp_path / "locks", "s3://media/originals/a"
    locks = FileLocks(folder)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder), name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "held"
        assert anyio.run(can_take, locks, name) is False
        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.wait(timeout=10) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()
    assert anyio.run(can_take, locks, name) is True


# -- AdvisoryLocks ---------------------------------------------------------------------


@pytest.fixture
async def postgres() -> AsyncIterator[Database]:
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL in this run")
    database = Database.open(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    try:
        yield database
    finally:
        await database.close()


def test_advisory_keys_are_stable_signed_64_bit_numbers() -> None:
    key = advisory_key("s3://media/originals/a")
    assert key == advisory_key("s3://media/originals/a")  # the same on every machine
    assert -(2**63) <= key < 2**63
    assert key != advisory_key("s3://media/originals/b")
    assert any(advisory_key(f"n{i}") < 0 for i in range(64)), "the whole bigint range"


async def test_advisory_locks_are_exclusive_and_let_go(
    postgres: Database, names: tuple[str, str]
) -> None:
    first, second = AdvisoryLocks(postgres), AdvisoryLocks(postgres)
    await check_exclusive(first, second, names)
    assert await held_keys(postgres, names) == []


async def test_advisory_locks_use_their_own_connections(
    postgres: Database, names: tuple[str, str]
) -> None:
    """An upload holds its lock for a whole PATCH: a crowd of them must not take every
    connection the app needs for its own queries."""
    locks = AdvisoryLocks(postgres)
    pool: Callable[[], int] = postgres.writer.pool.checkedout  # type: ignore[attr-defined]
    async with locks.hold(names[0]), locks.hold(names[1]):
        assert pool() == 0
        assert sorted(await held_keys(postgres, names)) == sorted(map(advisory_key, names))
    assert await held_keys(postgres, names) == []


async def test_an_advisory_lock_dies_with_its_connection(
    postgres: Database, names: tuple[str, str]
) -> None:
    """A crashed instance's locks go with its connections: nothing stays locked."""
    locks, other = AdvisoryLocks(postgres), AdvisoryLocks(postgres)
    with pytest.raises(ConnectionResetError):
        async with locks.hold(names[0]):
            [pid] = [pid for key, pid in await holders(postgres) if key == advisory_key(names[0])]
            async with postgres.writer.connect() as conn:
                await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            assert await can_take(other, names[0])
            raise ConnectionResetError("this instance's connection was cut")
    assert await can_take(other, names[0])


async def holders(db: Database) -> list[tuple[int, int]]:
    """(key, process id) of every advisory lock held in this database, the keys as the
    signed bigints we asked for."""
    async with db.writer.connect() as conn:
        rows = await conn.execute(
            text(
                "SELECT (classid::bigint << 32) | objid::bigint, pid FROM pg_locks "
                "WHERE locktype = 'advisory' AND objsubid = 1 AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            )
        )
        return [(_signed(int(row[0])), int(row[1])) for row in rows]


async def held_keys(db: Database, names: tuple[str, ...]) -> list[int]:
    """The keys of ``names`` that someone holds."""
    mine = {advisory_key(name) for name in names}
    return [key for key, _ in await holders(db) if key in mine]


def _signed(value: int) -> int:
    return value - 2**64 if value >= 2**63 else value


async def test_a_released_advisory_lock_does_not_stay_behind_in_a_kept_connection(
    postgres: Database,
) -> None:
    """Lock connections are kept for the next upload; the lock itself must not be."""
    mine, theirs = AdvisoryLocks(postgres), AdvisoryLocks(postgres)
    for _ in range(3):
        async with mine.hold("uploads/kept"):
            pass
        # Another instance's pool takes it at once, each time.
        async with theirs.hold("uploads/kept"):
            pass
    assert [key for key, _ in await holders(postgres)] == []
