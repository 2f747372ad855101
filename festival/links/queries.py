"""SQL for the links between clips, sessions and blog posts.

The three link tables each join two kinds of thing; :data:`_PAIRS` says which table and
columns hold a pair, so adding and removing is written once for all three. Reads of the
other ends (clip titles, session times, post dates) are joins from here rather than
calls into other areas, so one page costs a few queries, not one per link.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.consent.queries import publicly_visible
from festival.db.tables import clip_posts, clip_sessions, clips, posts, session_posts, sessions
from festival.links.schemas import (
    ClipSessionRef,
    End,
    Kind,
    LinkedClipRef,
    LinkedPostRef,
    LinkedSessionRef,
    PublicClipRef,
    SessionClipRef,
)
from festival.timeline.schemas import LinkedPost

_TABLES: dict[Kind, sa.Table] = {"clip": clips, "session": sessions, "post": posts}
_PAIRS: dict[frozenset[Kind], sa.Table] = {
    frozenset(("clip", "session")): clip_sessions,
    frozenset(("clip", "post")): clip_posts,
    frozenset(("session", "post")): session_posts,
}


def _row_values(a: End, b: End) -> dict[str, int]:
    return {f"{a.kind}_id": a.id, f"{b.kind}_id": b.id}


def _where(table: sa.Table, a: End, b: End) -> sa.ColumnElement[bool]:
    return sa.and_(*(table.c[column] == value for column, value in _row_values(a, b).items()))


async def exists(conn: AsyncConnection, festival_id: int, end: End) -> bool:
    """Whether the festival has this clip, session or post."""
    table = _TABLES[end.kind]
    query = sa.select(table.c.id).where(table.c.id == end.id, table.c.festival_id == festival_id)
    return (await conn.execute(query)).first() is not None


async def add(conn: AsyncConnection, a: End, b: End) -> None:
    """Link ``a`` and ``b``; a link already there stays as it is (a slot link stays one)."""
    table = _PAIRS[frozenset((a.kind, b.kind))]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    await conn.execute(insert(table).values(**_row_values(a, b)).on_conflict_do_nothing())


async def remove(conn: AsyncConnection, a: End, b: End) -> bool:
    """Unlink ``a`` and ``b``; False when they were not linked."""
    table = _PAIRS[frozenset((a.kind, b.kind))]
    result = await conn.execute(sa.delete(table).where(_where(table, a, b)))
    return bool(result.rowcount)


# --- one end as a reference -------------------------------------------------------------------

_clip_ref = (clips.c.id, clips.c.title)
_session_ref = (sessions.c.id, sessions.c.title, sessions.c.starts_at)
_post_ref = (posts.c.id, posts.c.title, posts.c.published_at)


def _all(rows: Any, kind: type[Any]) -> list[Any]:
    return [msgspec.convert(r, kind, from_attributes=True) for r in rows]


async def clip_ref(conn: AsyncConnection, clip_id: int) -> LinkedClipRef:
    row = (await conn.execute(sa.select(*_clip_ref).where(clips.c.id == clip_id))).one()
    return msgspec.convert(row, LinkedClipRef, from_attributes=True)


async def session_ref(conn: AsyncConnection, session_id: int) -> LinkedSessionRef:
    row = (await conn.execute(sa.select(*_session_ref).where(sessions.c.id == session_id))).one()
    return msgspec.convert(row, LinkedSessionRef, from_attributes=True)


async def post_ref(conn: AsyncConnection, post_id: int) -> LinkedPostRef:
    row = (await conn.execute(sa.select(*_post_ref).where(posts.c.id == post_id))).one()
    return msgspec.convert(row, LinkedPostRef, from_attributes=True)


# --- what one thing links to ------------------------------------------------------------------


async def sessions_of_clip(conn: AsyncConnection, clip_id: int) -> list[ClipSessionRef]:
    rows = await conn.execute(
        sa.select(*_session_ref, clip_sessions.c.source)
        .join(clip_sessions, clip_sessions.c.session_id == sessions.c.id)
        .where(clip_sessions.c.clip_id == clip_id)
        .order_by(sessions.c.starts_at, sessions.c.id)
    )
    return _all(rows, ClipSessionRef)


async def posts_of_clip(conn: AsyncConnection, clip_id: int) -> list[LinkedPostRef]:
    rows = await conn.execute(
        sa.select(*_post_ref)
        .join(clip_posts, clip_posts.c.post_id == posts.c.id)
        .where(clip_posts.c.clip_id == clip_id)
        .order_by(posts.c.published_at, posts.c.id)
    )
    return _all(rows, LinkedPostRef)


async def clips_of_session(conn: AsyncConnection, session_id: int) -> list[SessionClipRef]:
    rows = await conn.execute(
        sa.select(*_clip_ref, clip_sessions.c.source)
        .join(clip_sessions, clip_sessions.c.clip_id == clips.c.id)
        .where(clip_sessions.c.session_id == session_id)
        .order_by(clips.c.timeline_at, clips.c.id)
    )
    return _all(rows, SessionClipRef)


async def posts_of_session(conn: AsyncConnection, session_id: int) -> list[LinkedPostRef]:
    rows = await conn.execute(
        sa.select(*_post_ref)
        .join(session_posts, session_posts.c.post_id == posts.c.id)
        .where(session_posts.c.session_id == session_id)
        .order_by(posts.c.published_at, posts.c.id)
    )
    return _all(rows, LinkedPostRef)


async def clips_of_post(conn: AsyncConnection, post_id: int) -> list[LinkedClipRef]:
    rows = await conn.execute(
        sa.select(*_clip_ref)
        .join(clip_posts, clip_posts.c.clip_id == clips.c.id)
        .where(clip_posts.c.post_id == post_id)
        .order_by(clips.c.timeline_at, clips.c.id)
    )
    return _all(rows, LinkedClipRef)


async def sessions_of_post(conn: AsyncConnection, post_id: int) -> list[LinkedSessionRef]:
    rows = await conn.execute(
        sa.select(*_session_ref)
        .join(session_posts, session_posts.c.session_id == sessions.c.id)
        .where(session_posts.c.post_id == post_id)
        .order_by(sessions.c.starts_at, sessions.c.id)
    )
    return _all(rows, LinkedSessionRef)


# --- everything a festival has, for the staff pages' choices -----------------------------------


async def festival_clips(conn: AsyncConnection, festival_id: int) -> list[LinkedClipRef]:
    rows = await conn.execute(
        sa.select(*_clip_ref)
        .where(clips.c.festival_id == festival_id)
        .order_by(sa.func.lower(clips.c.title), clips.c.id)
    )
    return _all(rows, LinkedClipRef)


async def festival_sessions(conn: AsyncConnection, festival_id: int) -> list[LinkedSessionRef]:
    rows = await conn.execute(
        sa.select(*_session_ref)
        .where(sessions.c.festival_id == festival_id)
        .order_by(sessions.c.starts_at, sessions.c.title, sessions.c.id)
    )
    return _all(rows, LinkedSessionRef)


async def festival_posts(conn: AsyncConnection, festival_id: int) -> list[LinkedPostRef]:
    rows = await conn.execute(
        sa.select(*_post_ref)
        .where(posts.c.festival_id == festival_id)
        .order_by(posts.c.published_at.desc(), posts.c.id.desc())
    )
    return _all(rows, LinkedPostRef)


# --- what a session's public page shows --------------------------------------------------------


async def public_clips_of_session(
    conn: AsyncConnection, festival_id: int, session_id: int, today: date
) -> list[PublicClipRef]:
    """Clips linked to the session that the publication gate lets the public see."""
    rows = await conn.execute(
        sa.select(clips.c.id, clips.c.title, clips.c.thumb_key)
        .join(clip_sessions, clip_sessions.c.clip_id == clips.c.id)
        .where(
            clip_sessions.c.session_id == session_id,
            clips.c.festival_id == festival_id,
            publicly_visible("timeline", today),
        )
        .order_by(clips.c.timeline_at, clips.c.id)
    )
    return [
        PublicClipRef(
            id=r.id,
            title=r.title,
            url=f"/clips/{r.id}",
            thumb_url=f"/media/clips/{r.id}/thumb.jpg" if r.thumb_key else None,
        )
        for r in rows
    ]


async def public_posts_of_session(
    conn: AsyncConnection, festival_id: int, session_id: int
) -> list[LinkedPost]:
    rows = await conn.execute(
        sa.select(posts.c.id, posts.c.title, posts.c.author, posts.c.published_at, posts.c.url)
        .join(session_posts, session_posts.c.post_id == posts.c.id)
        .where(session_posts.c.session_id == session_id, posts.c.festival_id == festival_id)
        .order_by(posts.c.published_at, posts.c.id)
    )
    return _all(rows, LinkedPost)
