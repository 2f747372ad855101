"""SQL for the festival blog's posts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.tables import posts
from festival.posts.schemas import Post

_post_columns = (
    posts.c.id,
    posts.c.title,
    posts.c.author,
    posts.c.url,
    posts.c.summary,
    posts.c.published_at,
    posts.c.source,
    posts.c.created_at,
    posts.c.updated_at,
)


class StoredEntry(msgspec.Struct):
    """An imported post with what importing again compares against."""

    id: int
    entry_id: str
    feed_url: str
    title: str
    author: str
    url: str
    summary: str
    published_at: datetime


async def festival_posts(conn: AsyncConnection, festival_id: int) -> list[Post]:
    rows = await conn.execute(
        sa.select(*_post_columns)
        .where(posts.c.festival_id == festival_id)
        .order_by(posts.c.published_at.desc(), posts.c.id.desc())
    )
    return [msgspec.convert(r, Post, from_attributes=True) for r in rows]


async def post_by_id(conn: AsyncConnection, festival_id: int, post_id: int) -> Post | None:
    row = (
        await conn.execute(
            sa.select(*_post_columns).where(
                posts.c.festival_id == festival_id, posts.c.id == post_id
            )
        )
    ).first()
    return msgspec.convert(row, Post, from_attributes=True) if row else None


async def posts_by_ids(conn: AsyncConnection, post_ids: Iterable[int]) -> dict[int, Post]:
    ids = list(post_ids)
    if not ids:
        return {}
    rows = await conn.execute(sa.select(*_post_columns).where(posts.c.id.in_(ids)))
    return {r.id: msgspec.convert(r, Post, from_attributes=True) for r in rows}


async def insert_post(conn: AsyncConnection, festival_id: int, values: dict[str, Any]) -> int:
    result = await conn.execute(
        sa.insert(posts).values(festival_id=festival_id, **values).returning(posts.c.id)
    )
    return int(result.scalar_one())


async def update_post(conn: AsyncConnection, post_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(posts).where(posts.c.id == post_id).values(**values))


async def delete_post(conn: AsyncConnection, post_id: int) -> None:
    await conn.execute(sa.delete(posts).where(posts.c.id == post_id))


async def entries_by_id(
    conn: AsyncConnection, festival_id: int, entry_ids: Iterable[str]
) -> dict[str, StoredEntry]:
    """The festival's imported posts for these feed entry ids."""
    wanted = list(entry_ids)
    found: dict[str, StoredEntry] = {}
    # SQLite caps the number of bound parameters; feeds rarely hold more than a few
    # hundred entries, but a chunk keeps a large one inside the limit.
    for start in range(0, len(wanted), 500):
        rows = await conn.execute(
            sa.select(
                posts.c.id,
                posts.c.entry_id,
                posts.c.feed_url,
                posts.c.title,
                posts.c.author,
                posts.c.url,
                posts.c.summary,
                posts.c.published_at,
            ).where(
                posts.c.festival_id == festival_id,
                posts.c.entry_id.in_(wanted[start : start + 500]),
            )
        )
        for row in rows:
            found[row.entry_id] = msgspec.convert(row, StoredEntry, from_attributes=True)
    return found


async def latest_feed_url(conn: AsyncConnection, festival_id: int) -> str:
    """The feed address most recently used to import this festival's posts, or ''."""
    row = (
        await conn.execute(
            sa.select(posts.c.feed_url)
            .where(posts.c.festival_id == festival_id, posts.c.feed_url != "")
            .order_by(posts.c.updated_at.desc(), posts.c.id.desc())
            .limit(1)
        )
    ).first()
    return str(row.feed_url) if row else ""
