"""Rules of the programme: who may be where, when, and what the public sees.

Every check that depends on other rows (clashes, slugs in use, rooms in use) runs inside
the same write transaction as the change, so two staff members saving at once cannot
both slip a session into one room.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.engine import Database
from festival.errors import Conflict, FieldError, Invalid, NotFound
from festival.formatting import clock, long_date
from festival.programme import queries
from festival.programme.schemas import (
    Festival,
    FestivalIn,
    FestivalPatch,
    Person,
    PersonIn,
    PersonPatch,
    Programme,
    Room,
    RoomIn,
    RoomPatch,
    Session,
    SessionIn,
    SessionPatch,
    Venue,
    VenueIn,
    VenuePatch,
)

PUBLIC_STATUSES = ("published", "cancelled")
MAX_FESTIVAL_DAYS = 31


def _changes(patch: msgspec.Struct) -> dict[str, Any]:
    return {f: getattr(patch, f) for f in patch.__struct_fields__ if getattr(patch, f) is not UNSET}


S = TypeVar("S", bound=msgspec.Struct)


def _merge(current: S, patch: msgspec.Struct, kind: type[S]) -> S:
    values = msgspec.structs.asdict(current)
    values.update(_changes(patch))
    return kind(**values)


# --- festivals ------------------------------------------------------------------------


# Words the staff pages use in their own addresses (/staff/festivals/new).
RESERVED_SLUGS = frozenset({"new"})


def _check_festival(data: FestivalIn) -> None:
    if data.slug in RESERVED_SLUGS:
        raise Invalid.field(
            "slug", f"{data.slug!r} is kept for the site's own pages", fix="Choose another."
        )
    try:
        ZoneInfo(data.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid.field(
            "timezone",
            f"{data.timezone!r} is not a time zone this service knows",
            fix="Use an IANA name such as Europe/London or Europe/Dublin.",
        ) from None
    if data.ends_on < data.starts_on:
        raise Invalid.field(
            "ends_on",
            "must be on or after starts_on",
            fix="Give the last day of the festival, not a day before it starts.",
        )
    if (data.ends_on - data.starts_on).days + 1 > MAX_FESTIVAL_DAYS:
        raise Invalid.field("ends_on", f"a festival may last at most {MAX_FESTIVAL_DAYS} days")


async def _festival(conn: AsyncConnection, slug: str) -> Festival:
    festival = await queries.festival_by_slug(conn, slug)
    if festival is None:
        raise NotFound(
            f"There is no festival called {slug!r}.",
            fix="Check the address; /api/v1/festivals lists the festivals.",
        )
    return festival


async def require_festival(conn: AsyncConnection, slug: str) -> Festival:
    """The festival called ``slug``, or NotFound: for other areas' services."""
    return await _festival(conn, slug)


async def festival_by_id(conn: AsyncConnection, festival_id: int) -> Festival:
    festival = await queries.festival_by_id(conn, festival_id)
    if festival is None:
        raise NotFound(f"There is no festival {festival_id}.")
    return festival


async def sessions_for(
    conn: AsyncConnection, festival: Festival, session_ids: Sequence[int] | None
) -> list[Session]:
    """All sessions of a festival (drafts too), or just those with the given ids."""
    if session_ids is None:
        return await queries.festival_sessions(conn, festival.id)
    found = []
    for session_id in session_ids:
        found += await queries.festival_sessions(conn, festival.id, session_id=session_id)
    return found


async def room_for(conn: AsyncConnection, festival: Festival, room_id: int) -> Room | None:
    return await queries.room_by_id(conn, festival.id, room_id)


def festival_window(festival: Festival | FestivalIn) -> tuple[datetime, datetime]:
    """The festival's first and last day as an interval of UTC instants."""
    zone = ZoneInfo(festival.timezone)
    start = datetime.combine(festival.starts_on, time.min, zone).astimezone(UTC)
    end = datetime.combine(festival.ends_on + timedelta(days=1), time.min, zone).astimezone(UTC)
    return start, end


async def list_festivals(db: Database) -> list[Festival]:
    async with db.read() as conn:
        return await queries.all_festivals(conn)


async def get_festival(db: Database, slug: str) -> Festival:
    async with db.read() as conn:
        return await _festival(conn, slug)


async def create_festival(db: Database, data: FestivalIn) -> Festival:
    _check_festival(data)
    async with db.write() as conn:
        if await queries.slug_taken(conn, data.slug):
            raise Conflict(
                f"The slug {data.slug!r} is already used by another festival.",
                fix="Choose another slug, for example by adding the year.",
                errors=[FieldError("slug", "already in use")],
            )
        await queries.insert_festival(conn, msgspec.structs.asdict(data))
        return await _festival(conn, data.slug)


async def update_festival(db: Database, slug: str, patch: FestivalPatch) -> Festival:
    async with db.write() as conn:
        current = await _festival(conn, slug)
        base = FestivalIn(
            slug=current.slug,
            name=current.name,
            starts_on=current.starts_on,
            ends_on=current.ends_on,
            timezone=current.timezone,
            description=current.description,
        )
        data = _merge(base, patch, FestivalIn)
        _check_festival(data)
        if data.slug != current.slug and await queries.slug_taken(conn, data.slug, current.id):
            raise Conflict(
                f"The slug {data.slug!r} is already used by another festival.",
                fix="Choose another slug.",
                errors=[FieldError("slug", "already in use")],
            )
        start, end = festival_window(data)
        outside = await queries.sessions_outside(conn, current.id, start, end)
        if outside:
            raise Invalid(
                f"{outside} session(s) would fall outside the new dates.",
                fix="Move or delete those sessions first, or keep the dates wider.",
                errors=[FieldError("starts_on", "sessions fall outside these dates")],
            )
        await queries.update_festival(conn, current.id, msgspec.structs.asdict(data))
        return await _festival(conn, data.slug)


async def delete_festival(db: Database, slug: str) -> None:
    async with db.write() as conn:
        current = await _festival(conn, slug)
        await queries.delete_festival(conn, current.id)


# --- venues and rooms -----------------------------------------------------------------


async def list_venues(db: Database, slug: str) -> list[Venue]:
    async with db.read() as conn:
        festival = await _festival(conn, slug)
        return await queries.festival_venues(conn, festival.id)


async def _venue(conn: AsyncConnection, festival: Festival, venue_id: int) -> Venue:
    venue = await queries.venue_by_id(conn, festival.id, venue_id)
    if venue is None:
        raise NotFound(
            f"Festival {festival.slug!r} has no venue {venue_id}.",
            fix=f"List the venues at /api/v1/festivals/{festival.slug}/venues.",
        )
    return venue


async def get_venue(db: Database, slug: str, venue_id: int) -> Venue:
    async with db.read() as conn:
        return await _venue(conn, await _festival(conn, slug), venue_id)


async def _check_venue_name(
    conn: AsyncConnection, festival: Festival, name: str, except_id: int | None = None
) -> None:
    if await queries.venue_name_taken(conn, festival.id, name, except_id):
        raise Conflict(
            f"This festival already has a venue called {name!r}.",
            fix="Give the venue a different name.",
            errors=[FieldError("name", "already in use")],
        )


async def create_venue(db: Database, slug: str, data: VenueIn) -> Venue:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        await _check_venue_name(conn, festival, data.name)
        venue_id = await queries.insert_venue(conn, festival.id, msgspec.structs.asdict(data))
        return await _venue(conn, festival, venue_id)


async def update_venue(db: Database, slug: str, venue_id: int, patch: VenuePatch) -> Venue:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        current = await _venue(conn, festival, venue_id)
        base = VenueIn(
            name=current.name,
            address=current.address,
            online=current.online,
            directions=current.directions,
        )
        data = _merge(base, patch, VenueIn)
        await _check_venue_name(conn, festival, data.name, venue_id)
        await queries.update_venue(conn, venue_id, msgspec.structs.asdict(data))
        return await _venue(conn, festival, venue_id)


async def delete_venue(db: Database, slug: str, venue_id: int) -> None:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        venue = await _venue(conn, festival, venue_id)
        await _refuse_if_rooms_used(conn, [r.id for r in venue.rooms], f"venue {venue.name!r}")
        await queries.delete_venue(conn, venue_id)


async def _refuse_if_rooms_used(conn: AsyncConnection, room_ids: Sequence[int], what: str) -> None:
    if not room_ids:
        return
    titles = await queries.sessions_in_rooms(conn, room_ids)
    if titles:
        listed = ", ".join(repr(t) for t in titles[:3]) + (" and more" if len(titles) > 3 else "")
        raise Conflict(
            f"The {what} is used by {len(titles)} session(s): {listed}.",
            fix="Move those sessions to another room, or delete them, first.",
        )


async def list_rooms(db: Database, slug: str) -> list[Room]:
    async with db.read() as conn:
        festival = await _festival(conn, slug)
        return await queries.festival_rooms(conn, festival.id)


async def _room(conn: AsyncConnection, festival: Festival, room_id: int, field: str = "") -> Room:
    room = await queries.room_by_id(conn, festival.id, room_id)
    if room is None:
        message = f"festival {festival.slug!r} has no room {room_id}"
        fix = f"List the rooms at /api/v1/festivals/{festival.slug}/rooms."
        if field:
            raise Invalid.field(field, message, fix=fix)
        raise NotFound(message[0].upper() + message[1:] + ".", fix=fix)
    return room


async def get_room(db: Database, slug: str, room_id: int) -> Room:
    async with db.read() as conn:
        return await _room(conn, await _festival(conn, slug), room_id)


async def _check_room(
    conn: AsyncConnection, festival: Festival, data: RoomIn, room_id: int | None
) -> None:
    venue = await queries.venue_by_id(conn, festival.id, data.venue_id)
    if venue is None:
        raise Invalid.field(
            "venue_id",
            f"festival {festival.slug!r} has no venue {data.venue_id}",
            fix=f"List the venues at /api/v1/festivals/{festival.slug}/venues.",
        )
    if await queries.room_name_taken(conn, venue.id, data.name, room_id):
        raise Conflict(
            f"{venue.name} already has a room called {data.name!r}.",
            fix="Give the room a different name.",
            errors=[FieldError("name", "already in use")],
        )


async def create_room(db: Database, slug: str, data: RoomIn) -> Room:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        await _check_room(conn, festival, data, None)
        room_id = await queries.insert_room(conn, msgspec.structs.asdict(data))
        return await _room(conn, festival, room_id)


async def update_room(db: Database, slug: str, room_id: int, patch: RoomPatch) -> Room:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        current = await _room(conn, festival, room_id)
        base = RoomIn(
            **{f: getattr(current, f) for f in RoomIn.__struct_fields__}  # same field names
        )
        data = _merge(base, patch, RoomIn)
        await _check_room(conn, festival, data, room_id)
        await queries.update_room(conn, room_id, msgspec.structs.asdict(data))
        return await _room(conn, festival, room_id)


async def delete_room(db: Database, slug: str, room_id: int) -> None:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        room = await _room(conn, festival, room_id)
        await _refuse_if_rooms_used(conn, [room.id], f"room {room.label!r}")
        await queries.delete_room(conn, room_id)


# --- people ---------------------------------------------------------------------------


async def list_people(db: Database, slug: str) -> list[Person]:
    async with db.read() as conn:
        festival = await _festival(conn, slug)
        return await queries.festival_people(conn, festival.id)


async def _person(conn: AsyncConnection, festival: Festival, person_id: int) -> Person:
    person = await queries.person_by_id(conn, festival.id, person_id)
    if person is None:
        raise NotFound(
            f"Festival {festival.slug!r} has no co-producer {person_id}.",
            fix=f"List the people at /api/v1/festivals/{festival.slug}/people.",
        )
    return person


async def get_person(db: Database, slug: str, person_id: int) -> Person:
    async with db.read() as conn:
        return await _person(conn, await _festival(conn, slug), person_id)


async def create_person(db: Database, slug: str, data: PersonIn) -> Person:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        person_id = await queries.insert_person(conn, festival.id, msgspec.structs.asdict(data))
        return await _person(conn, festival, person_id)


async def update_person(db: Database, slug: str, person_id: int, patch: PersonPatch) -> Person:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        current = await _person(conn, festival, person_id)
        data = _merge(
            PersonIn(name=current.name, organisation=current.organisation), patch, PersonIn
        )
        await queries.update_person(conn, person_id, msgspec.structs.asdict(data))
        return await _person(conn, festival, person_id)


async def delete_person(db: Database, slug: str, person_id: int) -> None:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        person = await _person(conn, festival, person_id)
        titles = await queries.sessions_of_person(conn, person_id)
        if titles:
            raise Conflict(
                f"{person.name} co-produces {len(titles)} session(s), first {titles[0]!r}.",
                fix="Remove them from those sessions first.",
            )
        await queries.delete_person(conn, person_id)


# --- sessions -------------------------------------------------------------------------


def _span(festival: Festival, starts_at: datetime, ends_at: datetime) -> str:
    return (
        f"{long_date(starts_at, festival.timezone)}, "
        f"{clock(starts_at, festival.timezone)} to {clock(ends_at, festival.timezone)}"
    )


async def _check_session(
    conn: AsyncConnection, festival: Festival, data: SessionIn, session_id: int | None
) -> None:
    if data.ends_at <= data.starts_at:
        raise Invalid.field(
            "ends_at", "must be after starts_at", fix="Give an end time later than the start."
        )
    if data.ends_at - data.starts_at > timedelta(hours=24):
        raise Invalid.field("ends_at", "a session may last at most 24 hours")
    start, end = festival_window(festival)
    if data.starts_at < start or data.ends_at > end:
        raise Invalid(
            f"The session must take place during the festival, "
            f"{long_date(festival.starts_on)} to {long_date(festival.ends_on)} "
            f"({festival.timezone}).",
            fix="Choose a start and end within the festival's dates, or change its dates.",
            errors=[FieldError("starts_at", "outside the festival's dates")],
        )
    room = await _room(conn, festival, data.room_id, field="room_id")
    ids = [p.person_id for p in data.co_producers]
    if len(set(ids)) != len(ids):
        raise Invalid.field(
            "co_producers", "lists the same person twice", fix="List each person once."
        )
    missing = set(ids) - await queries.existing_people(conn, festival.id, ids)
    if missing:
        raise Invalid.field(
            "co_producers",
            f"festival {festival.slug!r} has no person {sorted(missing)[0]}",
            fix=f"Add them first at /api/v1/festivals/{festival.slug}/people.",
        )
    if data.status == "cancelled":
        return  # a cancelled session frees its room and its people
    other = await queries.room_clash(conn, room.id, data.starts_at, data.ends_at, session_id)
    if other is not None:
        raise Conflict(
            f"{room.label} is already booked for {other.title!r} "
            f"({_span(festival, other.starts_at, other.ends_at)}).",
            fix="Choose another room or time, or move the other session.",
            errors=[FieldError("room_id", "room already in use at this time")],
            conflicts_with={"session_id": other.id, "title": other.title, "rule": "room"},
        )
    if ids:
        clash = await queries.person_clash(conn, ids, data.starts_at, data.ends_at, session_id)
        if clash is not None:
            raise Conflict(
                f"{clash.person_name} is already co-producing {clash.title!r} "
                f"({_span(festival, clash.starts_at, clash.ends_at)}).",
                fix="Choose another time, or ask someone else to co-produce one of them.",
                errors=[FieldError("co_producers", "a person would be in two places at once")],
                conflicts_with={
                    "session_id": clash.id,
                    "title": clash.title,
                    "rule": "co-producer",
                    "person_id": clash.person_id,
                },
            )


def _session_values(data: SessionIn) -> dict[str, Any]:
    values = msgspec.structs.asdict(data)
    values.pop("co_producers")
    return values


async def _session(
    conn: AsyncConnection, festival: Festival, session_id: int, statuses: Sequence[str] | None
) -> Session:
    found = await queries.festival_sessions(
        conn, festival.id, statuses=statuses, session_id=session_id
    )
    if not found:
        raise NotFound(
            f"Festival {festival.slug!r} has no session {session_id}"
            + (" in its public programme." if statuses else "."),
            fix=f"See the programme at /festivals/{festival.slug}/programme.",
        )
    return found[0]


def _statuses(include_drafts: bool) -> Sequence[str] | None:
    return None if include_drafts else PUBLIC_STATUSES


async def list_sessions(db: Database, slug: str, *, include_drafts: bool) -> list[Session]:
    async with db.read() as conn:
        festival = await _festival(conn, slug)
        return await queries.festival_sessions(
            conn, festival.id, statuses=_statuses(include_drafts)
        )


async def get_session(
    db: Database, slug: str, session_id: int, *, include_drafts: bool = False
) -> Session:
    async with db.read() as conn:
        festival = await _festival(conn, slug)
        return await _session(conn, festival, session_id, _statuses(include_drafts))


async def create_session(db: Database, slug: str, data: SessionIn) -> Session:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        await _check_session(conn, festival, data, None)
        session_id = await queries.insert_session(conn, festival.id, _session_values(data))
        await queries.set_co_producers(
            conn, session_id, [(p.person_id, p.role) for p in data.co_producers]
        )
        return await _session(conn, festival, session_id, None)


def session_input(session: Session) -> SessionIn:
    """A session as the input that would make it again: the base for edits."""
    from festival.programme.schemas import CoProducerIn

    return SessionIn(
        title=session.title,
        kind=session.kind,
        room_id=session.room.id,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        summary=session.summary,
        track=session.track,
        language=session.language,
        access_notes=session.access_notes,
        do_not_film=session.do_not_film,
        status=session.status,
        co_producers=[CoProducerIn(p.person_id, p.role) for p in session.co_producers],
    )


async def update_session(db: Database, slug: str, session_id: int, patch: SessionPatch) -> Session:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        current = await _session(conn, festival, session_id, None)
        data = _merge(session_input(current), patch, SessionIn)
        await _check_session(conn, festival, data, session_id)
        await queries.update_session(conn, session_id, _session_values(data))
        if patch.co_producers is not UNSET:
            await queries.set_co_producers(
                conn, session_id, [(p.person_id, p.role) for p in data.co_producers]
            )
        return await _session(conn, festival, session_id, None)


async def delete_session(db: Database, slug: str, session_id: int) -> None:
    async with db.write() as conn:
        festival = await _festival(conn, slug)
        await _session(conn, festival, session_id, None)
        await queries.delete_session(conn, session_id)


async def programme(db: Database, slug: str, *, include_drafts: bool = False) -> Programme:
    """Everything the public programme and its exports show, read in one snapshot."""
    async with db.read() as conn:
        festival = await _festival(conn, slug)
        return Programme(
            festival=festival,
            venues=await queries.festival_venues(conn, festival.id),
            people=await queries.festival_people(conn, festival.id),
            sessions=await queries.festival_sessions(
                conn, festival.id, statuses=_statuses(include_drafts)
            ),
        )
