"""SQL for the timeline: where clips sit, what they link to, and the full-text index."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg
import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.clips.schemas import ClipRow
from festival.consent.queries import publicly_visible
from festival.consent.schemas import Scope
from festival.db.tables import (
    SEARCH_TABLE,
    clip_consents,
    clip_posts,
    clip_sessions,
    clips,
    posts,
    public_changes,
    rooms,
    session_posts,
    sessions,
    slots,
    volunteers,
)


def _clip(row: Any) -> ClipRow:
    return msgspec.convert(row, ClipRow, from_attributes=True)


async def _insert_ignoring_duplicates(
    conn: AsyncConnection, table: sa.Table, values: dict[str, Any]
) -> None:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(insert(table).values(**values).on_conflict_do_nothing())


# --- where a clip sits ------------------------------------------------------------------


async def place_clip(conn: AsyncConnection, clip_id: int) -> None:
    """Set the clip's time on the timeline and its automatic link to its slot's session.

    The time is when it was filmed, else its slot's start, else when it arrived. The
    automatic link follows the slot: a changed slot moves it; links staff made stay.
    """
    slot_start = sa.select(slots.c.starts_at).where(slots.c.id == clips.c.slot_id)
    await conn.execute(
        sa.update(clips)
        .where(clips.c.id == clip_id)
        .values(
            timeline_at=sa.func.coalesce(
                clips.c.recorded_at, slot_start.scalar_subquery(), clips.c.created_at
            )
        )
    )
    session_id = (
        await conn.execute(
            sa.select(slots.c.session_id)
            .join(clips, clips.c.slot_id == slots.c.id)
            .where(clips.c.id == clip_id)
        )
    ).scalar()
    stale = sa.delete(clip_sessions).where(
        clip_sessions.c.clip_id == clip_id, clip_sessions.c.source == "slot"
    )
    if session_id is not None:
        stale = stale.where(clip_sessions.c.session_id != session_id)
    await conn.execute(stale)
    if session_id is not None:
        await _insert_ignoring_duplicates(
            conn, clip_sessions, {"clip_id": clip_id, "session_id": session_id, "source": "slot"}
        )


# --- the public timeline -------------------------------------------------------------------


class TimelineQuery(msgspec.Struct, frozen=True):
    festival_id: int
    scope: Scope
    today: date
    limit: int
    after: tuple[datetime, int] | None = None
    starts: datetime | None = None
    ends: datetime | None = None
    session_id: int | None = None
    track: str | None = None
    post_id: int | None = None
    #: Words that must all appear (each as a word prefix) in the clip's search entry.
    words: tuple[str, ...] | None = None
    newest_first: bool = False


def search_table(conn: AsyncConnection) -> sa.TableClause:
    """The search table as this engine has it: FTS5 keys its rows by ``rowid``, the
    PostgreSQL table by ``clip_id``; the key is labelled ``clip_id`` either way."""
    key = "clip_id" if conn.dialect.name == "postgresql" else "rowid"
    return sa.table(
        SEARCH_TABLE,
        sa.column(key, sa.Integer),
        sa.column("title", sa.Text),
        sa.column("credits", sa.Text),
        sa.column("transcript", sa.Text),
    )


def _search_key(table: sa.TableClause) -> sa.ColumnClause[int]:
    return table.c.clip_id if "clip_id" in table.c else table.c.rowid


def _search_ids(conn: AsyncConnection, words: tuple[str, ...]) -> sa.Select[int]:
    """Clip ids whose entry holds every word as a prefix. Each word is quoted, so a
    visitor's text is only ever searched for, never read as query syntax."""
    table = search_table(conn)
    if conn.dialect.name == "postgresql":
        tsquery = " & ".join(f"'{word}':*" for word in words)
        found = sa.text("document @@ to_tsquery('simple', :q)").bindparams(q=tsquery)
    else:
        match = " ".join(f'"{word}"*' for word in words)
        found = sa.text("clip_search MATCH :match").bindparams(match=match)
    return sa.select(_search_key(table)).where(found)


async def timeline_rows(conn: AsyncConnection, query: TimelineQuery) -> list[ClipRow]:
    """Public clips of a festival in time order (or newest first), ``limit`` of them."""
    at = clips.c.timeline_at
    statement = sa.select(clips).where(
        clips.c.festival_id == query.festival_id,
        at.is_not(None),
        publicly_visible(query.scope, query.today),
    )
    if query.after is not None:
        when, clip_id = query.after
        if query.newest_first:
            statement = statement.where(sa.tuple_(at, clips.c.id) < sa.tuple_(when, clip_id))
        else:
            statement = statement.where(sa.tuple_(at, clips.c.id) > sa.tuple_(when, clip_id))
    if query.starts is not None:
        statement = statement.where(at >= query.starts)
    if query.ends is not None:
        statement = statement.where(at < query.ends)
    if query.session_id is not None:
        statement = statement.where(
            sa.exists().where(
                clip_sessions.c.clip_id == clips.c.id,
                clip_sessions.c.session_id == query.session_id,
            )
        )
    if query.track is not None:
        statement = statement.where(
            sa.exists()
            .select_from(clip_sessions.join(sessions, sessions.c.id == clip_sessions.c.session_id))
            .where(clip_sessions.c.clip_id == clips.c.id, sessions.c.track == query.track)
        )
    if query.post_id is not None:
        # Linked to the post directly, or through one of its sessions.
        direct = sa.exists().where(
            clip_posts.c.clip_id == clips.c.id, clip_posts.c.post_id == query.post_id
        )
        through_session = (
            sa.exists()
            .select_from(
                clip_sessions.join(
                    session_posts, session_posts.c.session_id == clip_sessions.c.session_id
                )
            )
            .where(clip_sessions.c.clip_id == clips.c.id, session_posts.c.post_id == query.post_id)
        )
        statement = statement.where(sa.or_(direct, through_session))
    if query.words:
        statement = statement.where(clips.c.id.in_(_search_ids(conn, query.words)))
    order = (at.desc(), clips.c.id.desc()) if query.newest_first else (at, clips.c.id)
    rows = await conn.execute(statement.order_by(*order).limit(query.limit))
    return [_clip(r) for r in rows]


class SessionRow(msgspec.Struct):
    id: int
    title: str
    starts_at: datetime
    ends_at: datetime
    room: str
    track: str


class PostRow(msgspec.Struct):
    id: int
    title: str
    author: str
    url: str
    published_at: datetime


async def sessions_of_clips(
    conn: AsyncConnection, clip_ids: Sequence[int]
) -> dict[int, list[SessionRow]]:
    found: dict[int, list[SessionRow]] = defaultdict(list)
    if not clip_ids:
        return found
    rows = await conn.execute(
        sa.select(
            clip_sessions.c.clip_id,
            sessions.c.id,
            sessions.c.title,
            sessions.c.starts_at,
            sessions.c.ends_at,
            sa.func.coalesce(rooms.c.name, "").label("room"),
            sessions.c.track,
        )
        .join(sessions, sessions.c.id == clip_sessions.c.session_id)
        .outerjoin(rooms, rooms.c.id == sessions.c.room_id)
        .where(clip_sessions.c.clip_id.in_(clip_ids), sessions.c.status != "draft")
        .order_by(sessions.c.starts_at, sessions.c.id)
    )
    for row in rows:
        found[row.clip_id].append(
            SessionRow(row.id, row.title, row.starts_at, row.ends_at, row.room, row.track)
        )
    return found


async def posts_of_clips(
    conn: AsyncConnection, clip_ids: Sequence[int]
) -> dict[int, list[PostRow]]:
    """Posts linked to each clip, oldest first.

    Only direct links: a session may have many posts about it, and each interview shows
    the ones staff chose for it. The post filter also follows sessions.
    """
    found: dict[int, list[PostRow]] = defaultdict(list)
    if not clip_ids:
        return found
    rows = await conn.execute(
        sa.select(
            clip_posts.c.clip_id,
            posts.c.id,
            posts.c.title,
            posts.c.author,
            posts.c.url,
            posts.c.published_at,
        )
        .join(posts, posts.c.id == clip_posts.c.post_id)
        .where(clip_posts.c.clip_id.in_(clip_ids))
        .order_by(posts.c.published_at, posts.c.id)
    )
    for row in rows:
        found[row.clip_id].append(PostRow(row.id, row.title, row.author, row.url, row.published_at))
    return found


async def volunteer_names(conn: AsyncConnection, ids: Sequence[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = await conn.execute(
        sa.select(volunteers.c.id, volunteers.c.display_name).where(volunteers.c.id.in_(ids))
    )
    return {row.id: row.display_name for row in rows}


class FilterChoices(msgspec.Struct):
    sessions: list[SessionRow]
    tracks: list[str]
    posts: list[PostRow]


async def filter_choices(conn: AsyncConnection, festival_id: int, today: date) -> FilterChoices:
    """Sessions, tracks and posts that at least one public clip links to, for filter menus:
    an unpublished clip's links say nothing to the public."""
    public = sa.select(clips.c.id).where(
        clips.c.festival_id == festival_id, publicly_visible("timeline", today)
    )
    linked_sessions = sa.select(clip_sessions.c.session_id).where(
        clip_sessions.c.clip_id.in_(public)
    )
    session_rows = await conn.execute(
        sa.select(
            sessions.c.id,
            sessions.c.title,
            sessions.c.starts_at,
            sessions.c.ends_at,
            sa.func.coalesce(rooms.c.name, "").label("room"),
            sessions.c.track,
        )
        .outerjoin(rooms, rooms.c.id == sessions.c.room_id)
        .where(
            sessions.c.festival_id == festival_id,
            sessions.c.status != "draft",
            sessions.c.id.in_(linked_sessions),
        )
        .order_by(sessions.c.starts_at, sessions.c.id)
    )
    found = [
        SessionRow(r.id, r.title, r.starts_at, r.ends_at, r.room, r.track) for r in session_rows
    ]
    linked_posts = sa.union(
        sa.select(clip_posts.c.post_id).where(clip_posts.c.clip_id.in_(public)),
        sa.select(session_posts.c.post_id).where(session_posts.c.session_id.in_(linked_sessions)),
    )
    post_rows = await conn.execute(
        sa.select(posts.c.id, posts.c.title, posts.c.author, posts.c.url, posts.c.published_at)
        .where(posts.c.festival_id == festival_id, posts.c.id.in_(linked_posts))
        .order_by(posts.c.published_at.desc(), posts.c.id)
    )
    return FilterChoices(
        sessions=found,
        tracks=sorted({s.track for s in found if s.track}),
        posts=[PostRow(r.id, r.title, r.author, r.url, r.published_at) for r in post_rows],
    )


async def session_in_festival(conn: AsyncConnection, festival_id: int, session_id: int) -> bool:
    found = await conn.execute(
        sa.select(sessions.c.id).where(
            sessions.c.id == session_id, sessions.c.festival_id == festival_id
        )
    )
    return found.first() is not None


async def post_in_festival(conn: AsyncConnection, festival_id: int, post_id: int) -> bool:
    found = await conn.execute(
        sa.select(posts.c.id).where(posts.c.id == post_id, posts.c.festival_id == festival_id)
    )
    return found.first() is not None


# --- the full-text index -----------------------------------------------------------------
# The table is ``festival.db.tables.SEARCH_TABLE``, made by migration 0007: an FTS5 table
# on SQLite, a table with a generated ``tsvector`` column and a GIN index on PostgreSQL.


async def search_entry(conn: AsyncConnection, clip_id: int) -> str | None:
    """The transcript text indexed for a clip, or None when it has no entry."""
    table = search_table(conn)
    found = await conn.execute(sa.select(table.c.transcript).where(_search_key(table) == clip_id))
    row = found.first()
    return None if row is None else str(row[0])


def search_rows(conn: AsyncConnection) -> tuple[sa.TableClause, str]:
    """The search table and the name of its key column, for bulk inserts."""
    table = search_table(conn)
    return table, _search_key(table).name


async def search_put(
    conn: AsyncConnection, clip_id: int, title: str, credits: str, transcript: str
) -> None:
    await search_delete(conn, clip_id)
    table, key = search_rows(conn)
    await conn.execute(
        sa.insert(table).values(
            {key: clip_id, "title": title, "credits": credits, "transcript": transcript}
        )
    )


async def search_delete(conn: AsyncConnection, clip_id: int) -> None:
    table = search_table(conn)
    await conn.execute(sa.delete(table).where(_search_key(table) == clip_id))


async def search_clear(conn: AsyncConnection) -> None:
    await conn.execute(sa.delete(search_table(conn)))


async def search_ids(conn: AsyncConnection) -> list[int]:
    """The clip ids the index has entries for (for festival fsck)."""
    key = _search_key(search_table(conn))
    rows = await conn.execute(sa.select(key).order_by(key))
    return [int(r[0]) for r in rows]


async def clip_ids_to_index(conn: AsyncConnection) -> list[int]:
    rows = await conn.execute(
        sa.select(clips.c.id).where(clips.c.withdrawn_at.is_(None)).order_by(clips.c.id)
    )
    return [r.id for r in rows]


async def unindexed_clip_exists(conn: AsyncConnection) -> bool:
    """True when a clip with a consent has no search entry (after an upgrade or a restore)."""
    indexed = sa.select(_search_key(search_table(conn)))
    found = await conn.execute(
        sa.select(sa.literal(1))
        .select_from(clip_consents.join(clips, clips.c.id == clip_consents.c.clip_id))
        .where(clips.c.withdrawn_at.is_(None), clip_consents.c.clip_id.not_in(indexed))
        .limit(1)
    )
    return found.first() is not None


# --- the public change counter (see festival.db.tables.public_changes) -------------------


async def public_version(conn: AsyncConnection) -> int:
    found = await conn.execute(sa.select(public_changes.c.version).where(public_changes.c.id == 1))
    return int(found.scalar() or 0)


async def public_version_postgres(conn: asyncpg.Connection) -> int:
    """The same read on a plain asyncpg connection: no pool, no transaction to open."""
    found = await conn.fetchval("SELECT version FROM public_changes WHERE id = 1")
    return int(found) if found is not None else 0


def public_version_now(conn: sqlite3.Connection) -> int:
    """The same read on a plain SQLite connection, without leaving the event loop."""
    row = conn.execute("SELECT version FROM public_changes WHERE id = 1").fetchone()
    return int(row[0]) if row else 0
