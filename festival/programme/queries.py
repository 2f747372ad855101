"""SQL for the programme area: festivals, venues, rooms, people, sessions, co-producers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.tables import festivals, people, rooms, session_co_producers, sessions, venues
from festival.programme.schemas import CoProducer, Festival, Person, Room, Session, Venue

# --- festivals ------------------------------------------------------------------------


async def festival_by_slug(conn: AsyncConnection, slug: str) -> Festival | None:
    row = (await conn.execute(sa.select(festivals).where(festivals.c.slug == slug))).first()
    return msgspec.convert(row, Festival, from_attributes=True) if row else None


async def festival_by_id(conn: AsyncConnection, festival_id: int) -> Festival | None:
    row = (await conn.execute(sa.select(festivals).where(festivals.c.id == festival_id))).first()
    return msgspec.convert(row, Festival, from_attributes=True) if row else None


async def all_festivals(conn: AsyncConnection) -> list[Festival]:
    rows = await conn.execute(sa.select(festivals).order_by(festivals.c.starts_on.desc()))
    return [msgspec.convert(r, Festival, from_attributes=True) for r in rows]


async def insert_festival(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(sa.insert(festivals).values(**values).returning(festivals.c.id))
    return int(result.scalar_one())


async def update_festival(conn: AsyncConnection, festival_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(festivals).where(festivals.c.id == festival_id).values(**values))


async def delete_festival(conn: AsyncConnection, festival_id: int) -> None:
    # Sessions and their co-producer rows go first: rooms refuse deletion while in use.
    await conn.execute(sa.delete(sessions).where(sessions.c.festival_id == festival_id))
    venue_ids = sa.select(venues.c.id).where(venues.c.festival_id == festival_id)
    await conn.execute(sa.delete(rooms).where(rooms.c.venue_id.in_(venue_ids)))
    await conn.execute(sa.delete(festivals).where(festivals.c.id == festival_id))


async def slug_taken(conn: AsyncConnection, slug: str, except_id: int | None = None) -> bool:
    query = sa.select(festivals.c.id).where(festivals.c.slug == slug)
    if except_id is not None:
        query = query.where(festivals.c.id != except_id)
    return (await conn.execute(query)).first() is not None


async def sessions_outside(
    conn: AsyncConnection, festival_id: int, starts: datetime, ends: datetime
) -> int:
    """How many of a festival's sessions fall outside ``[starts, ends)``."""
    result = await conn.execute(
        sa.select(sa.func.count())
        .select_from(sessions)
        .where(
            sessions.c.festival_id == festival_id,
            sa.or_(sessions.c.starts_at < starts, sessions.c.ends_at > ends),
        )
    )
    return int(result.scalar_one())


# --- venues and rooms -----------------------------------------------------------------

_room_columns = (
    rooms.c.id,
    rooms.c.venue_id,
    venues.c.name.label("venue_name"),
    venues.c.online,
    rooms.c.name,
    rooms.c.capacity,
    rooms.c.join_url,
    rooms.c.step_free,
    rooms.c.hearing_loop,
    rooms.c.bsl_interpretation,
    rooms.c.quiet_room,
    rooms.c.access_notes,
)


def _rooms_query(festival_id: int) -> sa.Select[Any]:
    return (
        sa.select(*_room_columns)
        .join(venues, venues.c.id == rooms.c.venue_id)
        .where(venues.c.festival_id == festival_id)
    )


async def festival_venues(conn: AsyncConnection, festival_id: int) -> list[Venue]:
    venue_rows = await conn.execute(
        sa.select(
            venues.c.id, venues.c.name, venues.c.address, venues.c.online, venues.c.directions
        )
        .where(venues.c.festival_id == festival_id)
        .order_by(venues.c.online, venues.c.name)
    )
    result = [msgspec.convert(r, Venue, from_attributes=True) for r in venue_rows]
    by_id = {v.id: v for v in result}
    for room in await festival_rooms(conn, festival_id):
        by_id[room.venue_id].rooms.append(room)
    return result


async def festival_rooms(conn: AsyncConnection, festival_id: int) -> list[Room]:
    rows = await conn.execute(_rooms_query(festival_id).order_by(venues.c.name, rooms.c.name))
    return [msgspec.convert(r, Room, from_attributes=True) for r in rows]


async def room_by_id(conn: AsyncConnection, festival_id: int, room_id: int) -> Room | None:
    row = (await conn.execute(_rooms_query(festival_id).where(rooms.c.id == room_id))).first()
    return msgspec.convert(row, Room, from_attributes=True) if row else None


async def venue_by_id(conn: AsyncConnection, festival_id: int, venue_id: int) -> Venue | None:
    row = (
        await conn.execute(
            sa.select(
                venues.c.id, venues.c.name, venues.c.address, venues.c.online, venues.c.directions
            ).where(venues.c.festival_id == festival_id, venues.c.id == venue_id)
        )
    ).first()
    if row is None:
        return None
    venue = msgspec.convert(row, Venue, from_attributes=True)
    rows = await conn.execute(
        _rooms_query(festival_id).where(rooms.c.venue_id == venue_id).order_by(rooms.c.name)
    )
    venue.rooms = [msgspec.convert(r, Room, from_attributes=True) for r in rows]
    return venue


async def venue_name_taken(
    conn: AsyncConnection, festival_id: int, name: str, except_id: int | None = None
) -> bool:
    query = sa.select(venues.c.id).where(
        venues.c.festival_id == festival_id, sa.func.lower(venues.c.name) == name.lower()
    )
    if except_id is not None:
        query = query.where(venues.c.id != except_id)
    return (await conn.execute(query)).first() is not None


async def room_name_taken(
    conn: AsyncConnection, venue_id: int, name: str, except_id: int | None = None
) -> bool:
    query = sa.select(rooms.c.id).where(
        rooms.c.venue_id == venue_id, sa.func.lower(rooms.c.name) == name.lower()
    )
    if except_id is not None:
        query = query.where(rooms.c.id != except_id)
    return (await conn.execute(query)).first() is not None


async def insert_venue(conn: AsyncConnection, festival_id: int, values: dict[str, Any]) -> int:
    result = await conn.execute(
        sa.insert(venues).values(festival_id=festival_id, **values).returning(venues.c.id)
    )
    return int(result.scalar_one())


async def update_venue(conn: AsyncConnection, venue_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(venues).where(venues.c.id == venue_id).values(**values))


async def delete_venue(conn: AsyncConnection, venue_id: int) -> None:
    await conn.execute(sa.delete(rooms).where(rooms.c.venue_id == venue_id))
    await conn.execute(sa.delete(venues).where(venues.c.id == venue_id))


async def insert_room(conn: AsyncConnection, values: dict[str, Any]) -> int:
    result = await conn.execute(sa.insert(rooms).values(**values).returning(rooms.c.id))
    return int(result.scalar_one())


async def update_room(conn: AsyncConnection, room_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(rooms).where(rooms.c.id == room_id).values(**values))


async def delete_room(conn: AsyncConnection, room_id: int) -> None:
    await conn.execute(sa.delete(rooms).where(rooms.c.id == room_id))


async def sessions_in_rooms(conn: AsyncConnection, room_ids: Sequence[int]) -> list[str]:
    rows = await conn.execute(
        sa.select(sessions.c.title)
        .where(sessions.c.room_id.in_(room_ids))
        .order_by(sessions.c.starts_at)
    )
    return [r.title for r in rows]


# --- people ---------------------------------------------------------------------------


async def festival_people(conn: AsyncConnection, festival_id: int) -> list[Person]:
    rows = await conn.execute(
        sa.select(people.c.id, people.c.name, people.c.organisation)
        .where(people.c.festival_id == festival_id)
        .order_by(people.c.name)
    )
    return [msgspec.convert(r, Person, from_attributes=True) for r in rows]


async def person_by_id(conn: AsyncConnection, festival_id: int, person_id: int) -> Person | None:
    row = (
        await conn.execute(
            sa.select(people.c.id, people.c.name, people.c.organisation).where(
                people.c.festival_id == festival_id, people.c.id == person_id
            )
        )
    ).first()
    return msgspec.convert(row, Person, from_attributes=True) if row else None


async def existing_people(
    conn: AsyncConnection, festival_id: int, person_ids: Iterable[int]
) -> set[int]:
    rows = await conn.execute(
        sa.select(people.c.id).where(
            people.c.festival_id == festival_id, people.c.id.in_(list(person_ids))
        )
    )
    return {r.id for r in rows}


async def insert_person(conn: AsyncConnection, festival_id: int, values: dict[str, Any]) -> int:
    result = await conn.execute(
        sa.insert(people).values(festival_id=festival_id, **values).returning(people.c.id)
    )
    return int(result.scalar_one())


async def update_person(conn: AsyncConnection, person_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(people).where(people.c.id == person_id).values(**values))


async def delete_person(conn: AsyncConnection, person_id: int) -> None:
    await conn.execute(sa.delete(people).where(people.c.id == person_id))


async def sessions_of_person(conn: AsyncConnection, person_id: int) -> list[str]:
    rows = await conn.execute(
        sa.select(sessions.c.title)
        .join(session_co_producers, session_co_producers.c.session_id == sessions.c.id)
        .where(session_co_producers.c.person_id == person_id)
        .order_by(sessions.c.starts_at)
    )
    return [r.title for r in rows]


# --- sessions -------------------------------------------------------------------------


class _SessionRow(msgspec.Struct):
    id: int
    title: str
    summary: str
    kind: str
    track: str
    room_id: int
    starts_at: datetime
    ends_at: datetime
    language: str
    access_notes: str
    do_not_film: bool
    status: str
    created_at: datetime
    updated_at: datetime


async def festival_sessions(
    conn: AsyncConnection,
    festival_id: int,
    *,
    statuses: Sequence[str] | None = None,
    session_id: int | None = None,
) -> list[Session]:
    """Sessions with their rooms and co-producers, in programme order."""
    query = sa.select(sessions).where(sessions.c.festival_id == festival_id)
    if statuses is not None:
        query = query.where(sessions.c.status.in_(statuses))
    if session_id is not None:
        query = query.where(sessions.c.id == session_id)
    rows = [
        msgspec.convert(r, _SessionRow, from_attributes=True)
        for r in await conn.execute(query.order_by(sessions.c.starts_at, sessions.c.id))
    ]
    if not rows:
        return []
    room_map = {r.id: r for r in await festival_rooms(conn, festival_id)}
    producers: dict[int, list[CoProducer]] = {r.id: [] for r in rows}
    producer_rows = await conn.execute(
        sa.select(
            session_co_producers.c.session_id,
            session_co_producers.c.person_id,
            session_co_producers.c.role,
            people.c.name,
            people.c.organisation,
        )
        .join(people, people.c.id == session_co_producers.c.person_id)
        .where(session_co_producers.c.session_id.in_(list(producers)))
        .order_by(session_co_producers.c.session_id, session_co_producers.c.position)
    )
    for p in producer_rows:
        producers[p.session_id].append(
            CoProducer(person_id=p.person_id, name=p.name, organisation=p.organisation, role=p.role)
        )
    result = []
    for row in rows:
        values = msgspec.structs.asdict(row)
        room_id = values.pop("room_id")
        values["room"] = room_map[room_id]
        values["co_producers"] = producers[row.id]
        result.append(msgspec.convert(values, Session, from_attributes=True))
    # Rooms in the same slot sort by room name, so the printed programme reads steadily.
    result.sort(key=lambda s: (s.starts_at, s.room.venue_name, s.room.name, s.id))
    return result


async def room_clash(
    conn: AsyncConnection,
    room_id: int,
    starts_at: datetime,
    ends_at: datetime,
    except_id: int | None,
) -> Any:
    """The first live session in ``room_id`` overlapping the interval, if any."""
    query = sa.select(
        sessions.c.id, sessions.c.title, sessions.c.starts_at, sessions.c.ends_at
    ).where(
        sessions.c.room_id == room_id,
        sessions.c.status != "cancelled",
        sessions.c.starts_at < ends_at,
        sessions.c.ends_at > starts_at,
    )
    if except_id is not None:
        query = query.where(sessions.c.id != except_id)
    return (await conn.execute(query.order_by(sessions.c.starts_at).limit(1))).first()


async def person_clash(
    conn: AsyncConnection,
    person_ids: Sequence[int],
    starts_at: datetime,
    ends_at: datetime,
    except_id: int | None,
) -> Any:
    """The first live session a co-producer is already in at an overlapping time."""
    query = (
        sa.select(
            sessions.c.id,
            sessions.c.title,
            sessions.c.starts_at,
            sessions.c.ends_at,
            people.c.id.label("person_id"),
            people.c.name.label("person_name"),
        )
        .join(session_co_producers, session_co_producers.c.session_id == sessions.c.id)
        .join(people, people.c.id == session_co_producers.c.person_id)
        .where(
            session_co_producers.c.person_id.in_(list(person_ids)),
            sessions.c.status != "cancelled",
            sessions.c.starts_at < ends_at,
            sessions.c.ends_at > starts_at,
        )
    )
    if except_id is not None:
        query = query.where(sessions.c.id != except_id)
    return (await conn.execute(query.order_by(sessions.c.starts_at).limit(1))).first()


async def insert_session(conn: AsyncConnection, festival_id: int, values: dict[str, Any]) -> int:
    result = await conn.execute(
        sa.insert(sessions).values(festival_id=festival_id, **values).returning(sessions.c.id)
    )
    return int(result.scalar_one())


async def update_session(conn: AsyncConnection, session_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(sessions).where(sessions.c.id == session_id).values(**values))


async def set_co_producers(
    conn: AsyncConnection, session_id: int, producers: Sequence[tuple[int, str]]
) -> None:
    await conn.execute(
        sa.delete(session_co_producers).where(session_co_producers.c.session_id == session_id)
    )
    if producers:
        await conn.execute(
            sa.insert(session_co_producers),
            [
                {"session_id": session_id, "person_id": pid, "role": role, "position": n}
                for n, (pid, role) in enumerate(producers)
            ],
        )


async def delete_session(conn: AsyncConnection, session_id: int) -> None:
    await conn.execute(sa.delete(sessions).where(sessions.c.id == session_id))
