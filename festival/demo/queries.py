"""SQL for load-test data: many rows at once, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.tables import clip_consents, clip_sessions, clips, consents, sessions
from festival.timeline import queries as timeline_queries


async def filmable_sessions(conn: AsyncConnection, festival_id: int) -> list[tuple[int, datetime]]:
    """Published sessions that may be filmed: (id, start)."""
    rows = await conn.execute(
        sa.select(sessions.c.id, sessions.c.starts_at).where(
            sessions.c.festival_id == festival_id,
            sessions.c.status == "published",
            sessions.c.do_not_film == sa.false(),
        )
    )
    return [(r.id, r.starts_at) for r in rows]


async def _insert_many(
    conn: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]]
) -> list[int]:
    """Insert ``rows`` in batches and give back their ids in the order given."""
    result = await conn.execute(
        sa.insert(table).returning(table.c.id, sort_by_parameter_order=True), list(rows)
    )
    return [int(i) for i in result.scalars()]


async def insert_clips(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    return await _insert_many(conn, clips, rows)


async def insert_consents(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> list[int]:
    return await _insert_many(conn, consents, rows)


async def insert_links(
    conn: AsyncConnection,
    clip_consent_rows: Sequence[dict[str, Any]],
    clip_session_rows: Sequence[dict[str, Any]],
) -> None:
    if clip_consent_rows:
        await conn.execute(sa.insert(clip_consents), list(clip_consent_rows))
    if clip_session_rows:
        await conn.execute(sa.insert(clip_sessions), list(clip_session_rows))


async def insert_search_entries(conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows of ``id``, ``title``, ``credits`` and ``transcript``."""
    if rows:
        table, key = timeline_queries.search_rows(conn)
        entries = [{key: r["id"], **{k: v for k, v in r.items() if k != "id"}} for r in rows]
        await conn.execute(sa.insert(table), entries)
