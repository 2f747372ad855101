"""The public timeline: published interviews in time order, each with its credit, its
sessions and the blog posts about it.

Clips are chosen by the publication gate written in SQL
(:func:`festival.consent.queries.publicly_visible`) and each one is checked again with
the gate in Python before it is shown, so the two can never disagree in the public's
disfavour. Everything here is built for many clips at once: one query per kind of thing
on a page, never one per clip.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.clips.public_pages import (
    FESTIVAL_TEAM,
    LICENCE_DEEDS,
    licence_of,
    licence_words,
    public_volunteer_name,
)
from festival.clips.schemas import ClipRow
from festival.consent import queries as consent_queries
from festival.consent import service as consent_service
from festival.consent.schemas import Scope
from festival.db.engine import Database
from festival.errors import BadRequest, Invalid, NotFound
from festival.programme import service as programme
from festival.programme.schemas import Festival
from festival.timeline import queries, search
from festival.timeline.queries import TimelineQuery
from festival.timeline.schemas import (
    DEFAULT_LIMIT,
    MAX_LIMIT,
    LinkedPost,
    LinkedSession,
    TimelineDay,
    TimelineFilters,
    TimelineItem,
    TimelinePage,
)

#: Query parameters the timeline understands; anything else is refused by name.
PARAMETERS = frozenset({"day", "session", "track", "post", "q", "cursor", "limit"})
MAX_QUERY = 200


def _today() -> date:
    return datetime.now(UTC).date()


# --- reading what a visitor asked for -------------------------------------------------


_UNREADABLE = re.compile("[\x00-\x1f\x7f\ufffd]")


def _positive_int(name: str, value: str) -> int:
    if not value.isdigit() or not 0 < int(value) <= 2**53:
        raise BadRequest.field(
            name,
            f"must be a whole number above 0, not {value[:40]!r}",
            fix=f"Use the id of a {name}, as the timeline's filter menu gives it.",
        )
    return int(value)


def parse_filters(
    params: Mapping[str, str], allowed: frozenset[str] = PARAMETERS
) -> TimelineFilters:
    """Filters from query parameters, refusing unknown names and unreadable values."""
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise BadRequest(
            "The timeline has no filter called " + ", ".join(repr(u[:40]) for u in unknown) + ".",
            fix="Use day (YYYY-MM-DD), session, track, post, q, cursor or limit.",
        )
    for name in ("track", "q"):
        if _UNREADABLE.search(params.get(name, "")):
            # Bytes that are not UTF-8 arrive as U+FFFD: searching for them finds nothing
            # and hides the real mistake (a link mangled on its way here).
            raise BadRequest.field(
                name,
                "has characters that could not be read as text",
                fix="Type the words again, or pick from the timeline's filter menu.",
            )
    filters = TimelineFilters()
    if day := params.get("day"):
        try:
            filters.day = date.fromisoformat(day)
        except ValueError:
            raise BadRequest.field(
                "day",
                f"must be a date like 2019-07-01, not {day[:40]!r}",
                fix="Give the day as year-month-day.",
            ) from None
    if session := params.get("session"):
        filters.session = _positive_int("session", session)
    if post := params.get("post"):
        filters.post = _positive_int("post", post)
    if track := params.get("track"):
        if len(track) > 100:
            raise BadRequest.field(
                "track",
                "is longer than any track name (100 characters)",
                fix="Pick a track from the timeline's filter menu.",
            )
        filters.track = track
    if q := params.get("q"):
        if len(q) > MAX_QUERY:
            raise BadRequest.field(
                "q",
                f"searches may be at most {MAX_QUERY} characters",
                fix="Search for a few words.",
            )
        filters.q = q.strip() or None
    return filters


def parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise Invalid.field(
            "limit",
            f"must be a whole number from 1 to {MAX_LIMIT}, not {value[:40]!r}",
            fix=f"Ask for at most {MAX_LIMIT} and follow next_url for more.",
        )
    return int(value)


def encode_cursor(at: datetime, clip_id: int) -> str:
    raw = msgspec.json.encode([at.astimezone(UTC).isoformat(), clip_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_BAD_CURSOR = "The cursor is not one this timeline gave out, or it was cut short."
_CURSOR_FIX = "Start again without cursor, then follow next_url from each page."


def decode_cursor(value: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        at_text, clip_id = msgspec.json.decode(raw, type=tuple[str, int])
        at = datetime.fromisoformat(at_text)
    except (binascii.Error, ValueError, msgspec.DecodeError, msgspec.ValidationError):
        raise BadRequest.field("cursor", _BAD_CURSOR, fix=_CURSOR_FIX) from None
    if at.tzinfo is None or clip_id < 1 or len(value) > 200:
        raise BadRequest.field("cursor", _BAD_CURSOR, fix=_CURSOR_FIX)
    return at, clip_id


# --- building items -------------------------------------------------------------------


async def build_items(
    conn: AsyncConnection,
    festival: Festival,
    rows: Sequence[ClipRow],
    base_url: str,
    scope: Scope = "timeline",
) -> list[TimelineItem]:
    """Public items for ``rows``, dropping any the gate does not allow for ``scope``."""
    ids = [row.id for row in rows]
    consents = await consent_queries.consents_of_clips(conn, ids)
    rules = await consent_queries.rules(conn, festival.id)
    sessions = await queries.sessions_of_clips(conn, ids)
    posts = await queries.posts_of_clips(conn, ids)
    names = await queries.volunteer_names(
        conn, sorted({r.volunteer_id for r in rows if r.volunteer_id is not None})
    )
    zone = ZoneInfo(festival.timezone)
    today = _today()
    items = []
    for row in rows:
        mine = consents[row.id]
        if not consent_service.is_public(row, mine, rules, scope, today):
            continue
        licence = licence_of(mine)
        at = row.timeline_at or row.created_at
        media = f"{base_url}/media/clips/{row.id}"
        page = f"{base_url}/clips/{row.id}"
        items.append(
            TimelineItem(
                id=row.id,
                title=row.title or "An interview",
                at=at,
                day=at.astimezone(zone).date(),
                duration=row.duration,
                width=row.width,
                height=row.height,
                credit=consent_service.owners_credit(mine),
                filmed_by=FESTIVAL_TEAM
                if row.volunteer_id is None
                else public_volunteer_name(names.get(row.volunteer_id, "")),
                licence=licence,
                licence_words=licence_words(licence, len(mine)),
                licence_url=LICENCE_DEEDS.get(licence),
                url=page,
                transcript_url=f"{page}/transcript",
                video_url=f"{media}/web.mp4",
                poster_url=f"{media}/poster.jpg" if row.poster_key else None,
                thumb_url=f"{media}/thumb.jpg" if row.thumb_key else None,
                captions_url=f"{media}/captions.vtt" if row.captions_key else None,
                video_size=row.rendition_size,
                sessions=[
                    LinkedSession(
                        id=s.id,
                        title=s.title,
                        starts_at=s.starts_at,
                        ends_at=s.ends_at,
                        room=s.room,
                        track=s.track,
                        url=f"{base_url}/festivals/{festival.slug}/sessions/{s.id}",
                    )
                    for s in sessions.get(row.id, [])
                ],
                posts=[
                    LinkedPost(
                        id=p.id,
                        title=p.title,
                        author=p.author,
                        published_at=p.published_at,
                        url=p.url,
                    )
                    for p in posts.get(row.id, [])
                ],
            )
        )
    return items


def group_by_day(items: Sequence[TimelineItem]) -> list[TimelineDay]:
    days: list[TimelineDay] = []
    for item in items:
        if not days or days[-1].day != item.day:
            days.append(TimelineDay(day=item.day, items=[]))
        days[-1].items.append(item)
    return days


# --- the timeline -------------------------------------------------------------------------


def _day_bounds(festival: Festival, day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(festival.timezone)
    starts = datetime.combine(day, time(0), zone)
    ends = datetime.combine(day + timedelta(days=1), time(0), zone)
    return starts.astimezone(UTC), ends.astimezone(UTC)


async def _check_filters(conn: AsyncConnection, festival: Festival, f: TimelineFilters) -> None:
    if f.session is not None and not await queries.session_in_festival(
        conn, festival.id, f.session
    ):
        raise Invalid.field(
            "session",
            f"this festival has no session {f.session}",
            fix="Pick a session from the festival's programme.",
        )
    if f.post is not None and not await queries.post_in_festival(conn, festival.id, f.post):
        raise Invalid.field(
            "post",
            f"this festival has no blog post {f.post}",
            fix="Pick a post from the festival's blog posts.",
        )


async def timeline(
    db: Database,
    slug: str,
    *,
    filters: TimelineFilters,
    cursor: str | None,
    limit: int,
    base_url: str,
    path: str,
) -> TimelinePage:
    """One page of the festival's timeline; ``path`` is where next_url points."""
    after = decode_cursor(cursor) if cursor else None
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        await _check_filters(conn, festival, filters)
        starts = ends = None
        if filters.day is not None:
            starts, ends = _day_bounds(festival, filters.day)
        words = search.search_words(filters.q) if filters.q else None
        if filters.q and words is None:
            rows: list[ClipRow] = []
        else:
            rows = await queries.timeline_rows(
                conn,
                TimelineQuery(
                    festival_id=festival.id,
                    scope="timeline",
                    today=_today(),
                    limit=limit + 1,
                    after=after,
                    starts=starts,
                    ends=ends,
                    session_id=filters.session,
                    track=filters.track,
                    post_id=filters.post,
                    words=words,
                ),
            )
        more = len(rows) > limit
        rows = rows[:limit]
        items = await build_items(conn, festival, rows, base_url)
    next_cursor = None
    next_url = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(last.timeline_at or last.created_at, last.id)
        params = {k: v for k, v in _filter_params(filters).items()}
        params["cursor"] = next_cursor
        if limit != DEFAULT_LIMIT:
            params["limit"] = str(limit)
        next_url = f"{path}?{urlencode(params)}"
    return TimelinePage(
        festival=festival.slug,
        festival_name=festival.name,
        filters=filters,
        days=group_by_day(items),
        count=len(items),
        next_cursor=next_cursor,
        next_url=next_url,
    )


def _filter_params(filters: TimelineFilters) -> dict[str, str]:
    params: dict[str, str] = {}
    for name in TimelineFilters.__struct_fields__:
        value = getattr(filters, name)
        if value is not None:
            params[name] = str(value)
    return params


async def latest(
    db: Database, slug: str, base_url: str, *, limit: int = 50, scope: Scope = "timeline"
) -> tuple[Festival, list[TimelineItem]]:
    """The festival and its newest public items first, for feeds and exports."""
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        rows = await queries.timeline_rows(
            conn,
            TimelineQuery(
                festival_id=festival.id,
                scope=scope,
                today=_today(),
                limit=limit,
                newest_first=True,
            ),
        )
        return festival, await build_items(conn, festival, rows, base_url, scope)


async def item(
    db: Database, clip_id: int, base_url: str, scope: Scope = "timeline"
) -> tuple[Festival, TimelineItem]:
    """One public clip as an item: :class:`Gone` if withdrawn, :class:`NotFound` if not
    public for ``scope``."""
    clip = await consent_service.public_clip(db, clip_id, scope)
    async with db.read() as conn:
        festival = await programme.festival_by_id(conn, clip.festival_id)
        items = await build_items(conn, festival, [clip], base_url, scope)
    if not items:  # the gate closed between the two reads: say so as the gate would
        await consent_service.public_clip(db, clip_id, scope)
        raise NotFound(f"There is no published clip {clip_id}.")
    return festival, items[0]


async def choices(db: Database, slug: str) -> tuple[Festival, queries.FilterChoices]:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        return festival, await queries.filter_choices(conn, festival.id, _today())
