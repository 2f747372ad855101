"""Rules of the links between clips, sessions and blog posts.

Staff link any two of a festival's things, from either side. Both ends must belong to the
festival named in the address, so a link can never cross festivals. Adding a link that is
there already changes nothing (a link from the clip's slot stays marked as one); removing
one that is not there is NotFound, so a client learns its view was stale. Staff may remove
a link made from a clip's slot: they know better than the slot when a clip strayed.

The public only ever sees links through :func:`session_public_links`, which applies the
publication gate to the clips.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.engine import Database
from festival.errors import Invalid, NotFound
from festival.links import queries
from festival.links.schemas import (
    KIND_WORDS,
    Candidates,
    ClipLinks,
    End,
    Kind,
    PostLinks,
    SessionLinks,
    SessionPublicLinks,
    StaffLinksView,
)
from festival.programme import service as programme
from festival.programme.schemas import Festival

_WHERE_LISTED: dict[Kind, str] = {
    "clip": "The staff clips page lists this festival's clips with their numbers.",
    "session": "The festival's staff page lists its sessions.",
    "post": "The festival's blog posts page lists its posts.",
}


def _name(end: End) -> str:
    return f"{KIND_WORDS[end.kind]} {end.id}"


async def _require(conn: AsyncConnection, festival: Festival, *ends: End) -> None:
    for end in ends:
        if not await queries.exists(conn, festival.id, end):
            raise NotFound(
                f"{festival.name} has no {KIND_WORDS[end.kind]} number {end.id}.",
                fix=f"Check the number. {_WHERE_LISTED[end.kind]}",
            )


def _pair(a: End, b: End) -> None:
    if a.kind == b.kind:
        raise Invalid(
            f"A {KIND_WORDS[a.kind]} cannot be linked to another {KIND_WORDS[b.kind]}.",
            fix="Link clips, sessions and blog posts to each other.",
        )


# --- reading what one thing links to -----------------------------------------------------------


async def _clip_links(conn: AsyncConnection, clip_id: int) -> ClipLinks:
    return ClipLinks(
        clip=await queries.clip_ref(conn, clip_id),
        sessions=await queries.sessions_of_clip(conn, clip_id),
        posts=await queries.posts_of_clip(conn, clip_id),
    )


async def _session_links(conn: AsyncConnection, session_id: int) -> SessionLinks:
    return SessionLinks(
        session=await queries.session_ref(conn, session_id),
        clips=await queries.clips_of_session(conn, session_id),
        posts=await queries.posts_of_session(conn, session_id),
    )


async def _post_links(conn: AsyncConnection, post_id: int) -> PostLinks:
    return PostLinks(
        post=await queries.post_ref(conn, post_id),
        clips=await queries.clips_of_post(conn, post_id),
        sessions=await queries.sessions_of_post(conn, post_id),
    )


async def clip_links(db: Database, slug: str, clip_id: int) -> ClipLinks:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        await _require(conn, festival, End("clip", clip_id))
        return await _clip_links(conn, clip_id)


async def session_links(db: Database, slug: str, session_id: int) -> SessionLinks:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        await _require(conn, festival, End("session", session_id))
        return await _session_links(conn, session_id)


async def post_links(db: Database, slug: str, post_id: int) -> PostLinks:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        await _require(conn, festival, End("post", post_id))
        return await _post_links(conn, post_id)


# --- adding and removing -------------------------------------------------------------------------


async def _add(conn: AsyncConnection, slug: str, a: End, b: End) -> None:
    _pair(a, b)
    festival = await programme.require_festival(conn, slug)
    await _require(conn, festival, a, b)
    await queries.add(conn, a, b)


async def link_to_clip(db: Database, slug: str, clip_id: int, other: End) -> ClipLinks:
    """Link a session or post to the clip; the clip's links after."""
    async with db.write() as conn:
        await _add(conn, slug, End("clip", clip_id), other)
        return await _clip_links(conn, clip_id)


async def link_to_session(db: Database, slug: str, session_id: int, other: End) -> SessionLinks:
    """Link a clip or post to the session; the session's links after."""
    async with db.write() as conn:
        await _add(conn, slug, End("session", session_id), other)
        return await _session_links(conn, session_id)


async def link_to_post(db: Database, slug: str, post_id: int, other: End) -> PostLinks:
    """Link a clip or session to the post; the post's links after."""
    async with db.write() as conn:
        await _add(conn, slug, End("post", post_id), other)
        return await _post_links(conn, post_id)


async def link(db: Database, slug: str, a: End, b: End) -> None:
    """Link two things, whichever side the caller stands on."""
    async with db.write() as conn:
        await _add(conn, slug, a, b)


async def unlink(db: Database, slug: str, a: End, b: End) -> None:
    _pair(a, b)
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        await _require(conn, festival, a, b)
        if not await queries.remove(conn, a, b):
            raise NotFound(
                f"The {_name(a)} is not linked to the {_name(b)}.",
                fix=f"The {KIND_WORDS[a.kind]}'s links show what it is linked to now.",
            )


# --- the staff pages -----------------------------------------------------------------------------


async def staff_view(db: Database, slug: str, end: End) -> StaffLinksView:
    """One thing's links, and everything of its festival it could be linked to as well."""
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        await _require(conn, festival, end)
        clips = await queries.festival_clips(conn, festival.id)
        sessions = await queries.festival_sessions(conn, festival.id)
        posts = await queries.festival_posts(conn, festival.id)
        if end.kind == "clip":
            clip = await _clip_links(conn, end.id)
            session_ids = {s.id for s in clip.sessions}
            post_ids = {p.id for p in clip.posts}
            return StaffLinksView(
                festival=festival,
                clip=clip,
                candidates=Candidates(
                    sessions=[s for s in sessions if s.id not in session_ids],
                    posts=[p for p in posts if p.id not in post_ids],
                ),
            )
        if end.kind == "session":
            session = await _session_links(conn, end.id)
            clip_ids = {c.id for c in session.clips}
            post_ids = {p.id for p in session.posts}
            return StaffLinksView(
                festival=festival,
                session=session,
                candidates=Candidates(
                    clips=[c for c in clips if c.id not in clip_ids],
                    posts=[p for p in posts if p.id not in post_ids],
                ),
            )
        post = await _post_links(conn, end.id)
        clip_ids = {c.id for c in post.clips}
        session_ids = {s.id for s in post.sessions}
        return StaffLinksView(
            festival=festival,
            post=post,
            candidates=Candidates(
                clips=[c for c in clips if c.id not in clip_ids],
                sessions=[s for s in sessions if s.id not in session_ids],
            ),
        )


# --- the public session page ---------------------------------------------------------------------


async def session_public_links(
    db: Database, festival_id: int, session_id: int
) -> SessionPublicLinks:
    """What a public session page lists: published interviews and blog posts about it.

    The caller has already found the session in the public programme.
    """
    today = datetime.now(UTC).date()
    async with db.read() as conn:
        return SessionPublicLinks(
            clips=await queries.public_clips_of_session(conn, festival_id, session_id, today),
            posts=await queries.public_posts_of_session(conn, festival_id, session_id),
        )
