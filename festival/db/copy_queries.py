"""SQL for ``festival migrate-storage``: every row of one database, copied into another.

Rows are read and written through the Core tables of :mod:`festival.db.tables`, so the
column types do the converting (SQLite's text timestamps and 0/1 booleans become
PostgreSQL's ``timestamptz`` and ``boolean``, and back). The search table is not in the
metadata; it goes through the helpers of :mod:`festival.timeline.queries`, which know
that FTS5 keys its rows by ``rowid`` and PostgreSQL's table by ``clip_id``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.engine import Database
from festival.db.tables import SEARCH_TABLE, metadata, public_changes, uploads
from festival.timeline.queries import search_rows, search_table

Rows = list[dict[str, Any]]

_SQLITE_MASTER = sa.table("sqlite_master", sa.column("type", sa.Text), sa.column("name", sa.Text))
_SQLITE_SEQUENCE = sa.table(
    "sqlite_sequence", sa.column("name", sa.Text), sa.column("seq", sa.Integer)
)


def copied_tables() -> list[sa.Table]:
    """Every table whose rows move, parents before children (foreign-key order).

    ``public_changes`` is a one-row counter every migrated database already has; it is
    set, not copied (see :func:`set_public_version`). ``alembic_version`` is not in the
    metadata: the target's own migration writes it.
    """
    return [table for table in metadata.sorted_tables if table is not public_changes]


def id_tables() -> list[sa.Table]:
    """The copied tables keyed by a number the database hands out (``id``)."""
    found = []
    for table in copied_tables():
        keys = list(table.primary_key.columns)
        if len(keys) == 1 and keys[0].name == "id" and isinstance(keys[0].type, sa.Integer):
            found.append(table)
    return found


@asynccontextmanager
async def snapshot(db: Database) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction that sees one moment of the whole database.

    SQLite's read transactions are snapshots already. PostgreSQL's default (read
    committed) sees each statement's own moment, so the copy asks for repeatable read:
    the counts it checks against and the rows it copies then come from the same moment.
    """
    async with db.reader.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = await conn.execution_options(isolation_level="REPEATABLE READ")
        async with conn.begin():
            yield conn


async def row_count(conn: AsyncConnection, table: sa.Table) -> int:
    found = await conn.execute(sa.select(sa.func.count()).select_from(table))
    return int(found.scalar_one())


async def search_count(conn: AsyncConnection) -> int:
    found = await conn.execute(sa.select(sa.func.count()).select_from(search_table(conn)))
    return int(found.scalar_one())


async def first_filled_table(conn: AsyncConnection) -> tuple[str, int] | None:
    """The first table (in copying order, the search table last) that holds rows, and
    how many; ``None`` when the database holds no data."""
    for table in copied_tables():
        count = await row_count(conn, table)
        if count:
            return table.name, count
    count = await search_count(conn)
    return (SEARCH_TABLE, count) if count else None


async def stream_rows(conn: AsyncConnection, table: sa.Table, batch: int) -> AsyncIterator[Rows]:
    """Every row of ``table`` in key order, ``batch`` rows at a time, through a cursor,
    so memory holds one batch whatever the size of the table."""
    statement = sa.select(table).order_by(*table.primary_key.columns)
    result = await conn.stream(statement)
    async for rows in result.mappings().partitions(batch):
        yield [dict(row) for row in rows]


async def insert_rows(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> None:
    """Insert rows as they were, ids included."""
    if rows:
        await conn.execute(sa.insert(table), list(rows))


async def stream_search_rows(conn: AsyncConnection, batch: int) -> AsyncIterator[Rows]:
    """The search entries as ``clip_id``, ``title``, ``credits``, ``transcript``."""
    table, key = search_rows(conn)
    statement = sa.select(
        table.c[key].label("clip_id"), table.c.title, table.c.credits, table.c.transcript
    ).order_by(table.c[key])
    result = await conn.stream(statement)
    async for rows in result.mappings().partitions(batch):
        yield [dict(row) for row in rows]


async def insert_search_rows(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        return
    table, key = search_rows(conn)
    values = [
        {
            key: row["clip_id"],
            "title": row["title"],
            "credits": row["credits"],
            "transcript": row["transcript"],
        }
        for row in rows
    ]
    await conn.execute(sa.insert(table), values)


async def public_version(conn: AsyncConnection) -> int:
    found = await conn.execute(sa.select(public_changes.c.version).where(public_changes.c.id == 1))
    return int(found.scalar() or 0)


async def set_public_version(conn: AsyncConnection, version: int) -> None:
    await conn.execute(
        sa.update(public_changes).where(public_changes.c.id == 1).values(version=version)
    )


async def highest_ids(conn: AsyncConnection) -> dict[str, int]:
    """Per table keyed by ``id``: the highest id ever handed out, 0 for none.

    That is more than the highest id present where rows were deleted and the database
    never reuses ids: clips and consents on SQLite (``AUTOINCREMENT``, which keeps its
    high-water mark in ``sqlite_sequence``; see migration 0006) and every table on
    PostgreSQL (its sequences). The audit log names clips and consents by id, so a new
    row must never take the id of a deleted one, in the target either.
    """
    highest: dict[str, int] = {}
    for table in id_tables():
        found = await conn.execute(sa.select(sa.func.max(table.c.id)))
        highest[table.name] = int(found.scalar() or 0)
    if conn.dialect.name == "sqlite":
        # SQLite makes the table with the first AUTOINCREMENT table, so it may be absent.
        exists = await conn.execute(
            sa.select(_SQLITE_MASTER.c.name).where(
                _SQLITE_MASTER.c.type == "table", _SQLITE_MASTER.c.name == "sqlite_sequence"
            )
        )
        if exists.first() is not None:
            rows = await conn.execute(sa.select(_SQLITE_SEQUENCE.c.name, _SQLITE_SEQUENCE.c.seq))
            for row in rows:
                if row.name in highest and row.seq is not None:
                    highest[row.name] = max(highest[row.name], int(row.seq))
    elif conn.dialect.name == "postgresql":
        for name in highest:
            # NULL when the table has no sequence or the sequence was never used.
            last = sa.func.pg_sequence_last_value(
                sa.cast(sa.func.pg_get_serial_sequence(name, "id"), REGCLASS)
            )
            value = (await conn.execute(sa.select(last))).scalar()
            if value is not None:
                highest[name] = max(highest[name], int(value))
    return highest


async def continue_ids(conn: AsyncConnection, highest: dict[str, int]) -> None:
    """Make each table hand out ids above ``highest[table]`` from now on.

    Rows inserted with their ids leave a PostgreSQL sequence where it was, so each one
    is set: the next id is ``highest + 1`` (``setval(..., 1, false)`` for a table that
    never had a row, since a sequence cannot be set to 0). On SQLite only the
    ``AUTOINCREMENT`` tables remember a high-water mark; the others hand out one more
    than the largest id present, as they always did.
    """
    if conn.dialect.name == "postgresql":
        for name, top in highest.items():
            # NULL, and setval does nothing, for a table without a sequence.
            sequence = sa.cast(sa.func.pg_get_serial_sequence(name, "id"), REGCLASS)
            value, called = (top, True) if top > 0 else (1, False)
            await conn.execute(sa.select(sa.func.setval(sequence, value, called)))
    elif conn.dialect.name == "sqlite":
        for table in id_tables():
            if not table.dialect_options["sqlite"].get("autoincrement"):
                continue
            top = highest.get(table.name, 0)
            done = await conn.execute(
                sa.update(_SQLITE_SEQUENCE)
                .where(_SQLITE_SEQUENCE.c.name == table.name)
                .values(seq=top)
            )
            if not done.rowcount and top:
                await conn.execute(sa.insert(_SQLITE_SEQUENCE).values(name=table.name, seq=top))


async def unfinished_uploads(conn: AsyncConnection) -> dict[str, int]:
    """Upload id -> acknowledged offset, for every tus upload still in progress."""
    rows = await conn.execute(
        sa.select(uploads.c.id, uploads.c.offset).where(uploads.c.completed.is_(False))
    )
    return {str(row.id): int(row.offset) for row in rows}


async def overlong_values(conn: AsyncConnection) -> list[tuple[str, str, int, int]]:
    """Text longer than its column's declared length, as (table, column, length, rows).

    SQLite keeps such text whatever the declaration says; PostgreSQL refuses it, so a
    copy into PostgreSQL checks first and names the column rather than failing half-way
    with a message that does not.
    """
    found: list[tuple[str, str, int, int]] = []
    for table in copied_tables():
        for column in table.columns:
            if not isinstance(column.type, sa.String) or not column.type.length:
                continue
            length = column.type.length
            count = await conn.execute(
                sa.select(sa.func.count()).select_from(table).where(sa.func.length(column) > length)
            )
            rows = int(count.scalar_one())
            if rows:
                found.append((table.name, column.name, length, rows))
    return found
