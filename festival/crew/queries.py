"""SQL for the crew area: volunteers, tokens, training, availability, slots, assignments."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.crew.schemas import (
    LIVE_STATUSES,
    Assignment,
    CrewRules,
    Slot,
    SlotAssignment,
    SlotSession,
    Training,
    Window,
)
from festival.db.tables import (
    assignments,
    availability,
    festival_crew_rules,
    proposals,
    rooms,
    sessions,
    slot_preferences,
    slots,
    trainings,
    venues,
    volunteer_tokens,
    volunteers,
    web_sessions,
)


class VolunteerRow(msgspec.Struct):
    id: int
    festival_id: int
    email: str
    display_name: str
    pronouns: str
    phone: str
    access_needs: str
    suspended_at: datetime | None
    suspended_reason: str
    feed_version: int


# --- rules ----------------------------------------------------------------------------


async def crew_rules(conn: AsyncConnection, festival_id: int) -> CrewRules:
    row = (
        await conn.execute(
            sa.select(
                festival_crew_rules.c.self_signup,
                festival_crew_rules.c.leave_cutoff_minutes,
                festival_crew_rules.c.travel_buffer_minutes,
            ).where(festival_crew_rules.c.festival_id == festival_id)
        )
    ).first()
    return msgspec.convert(row, CrewRules, from_attributes=True) if row else CrewRules()


async def save_crew_rules(conn: AsyncConnection, festival_id: int, rules: CrewRules) -> None:
    values = msgspec.structs.asdict(rules)
    updated = await conn.execute(
        sa.update(festival_crew_rules)
        .where(festival_crew_rules.c.festival_id == festival_id)
        .values(**values)
    )
    if updated.rowcount == 0:
        await conn.execute(sa.insert(festival_crew_rules).values(festival_id=festival_id, **values))


# --- volunteers -----------------------------------------------------------------------

_volunteer_columns = (
    volunteers.c.id,
    volunteers.c.festival_id,
    volunteers.c.email,
    volunteers.c.display_name,
    volunteers.c.pronouns,
    volunteers.c.phone,
    volunteers.c.access_needs,
    volunteers.c.suspended_at,
    volunteers.c.suspended_reason,
    volunteers.c.feed_version,
)


async def volunteer_by_id(conn: AsyncConnection, volunteer_id: int) -> VolunteerRow | None:
    row = (
        await conn.execute(sa.select(*_volunteer_columns).where(volunteers.c.id == volunteer_id))
    ).first()
    return msgspec.convert(row, VolunteerRow, from_attributes=True) if row else None


async def volunteer_by_email(
    conn: AsyncConnection, festival_id: int, email: str
) -> VolunteerRow | None:
    row = (
        await conn.execute(
            sa.select(*_volunteer_columns).where(
                volunteers.c.festival_id == festival_id,
                sa.func.lower(volunteers.c.email) == email.lower(),
            )
        )
    ).first()
    return msgspec.convert(row, VolunteerRow, from_attributes=True) if row else None


async def festival_volunteers(conn: AsyncConnection, festival_id: int) -> list[VolunteerRow]:
    rows = await conn.execute(
        sa.select(*_volunteer_columns)
        .where(volunteers.c.festival_id == festival_id)
        .order_by(sa.func.lower(volunteers.c.display_name), volunteers.c.email)
    )
    return [msgspec.convert(r, VolunteerRow, from_attributes=True) for r in rows]


async def insert_volunteer(conn: AsyncConnection, festival_id: int, email: str, name: str) -> int:
    result = await conn.execute(
        sa.insert(volunteers)
        .values(festival_id=festival_id, email=email, display_name=name)
        .returning(volunteers.c.id)
    )
    return int(result.scalar_one())


async def update_volunteer(
    conn: AsyncConnection, volunteer_id: int, values: dict[str, Any]
) -> None:
    await conn.execute(
        sa.update(volunteers).where(volunteers.c.id == volunteer_id).values(**values)
    )


async def bump_feed_version(conn: AsyncConnection, volunteer_id: int) -> None:
    await conn.execute(
        sa.update(volunteers)
        .where(volunteers.c.id == volunteer_id)
        .values(feed_version=volunteers.c.feed_version + 1)
    )


async def insert_token(
    conn: AsyncConnection, volunteer_id: int, token_hash: str, expires_at: datetime
) -> None:
    await conn.execute(
        sa.insert(volunteer_tokens).values(
            volunteer_id=volunteer_id, token_hash=token_hash, expires_at=expires_at
        )
    )


class TokenRow(msgspec.Struct):
    volunteer_id: int
    expires_at: datetime
    revoked_at: datetime | None


async def token_by_hash(conn: AsyncConnection, token_hash: str) -> TokenRow | None:
    row = (
        await conn.execute(
            sa.select(
                volunteer_tokens.c.volunteer_id,
                volunteer_tokens.c.expires_at,
                volunteer_tokens.c.revoked_at,
            ).where(volunteer_tokens.c.token_hash == token_hash)
        )
    ).first()
    return msgspec.convert(row, TokenRow, from_attributes=True) if row else None


async def revoke_tokens(conn: AsyncConnection, volunteer_id: int, now: datetime) -> None:
    await conn.execute(
        sa.update(volunteer_tokens)
        .where(
            volunteer_tokens.c.volunteer_id == volunteer_id, volunteer_tokens.c.revoked_at.is_(None)
        )
        .values(revoked_at=now)
    )
    await conn.execute(sa.delete(web_sessions).where(web_sessions.c.volunteer_id == volunteer_id))


async def insert_volunteer_session(
    conn: AsyncConnection, volunteer_id: int, token_hash: str, expires_at: datetime
) -> None:
    await conn.execute(
        sa.insert(web_sessions).values(
            volunteer_id=volunteer_id, token_hash=token_hash, expires_at=expires_at
        )
    )


async def volunteer_by_session(
    conn: AsyncConnection, token_hash: str, now: datetime
) -> VolunteerRow | None:
    row = (
        await conn.execute(
            sa.select(*_volunteer_columns)
            .join(web_sessions, web_sessions.c.volunteer_id == volunteers.c.id)
            .where(web_sessions.c.token_hash == token_hash, web_sessions.c.expires_at > now)
        )
    ).first()
    return msgspec.convert(row, VolunteerRow, from_attributes=True) if row else None


# --- training and availability --------------------------------------------------------


async def trainings_of(
    conn: AsyncConnection, volunteer_ids: Sequence[int]
) -> dict[int, list[Training]]:
    result: dict[int, list[Training]] = {v: [] for v in volunteer_ids}
    rows = await conn.execute(
        sa.select(
            trainings.c.id,
            trainings.c.volunteer_id,
            trainings.c.course,
            trainings.c.trained_on,
            trainings.c.trainer,
        )
        .where(trainings.c.volunteer_id.in_(list(volunteer_ids)))
        .order_by(trainings.c.trained_on, trainings.c.id)
    )
    for r in rows:
        result[r.volunteer_id].append(msgspec.convert(r, Training, from_attributes=True))
    return result


async def insert_training(conn: AsyncConnection, volunteer_id: int, values: dict[str, Any]) -> int:
    result = await conn.execute(
        sa.insert(trainings).values(volunteer_id=volunteer_id, **values).returning(trainings.c.id)
    )
    return int(result.scalar_one())


async def delete_training(conn: AsyncConnection, volunteer_id: int, training_id: int) -> int:
    result = await conn.execute(
        sa.delete(trainings).where(
            trainings.c.id == training_id, trainings.c.volunteer_id == volunteer_id
        )
    )
    return int(result.rowcount)


async def windows_of(
    conn: AsyncConnection, volunteer_ids: Sequence[int]
) -> dict[int, list[Window]]:
    result: dict[int, list[Window]] = {v: [] for v in volunteer_ids}
    rows = await conn.execute(
        sa.select(availability.c.volunteer_id, availability.c.starts_at, availability.c.ends_at)
        .where(availability.c.volunteer_id.in_(list(volunteer_ids)))
        .order_by(availability.c.starts_at)
    )
    for r in rows:
        result[r.volunteer_id].append(Window(starts_at=r.starts_at, ends_at=r.ends_at))
    return result


async def replace_windows(
    conn: AsyncConnection, volunteer_id: int, windows: Iterable[Window]
) -> None:
    await conn.execute(sa.delete(availability).where(availability.c.volunteer_id == volunteer_id))
    values = [
        {"volunteer_id": volunteer_id, "starts_at": w.starts_at, "ends_at": w.ends_at}
        for w in windows
    ]
    if values:
        await conn.execute(sa.insert(availability), values)


# --- slots ----------------------------------------------------------------------------


async def festival_slots(
    conn: AsyncConnection,
    festival_id: int,
    *,
    slot_ids: Sequence[int] | None = None,
    session_id: int | None = None,
    venue_id: int | None = None,
) -> list[Slot]:
    """Slots with their session, room and assignments, in time order."""
    query = (
        sa.select(
            slots.c.id,
            slots.c.starts_at,
            slots.c.ends_at,
            slots.c.capacity,
            slots.c.place,
            slots.c.notes,
            slots.c.room_id,
            rooms.c.name.label("room_name"),
            venues.c.name.label("venue_name"),
            venues.c.id.label("venue_id"),
            sessions.c.id.label("s_id"),
            sessions.c.title.label("s_title"),
            sessions.c.starts_at.label("s_starts_at"),
            sessions.c.ends_at.label("s_ends_at"),
            sessions.c.status.label("s_status"),
        )
        .select_from(slots)
        .outerjoin(sessions, sessions.c.id == slots.c.session_id)
        .outerjoin(rooms, rooms.c.id == slots.c.room_id)
        .outerjoin(venues, venues.c.id == rooms.c.venue_id)
        .where(slots.c.festival_id == festival_id)
        .order_by(slots.c.starts_at, slots.c.id)
    )
    if slot_ids is not None:
        query = query.where(slots.c.id.in_(list(slot_ids)))
    if session_id is not None:
        query = query.where(slots.c.session_id == session_id)
    if venue_id is not None:
        query = query.where(venues.c.id == venue_id)
    rows = list(await conn.execute(query))
    if not rows:
        return []
    by_slot: dict[int, list[SlotAssignment]] = {r.id: [] for r in rows}
    assignment_rows = await conn.execute(
        sa.select(
            assignments.c.id,
            assignments.c.slot_id,
            assignments.c.volunteer_id,
            sa.func.coalesce(
                sa.func.nullif(volunteers.c.display_name, ""), volunteers.c.email
            ).label("volunteer_name"),
            assignments.c.status,
            assignments.c.source,
            assignments.c.decline_reason,
            assignments.c.checked_in_at,
        )
        .join(volunteers, volunteers.c.id == assignments.c.volunteer_id)
        .where(assignments.c.slot_id.in_(list(by_slot)))
        .order_by(assignments.c.id)
    )
    for a in assignment_rows:
        by_slot[a.slot_id].append(msgspec.convert(a, SlotAssignment, from_attributes=True))
    result = []
    for r in rows:
        session = (
            SlotSession(
                id=r.s_id,
                title=r.s_title,
                starts_at=r.s_starts_at,
                ends_at=r.s_ends_at,
                status=r.s_status,
            )
            if r.s_id is not None
            else None
        )
        label = f"{r.room_name}, {r.venue_name}" if r.room_name else ""
        result.append(
            Slot(
                id=r.id,
                starts_at=r.starts_at,
                ends_at=r.ends_at,
                capacity=r.capacity,
                place=r.place,
                notes=r.notes,
                session=session,
                room_id=r.room_id,
                room_label=label,
                venue_id=r.venue_id,
                assignments=by_slot[r.id],
            )
        )
    return result


async def insert_slot(conn: AsyncConnection, festival_id: int, values: dict[str, Any]) -> int:
    result = await conn.execute(
        sa.insert(slots).values(festival_id=festival_id, **values).returning(slots.c.id)
    )
    return int(result.scalar_one())


async def update_slot(conn: AsyncConnection, slot_id: int, values: dict[str, Any]) -> None:
    await conn.execute(sa.update(slots).where(slots.c.id == slot_id).values(**values))


async def delete_slot(conn: AsyncConnection, slot_id: int) -> None:
    await conn.execute(sa.delete(slots).where(slots.c.id == slot_id))


async def slot_exists_at(
    conn: AsyncConnection, session_id: int, starts_at: datetime, ends_at: datetime
) -> bool:
    row = await conn.execute(
        sa.select(slots.c.id).where(
            slots.c.session_id == session_id,
            slots.c.starts_at == starts_at,
            slots.c.ends_at == ends_at,
        )
    )
    return row.first() is not None


# --- assignments ----------------------------------------------------------------------


async def assignment_by_id(conn: AsyncConnection, assignment_id: int) -> Assignment | None:
    row = (
        await conn.execute(sa.select(*_assignment_columns).where(assignments.c.id == assignment_id))
    ).first()
    return msgspec.convert(row, Assignment, from_attributes=True) if row else None


_assignment_columns = (
    assignments.c.id,
    assignments.c.slot_id,
    assignments.c.volunteer_id,
    assignments.c.status,
    assignments.c.source,
    assignments.c.decline_reason,
    assignments.c.checked_in_at,
)


async def assignment_for(
    conn: AsyncConnection, slot_id: int, volunteer_id: int
) -> Assignment | None:
    row = (
        await conn.execute(
            sa.select(*_assignment_columns).where(
                assignments.c.slot_id == slot_id, assignments.c.volunteer_id == volunteer_id
            )
        )
    ).first()
    return msgspec.convert(row, Assignment, from_attributes=True) if row else None


async def insert_assignment(
    conn: AsyncConnection, slot_id: int, volunteer_id: int, status: str, source: str
) -> int:
    result = await conn.execute(
        sa.insert(assignments)
        .values(slot_id=slot_id, volunteer_id=volunteer_id, status=status, source=source)
        .returning(assignments.c.id)
    )
    return int(result.scalar_one())


async def update_assignment(
    conn: AsyncConnection, assignment_id: int, values: dict[str, Any]
) -> None:
    await conn.execute(
        sa.update(assignments).where(assignments.c.id == assignment_id).values(**values)
    )


async def delete_assignment(conn: AsyncConnection, assignment_id: int) -> None:
    await conn.execute(sa.delete(assignments).where(assignments.c.id == assignment_id))


class Commitment(msgspec.Struct):
    assignment_id: int
    volunteer_id: int
    slot_id: int
    status: str
    starts_at: datetime
    ends_at: datetime
    venue_id: int | None


async def commitments(
    conn: AsyncConnection, volunteer_ids: Sequence[int], *, live_only: bool = True
) -> dict[int, list[Commitment]]:
    """Each volunteer's assignments with their slot times and venue."""
    result: dict[int, list[Commitment]] = {v: [] for v in volunteer_ids}
    query = (
        sa.select(
            assignments.c.id.label("assignment_id"),
            assignments.c.volunteer_id,
            assignments.c.slot_id,
            assignments.c.status,
            slots.c.starts_at,
            slots.c.ends_at,
            rooms.c.venue_id,
        )
        .join(slots, slots.c.id == assignments.c.slot_id)
        .outerjoin(rooms, rooms.c.id == slots.c.room_id)
        .where(assignments.c.volunteer_id.in_(list(volunteer_ids)))
        .order_by(slots.c.starts_at)
    )
    if live_only:
        query = query.where(assignments.c.status.in_(LIVE_STATUSES))
    for r in await conn.execute(query):
        result[r.volunteer_id].append(msgspec.convert(r, Commitment, from_attributes=True))
    return result


async def live_count(conn: AsyncConnection, slot_id: int) -> int:
    result = await conn.execute(
        sa.select(sa.func.count())
        .select_from(assignments)
        .where(assignments.c.slot_id == slot_id, assignments.c.status.in_(LIVE_STATUSES))
    )
    return int(result.scalar_one())


async def preferences(conn: AsyncConnection, volunteer_ids: Sequence[int]) -> dict[int, set[int]]:
    result: dict[int, set[int]] = {v: set() for v in volunteer_ids}
    rows = await conn.execute(
        sa.select(slot_preferences.c.volunteer_id, slot_preferences.c.slot_id).where(
            slot_preferences.c.volunteer_id.in_(list(volunteer_ids))
        )
    )
    for r in rows:
        result[r.volunteer_id].add(r.slot_id)
    return result


async def replace_preferences(
    conn: AsyncConnection, volunteer_id: int, slot_ids: Iterable[int]
) -> None:
    await conn.execute(
        sa.delete(slot_preferences).where(slot_preferences.c.volunteer_id == volunteer_id)
    )
    values = [{"volunteer_id": volunteer_id, "slot_id": s} for s in sorted(set(slot_ids))]
    if values:
        await conn.execute(sa.insert(slot_preferences), values)


async def existing_slot_ids(
    conn: AsyncConnection, festival_id: int, ids: Iterable[int]
) -> set[int]:
    rows = await conn.execute(
        sa.select(slots.c.id).where(slots.c.festival_id == festival_id, slots.c.id.in_(list(ids)))
    )
    return {r.id for r in rows}


# --- proposals ------------------------------------------------------------------------


async def insert_proposal(
    conn: AsyncConnection, festival_id: int, body: str, fingerprint: str
) -> int:
    result = await conn.execute(
        sa.insert(proposals)
        .values(festival_id=festival_id, body=body, fingerprint=fingerprint)
        .returning(proposals.c.id)
    )
    return int(result.scalar_one())


async def proposal_by_id(conn: AsyncConnection, festival_id: int, proposal_id: int) -> Any:
    return (
        await conn.execute(
            sa.select(proposals.c.body, proposals.c.fingerprint, proposals.c.applied_at).where(
                proposals.c.id == proposal_id, proposals.c.festival_id == festival_id
            )
        )
    ).first()


async def mark_proposal_applied(conn: AsyncConnection, proposal_id: int, at: datetime) -> None:
    await conn.execute(
        sa.update(proposals).where(proposals.c.id == proposal_id).values(applied_at=at)
    )


async def slot_festival_and_holders(
    conn: AsyncConnection, slot_id: int
) -> tuple[int, set[int]] | None:
    """A slot's festival and the volunteers holding live places in it."""
    row = (await conn.execute(sa.select(slots.c.festival_id).where(slots.c.id == slot_id))).first()
    if row is None:
        return None
    holders = await conn.execute(
        sa.select(assignments.c.volunteer_id).where(
            assignments.c.slot_id == slot_id, assignments.c.status.in_(LIVE_STATUSES)
        )
    )
    return int(row.festival_id), {int(h.volunteer_id) for h in holders}
