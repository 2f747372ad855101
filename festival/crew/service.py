"""Rules of the crew: who may film where and when, and how places are shared fairly.

The hard rules for giving a volunteer a place in a slot, checked in the same write
transaction as the change so two staff members (or a volunteer and the solver) cannot
both take the last place:

1. the volunteer is trained and not suspended;
2. the slot lies inside a window the volunteer said they are free;
3. it does not overlap their other slots, and leaves the travel buffer when the other slot
   is at a different venue;
4. the slot has a place left.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import msgspec
from msgspec import UNSET
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.accounts import service as accounts
from festival.accounts.schemas import Identity, NewSession
from festival.accounts.service import hash_token
from festival.crew import queries
from festival.crew.queries import VolunteerRow
from festival.crew.schemas import (
    LIVE_STATUSES,
    AssignIn,
    Assignment,
    Availability,
    AvailabilityIn,
    BulkPreview,
    BulkSlotsIn,
    Counts,
    CrewRules,
    CrewRulesPatch,
    DeclineIn,
    Invitation,
    InviteIn,
    MyDay,
    MySlot,
    PreferencesIn,
    ProfileIn,
    ProposalView,
    ProposedGap,
    ProposedPlacement,
    Slot,
    SlotIn,
    SlotPatch,
    TrainingIn,
    Volunteer,
    VolunteerPatch,
    Window,
)
from festival.crew.solver_types import Candidate, Commitment, Interval, Problem, SlotNeed
from festival.db.engine import Database
from festival.errors import Conflict, FieldError, Forbidden, Invalid, NotFound, Unauthorized
from festival.formatting import clock, long_date
from festival.programme import service as programme
from festival.programme.schemas import Festival

VOLUNTEER_TOKEN_PREFIX = "fvt_"  # noqa: S105 (a label, not a secret)
INVITE_DAYS = 60
CHECK_IN_OPENS = timedelta(minutes=60)


def _now() -> datetime:
    return datetime.now(UTC)


# --- tokens ---------------------------------------------------------------------------


def feed_token(secret: str, volunteer_id: int, version: int) -> str:
    """The calendar feed token: derived, not stored, and revoked by bumping the version."""
    digest = hmac.new(
        secret.encode(), f"feed:{volunteer_id}:{version}".encode(), hashlib.sha256
    ).hexdigest()
    return f"{volunteer_id}-{digest[:40]}"


def calendar_url(base_url: str, secret: str, row: VolunteerRow) -> str:
    return f"{base_url}/volunteers/calendar/{feed_token(secret, row.id, row.feed_version)}.ics"


async def volunteer_for_feed(db: Database, secret: str, token: str) -> VolunteerRow:
    vid_text, _, _ = token.partition("-")
    missing = NotFound(
        "This calendar link is not known, or it has been replaced.",
        fix="Open your volunteer page and copy your calendar link again.",
    )
    if not vid_text.isdigit() or len(vid_text) > 15:
        raise missing
    async with db.read() as conn:
        row = await queries.volunteer_by_id(conn, int(vid_text))
    if row is None or not hmac.compare_digest(feed_token(secret, row.id, row.feed_version), token):
        raise missing
    return row


def _span(festival: Festival, starts_at: datetime, ends_at: datetime) -> str:
    return (
        f"{long_date(starts_at, festival.timezone)}, "
        f"{clock(starts_at, festival.timezone)} to {clock(ends_at, festival.timezone)}"
    )


def _slot_label(festival: Festival, slot: Slot) -> str:
    what = f" ({slot.session.title})" if slot.session else ""
    return f"slot {slot.id}{what}, {_span(festival, slot.starts_at, slot.ends_at)}"


# --- volunteers -----------------------------------------------------------------------


async def _volunteer_row(
    conn: AsyncConnection, festival: Festival, volunteer_id: int
) -> VolunteerRow:
    row = await queries.volunteer_by_id(conn, volunteer_id)
    if row is None or row.festival_id != festival.id:
        raise NotFound(
            f"Festival {festival.slug!r} has no volunteer {volunteer_id}.",
            fix=f"List the volunteers at /api/v1/festivals/{festival.slug}/volunteers.",
        )
    return row


def _counts(commitments: Sequence[queries.Commitment]) -> Counts:
    counts = Counts()
    for c in commitments:
        if c.status in LIVE_STATUSES:
            counts.slots += 1
            counts.hours += (c.ends_at - c.starts_at).total_seconds() / 3600
        elif c.status == "no_show":
            counts.no_shows += 1
        elif c.status == "declined":
            counts.declined += 1
    counts.hours = round(counts.hours, 2)
    return counts


async def _volunteers(conn: AsyncConnection, rows: Sequence[VolunteerRow]) -> list[Volunteer]:
    ids = [r.id for r in rows]
    training = await queries.trainings_of(conn, ids)
    held = await queries.commitments(conn, ids, live_only=False)
    return [
        Volunteer(
            id=r.id,
            email=r.email,
            display_name=r.display_name,
            pronouns=r.pronouns,
            phone=r.phone,
            access_needs=r.access_needs,
            suspended=r.suspended_at is not None,
            suspended_reason=r.suspended_reason,
            trained=bool(training[r.id]),
            trainings=training[r.id],
            counts=_counts(held[r.id]),
        )
        for r in rows
    ]


async def invite(db: Database, slug: str, data: InviteIn, base_url: str) -> Invitation:
    """Create the volunteer if new, and a fresh invite link that also works as a token."""
    token = VOLUNTEER_TOKEN_PREFIX + secrets.token_urlsafe(32)
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await queries.volunteer_by_email(conn, festival.id, data.email)
        if row is None:
            volunteer_id = await queries.insert_volunteer(conn, festival.id, data.email, data.name)
        else:
            volunteer_id = row.id
            if data.name and not row.display_name:
                await queries.update_volunteer(conn, row.id, {"display_name": data.name})
        _, festival_end = programme.festival_window(festival)
        expires = max(_now() + timedelta(days=INVITE_DAYS), festival_end + timedelta(days=14))
        await queries.insert_token(conn, volunteer_id, hash_token(token), expires)
        fresh = await queries.volunteer_by_id(conn, volunteer_id)
        assert fresh is not None
        volunteer = (await _volunteers(conn, [fresh]))[0]
    return Invitation(
        volunteer=volunteer,
        invite_url=f"{base_url}/volunteers/invite/{token}",
        token=token,
        expires_at=expires,
    )


async def list_volunteers(db: Database, slug: str) -> list[Volunteer]:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        return await _volunteers(conn, await queries.festival_volunteers(conn, festival.id))


async def get_volunteer(db: Database, slug: str, volunteer_id: int) -> Volunteer:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await _volunteer_row(conn, festival, volunteer_id)
        return (await _volunteers(conn, [row]))[0]


async def update_volunteer(
    db: Database, slug: str, volunteer_id: int, patch: VolunteerPatch
) -> Volunteer:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await _volunteer_row(conn, festival, volunteer_id)
        values: dict[str, object] = {}
        if patch.display_name is not UNSET:
            values["display_name"] = patch.display_name
        if patch.suspended is not UNSET:
            values["suspended_at"] = (row.suspended_at or _now()) if patch.suspended else None
            if not patch.suspended:
                values["suspended_reason"] = ""
        if patch.suspended_reason is not UNSET:
            values["suspended_reason"] = patch.suspended_reason
        if values:
            await queries.update_volunteer(conn, row.id, values)
        fresh = await _volunteer_row(conn, festival, volunteer_id)
        return (await _volunteers(conn, [fresh]))[0]


async def add_training(db: Database, slug: str, volunteer_id: int, data: TrainingIn) -> Volunteer:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await _volunteer_row(conn, festival, volunteer_id)
        if data.trained_on > _now().date() + timedelta(days=1):
            raise Invalid.field(
                "trained_on", "is in the future", fix="Record training once it has happened."
            )
        await queries.insert_training(conn, row.id, msgspec.structs.asdict(data))
        return (await _volunteers(conn, [row]))[0]


async def remove_training(db: Database, slug: str, volunteer_id: int, training_id: int) -> None:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await _volunteer_row(conn, festival, volunteer_id)
        if not await queries.delete_training(conn, row.id, training_id):
            raise NotFound(f"Volunteer {volunteer_id} has no training record {training_id}.")


async def revoke_access(db: Database, slug: str, volunteer_id: int) -> None:
    """End every invite link, token, browser session and calendar link of a volunteer."""
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await _volunteer_row(conn, festival, volunteer_id)
        await queries.revoke_tokens(conn, row.id, _now())
        await queries.bump_feed_version(conn, row.id)


def _identity(row: VolunteerRow, via: str) -> Identity:
    return Identity(
        kind="volunteer",
        id=row.id,
        email=row.email,
        name=row.display_name,
        via=via,  # type: ignore[arg-type]
        festival_id=row.festival_id,
    )


#: Invite links that do not work, per client address, before 429.
INVITE_THROTTLE = "invite-link"
INVITE_ATTEMPTS = 20
INVITE_WINDOW = 15 * 60


async def _row_for_token(conn: AsyncConnection, token: str) -> VolunteerRow:
    found = await queries.token_by_hash(conn, hash_token(token))
    if found is None or found.revoked_at is not None:
        raise Unauthorized(
            "This volunteer link is not known, or festival staff have withdrawn it.",
            fix="Ask festival staff to send you a new invite link.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )
    if found.expires_at <= _now():
        raise Unauthorized(
            "This invite link has expired.",
            fix="Ask festival staff to send you a new invite link.",
            headers={"WWW-Authenticate": 'Bearer realm="festival"'},
        )
    row = await queries.volunteer_by_id(conn, found.volunteer_id)
    assert row is not None
    return row


async def identity_from_token(db: Database, token: str) -> Identity:
    async with db.read() as conn:
        return _identity(await _row_for_token(conn, token), "token")


async def identity_from_session(db: Database, session_token: str) -> Identity | None:
    async with db.read() as conn:
        row = await queries.volunteer_by_session(conn, hash_token(session_token), _now())
    return _identity(row, "session") if row else None


async def sign_in_with_invite(
    db: Database, token: str, max_age: int, *, client: str = "unknown"
) -> NewSession:
    """A browser session from an invite link. Links are long and random; still, a device
    that keeps opening links that do not work is slowed down (429), as for consent links."""
    await accounts.throttle(
        db, INVITE_THROTTLE, client, attempts=INVITE_ATTEMPTS, window=INVITE_WINDOW
    )
    session = secrets.token_urlsafe(32)
    expires = _now() + timedelta(seconds=max_age)
    try:
        async with db.write() as conn:
            row = await _row_for_token(conn, token)
            await queries.insert_volunteer_session(conn, row.id, hash_token(session), expires)
    except Unauthorized:
        await accounts.note_failure(db, INVITE_THROTTLE, client)
        raise
    return NewSession(token=session, expires_at=expires)


def _require_volunteer(identity: Identity) -> int:
    if not identity.is_volunteer or identity.id is None:
        raise Forbidden(
            "Only a volunteer can do this, from their own invite link.",
            fix="Open the invite link festival staff sent you.",
        )
    return identity.id


async def _me(conn: AsyncConnection, identity: Identity) -> tuple[Festival, VolunteerRow]:
    volunteer_id = _require_volunteer(identity)
    row = await queries.volunteer_by_id(conn, volunteer_id)
    assert row is not None
    return await programme.festival_by_id(conn, row.festival_id), row


async def my_profile(db: Database, identity: Identity) -> Volunteer:
    async with db.read() as conn:
        _, row = await _me(conn, identity)
        return (await _volunteers(conn, [row]))[0]


async def update_profile(db: Database, identity: Identity, data: ProfileIn) -> Volunteer:
    async with db.write() as conn:
        _, row = await _me(conn, identity)
        values = {
            f: getattr(data, f) for f in data.__struct_fields__ if getattr(data, f) is not UNSET
        }
        if values:
            await queries.update_volunteer(conn, row.id, values)
        fresh = await queries.volunteer_by_id(conn, row.id)
        assert fresh is not None
        return (await _volunteers(conn, [fresh]))[0]


def merge_windows(windows: Sequence[Window]) -> list[Window]:
    """Sorted, with overlapping or touching windows joined."""
    merged: list[Window] = []
    for w in sorted(windows, key=lambda w: (w.starts_at, w.ends_at)):
        if merged and w.starts_at <= merged[-1].ends_at:
            if w.ends_at > merged[-1].ends_at:
                merged[-1] = Window(starts_at=merged[-1].starts_at, ends_at=w.ends_at)
        else:
            merged.append(w)
    return merged


def _check_windows(festival: Festival, windows: Sequence[Window]) -> list[Window]:
    start, end = programme.festival_window(festival)
    for n, w in enumerate(windows):
        if w.ends_at <= w.starts_at:
            raise Invalid.field(
                f"windows[{n}].ends_at",
                "must be after starts_at",
                fix="Give a time you stop being free that is after the time you start.",
            )
        if w.starts_at < start or w.ends_at > end:
            raise Invalid.field(
                f"windows[{n}]",
                f"falls outside the festival, {long_date(festival.starts_on)} to "
                f"{long_date(festival.ends_on)}",
                fix="Only give times during the festival.",
            )
    return merge_windows(windows)


async def set_availability(db: Database, identity: Identity, data: AvailabilityIn) -> Availability:
    async with db.write() as conn:
        festival, row = await _me(conn, identity)
        windows = _check_windows(festival, data.windows)
        await queries.replace_windows(conn, row.id, windows)
        return Availability(windows=windows)


async def set_availability_for(
    db: Database, slug: str, volunteer_id: int, data: AvailabilityIn
) -> Availability:
    """Staff entering availability on a volunteer's behalf (say, from a paper form)."""
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await _volunteer_row(conn, festival, volunteer_id)
        windows = _check_windows(festival, data.windows)
        await queries.replace_windows(conn, row.id, windows)
        return Availability(windows=windows)


async def get_availability(db: Database, identity: Identity) -> Availability:
    async with db.read() as conn:
        _, row = await _me(conn, identity)
        return Availability(windows=(await queries.windows_of(conn, [row.id]))[row.id])


async def availability_of(db: Database, slug: str, volunteer_id: int) -> Availability:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await _volunteer_row(conn, festival, volunteer_id)
        return Availability(windows=(await queries.windows_of(conn, [row.id]))[row.id])


async def set_preferences(db: Database, identity: Identity, data: PreferencesIn) -> list[int]:
    async with db.write() as conn:
        festival, row = await _me(conn, identity)
        known = await queries.existing_slot_ids(conn, festival.id, data.slot_ids)
        unknown = sorted(set(data.slot_ids) - known)
        if unknown:
            raise Invalid.field("slot_ids", f"festival has no slot {unknown[0]}")
        await queries.replace_preferences(conn, row.id, known)
        return sorted(known)


async def wish_for_slot(db: Database, identity: Identity, slot_id: int, wanted: bool) -> None:
    """Say (or take back) that this volunteer would like a slot, for staff to weigh."""
    async with db.write() as conn:
        festival, row = await _me(conn, identity)
        if not await queries.existing_slot_ids(conn, festival.id, [slot_id]):
            raise NotFound(f"There is no slot {slot_id} at this festival.")
        wished = (await queries.preferences(conn, [row.id]))[row.id]
        wished = wished | {slot_id} if wanted else wished - {slot_id}
        await queries.replace_preferences(conn, row.id, wished)


# --- rules ----------------------------------------------------------------------------


async def get_rules(db: Database, slug: str) -> CrewRules:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        return await queries.crew_rules(conn, festival.id)


async def update_rules(db: Database, slug: str, patch: CrewRulesPatch) -> CrewRules:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        rules = await queries.crew_rules(conn, festival.id)
        for field in patch.__struct_fields__:
            value = getattr(patch, field)
            if value is not UNSET:
                setattr(rules, field, value)
        await queries.save_crew_rules(conn, festival.id, rules)
        return rules


# --- slots ----------------------------------------------------------------------------


async def _slot(conn: AsyncConnection, festival: Festival, slot_id: int) -> Slot:
    found = await queries.festival_slots(conn, festival.id, slot_ids=[slot_id])
    if not found:
        raise NotFound(
            f"Festival {festival.slug!r} has no interview slot {slot_id}.",
            fix=f"List the slots at /api/v1/festivals/{festival.slug}/slots.",
        )
    return found[0]


async def _check_slot(conn: AsyncConnection, festival: Festival, data: SlotIn) -> SlotIn:
    if data.ends_at <= data.starts_at:
        raise Invalid.field("ends_at", "must be after starts_at")
    if data.ends_at - data.starts_at > timedelta(hours=12):
        raise Invalid.field("ends_at", "a slot may last at most 12 hours")
    start, end = programme.festival_window(festival)
    if data.starts_at < start or data.ends_at > end:
        raise Invalid(
            f"The slot must be during the festival, {long_date(festival.starts_on)} to "
            f"{long_date(festival.ends_on)}.",
            fix="Choose a time within the festival's dates.",
            errors=[FieldError("starts_at", "outside the festival's dates")],
        )
    room_id = data.room_id
    if data.session_id is not None:
        sessions = await programme.sessions_for(conn, festival, [data.session_id])
        if not sessions:
            raise Invalid.field("session_id", f"festival has no session {data.session_id}")
        if room_id is None:
            room_id = sessions[0].room.id
    if room_id is not None and await programme.room_for(conn, festival, room_id) is None:
        raise Invalid.field("room_id", f"festival has no room {room_id}")
    if room_id is None and not data.place:
        raise Invalid.field(
            "place",
            "is needed when the slot has no session or room",
            fix="Say where to meet, for example 'Main entrance' or 'Roaming in the foyer'.",
        )
    return msgspec.structs.replace(data, room_id=room_id)


async def list_slots(
    db: Database, slug: str, *, session_id: int | None = None, venue_id: int | None = None
) -> list[Slot]:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        return await queries.festival_slots(
            conn, festival.id, session_id=session_id, venue_id=venue_id
        )


async def get_slot(db: Database, slug: str, slot_id: int) -> Slot:
    async with db.read() as conn:
        return await _slot(conn, await programme.require_festival(conn, slug), slot_id)


async def create_slot(db: Database, slug: str, data: SlotIn) -> Slot:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        checked = await _check_slot(conn, festival, data)
        slot_id = await queries.insert_slot(conn, festival.id, msgspec.structs.asdict(checked))
        return await _slot(conn, festival, slot_id)


async def update_slot(db: Database, slug: str, slot_id: int, patch: SlotPatch) -> Slot:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        current = await _slot(conn, festival, slot_id)
        values = {
            "starts_at": current.starts_at,
            "ends_at": current.ends_at,
            "session_id": current.session.id if current.session else None,
            "room_id": current.room_id,
            "place": current.place,
            "capacity": current.capacity,
            "notes": current.notes,
        }
        values.update(
            {
                f: getattr(patch, f)
                for f in patch.__struct_fields__
                if getattr(patch, f) is not UNSET
            }
        )
        checked = await _check_slot(conn, festival, SlotIn(**values))  # type: ignore[arg-type]
        if checked.capacity < len(current.live):
            raise Conflict(
                f"{len(current.live)} volunteers already hold places in this slot.",
                fix="Unassign some first, or keep the capacity at least that high.",
                errors=[FieldError("capacity", "lower than the places already taken")],
            )
        if (checked.starts_at, checked.ends_at) != (current.starts_at, current.ends_at):
            for held in current.live:
                await _check_times_for(conn, festival, checked, held.volunteer_id, slot_id)
        await queries.update_slot(conn, slot_id, msgspec.structs.asdict(checked))
        return await _slot(conn, festival, slot_id)


async def delete_slot(db: Database, slug: str, slot_id: int) -> None:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        slot = await _slot(conn, festival, slot_id)
        if any(a.status == "checked_in" for a in slot.assignments):
            raise Conflict(
                "A volunteer has already checked in at this slot.",
                fix="Keep the slot; mark it as done instead of deleting it.",
            )
        await queries.delete_slot(conn, slot_id)


async def bulk_slots(db: Database, slug: str, data: BulkSlotsIn) -> BulkPreview:
    """Slots around every published session that may be filmed: a preview, or applied."""
    step = timedelta(minutes=data.minutes)
    gap = timedelta(minutes=data.gap_minutes)
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        start, end = programme.festival_window(festival)
        planned: list[SlotIn] = []
        skipped: list[str] = []
        for session in await programme.sessions_for(conn, festival, None):
            if session.status != "published":
                continue
            if session.do_not_film:
                skipped.append(f"{session.title}: marked do not film")
                continue
            if session.kind == "break" and not data.include_breaks:
                continue
            if data.position == "before":
                begins = session.starts_at - gap - step
            elif data.position == "during":
                begins = session.starts_at + gap
            else:
                begins = session.ends_at + gap
            ends = begins + step
            if data.position == "during" and ends > session.ends_at:
                skipped.append(f"{session.title}: too short for a slot during it")
                continue
            if begins < start or ends > end:
                skipped.append(f"{session.title}: the slot would fall outside the festival")
                continue
            if await queries.slot_exists_at(conn, session.id, begins, ends):
                skipped.append(f"{session.title}: already has this slot")
                continue
            planned.append(
                SlotIn(
                    starts_at=begins,
                    ends_at=ends,
                    session_id=session.id,
                    room_id=session.room.id,
                    capacity=data.capacity,
                )
            )
        created = 0
        if data.apply:
            for slot in planned:
                await queries.insert_slot(conn, festival.id, msgspec.structs.asdict(slot))
                created += 1
        return BulkPreview(slots=planned, skipped=skipped, applied=data.apply, created=created)


# --- assignment rules -----------------------------------------------------------------


def clashes(
    a_start: datetime,
    a_end: datetime,
    a_venue: int | None,
    b_start: datetime,
    b_end: datetime,
    b_venue: int | None,
    buffer: timedelta,
) -> bool:
    """Overlap, or too little time to travel between two different venues."""
    if a_start < b_end and b_start < a_end:
        return True
    if a_venue is None or b_venue is None or a_venue == b_venue:
        return False
    gap = b_start - a_end if b_start >= a_end else a_start - b_end
    return gap < buffer


async def _check_times_for(
    conn: AsyncConnection,
    festival: Festival,
    slot: SlotIn | Slot,
    volunteer_id: int,
    slot_id: int,
) -> None:
    rules = await queries.crew_rules(conn, festival.id)
    row = await queries.volunteer_by_id(conn, volunteer_id)
    assert row is not None
    name = row.display_name or row.email
    windows = merge_windows((await queries.windows_of(conn, [volunteer_id]))[volunteer_id])
    if not any(w.starts_at <= slot.starts_at and slot.ends_at <= w.ends_at for w in windows):
        raise Invalid(
            f"{name} has not said they are free for all of "
            f"{_span(festival, slot.starts_at, slot.ends_at)}.",
            fix="Choose someone who is free then, or ask them to add the time to their "
            "availability.",
            errors=[FieldError("volunteer_id", "not available at this time")],
            conflicts_with={"rule": "available", "volunteer_id": volunteer_id},
        )
    venue = await _venue_of(conn, festival, slot)
    buffer = timedelta(minutes=rules.travel_buffer_minutes)
    for held in (await queries.commitments(conn, [volunteer_id]))[volunteer_id]:
        if held.slot_id == slot_id:
            continue
        if clashes(
            slot.starts_at, slot.ends_at, venue, held.starts_at, held.ends_at, held.venue_id, buffer
        ):
            overlap = slot.starts_at < held.ends_at and held.starts_at < slot.ends_at
            why = (
                "at the same time"
                if overlap
                else (
                    f"too close to allow {rules.travel_buffer_minutes} minutes' travel "
                    "between venues"
                )
            )
            raise Conflict(
                f"{name} already has slot {held.slot_id} "
                f"({_span(festival, held.starts_at, held.ends_at)}), {why}.",
                fix="Choose another volunteer, or move them out of the other slot first.",
                errors=[FieldError("volunteer_id", "already busy then")],
                conflicts_with={
                    "rule": "no-overlap",
                    "volunteer_id": volunteer_id,
                    "slot_id": held.slot_id,
                },
            )


async def _venue_of(conn: AsyncConnection, festival: Festival, slot: SlotIn | Slot) -> int | None:
    if isinstance(slot, Slot):
        return slot.venue_id
    if slot.room_id is None:
        return None
    room = await programme.room_for(conn, festival, slot.room_id)
    return room.venue_id if room else None


async def _check_assignable(
    conn: AsyncConnection, festival: Festival, slot: Slot, row: VolunteerRow
) -> None:
    name = row.display_name or row.email
    if row.suspended_at is not None:
        raise Invalid(
            f"{name} is suspended and cannot take slots.",
            fix="Lift the suspension first if they should film again.",
            errors=[FieldError("volunteer_id", "suspended")],
            conflicts_with={"rule": "not-suspended", "volunteer_id": row.id},
        )
    if not (await queries.trainings_of(conn, [row.id]))[row.id]:
        raise Invalid(
            f"{name} has no training recorded in smartphone interviewing and consent.",
            fix="Record their training first, then assign them.",
            errors=[FieldError("volunteer_id", "not trained")],
            conflicts_with={"rule": "trained", "volunteer_id": row.id},
        )
    existing = await queries.assignment_for(conn, slot.id, row.id)
    if existing is not None and existing.status in LIVE_STATUSES:
        raise Conflict(
            f"{name} already holds a place in {_slot_label(festival, slot)}.",
            fix="Nothing to do: they are already assigned.",
            conflicts_with={"rule": "once", "volunteer_id": row.id, "slot_id": slot.id},
        )
    if await queries.live_count(conn, slot.id) >= slot.capacity:
        raise Conflict(
            f"{_slot_label(festival, slot).capitalize()} already has all "
            f"{slot.capacity} place(s) filled.",
            fix="Raise the slot's capacity, or unassign someone first.",
            conflicts_with={"rule": "capacity", "slot_id": slot.id},
        )
    await _check_times_for(conn, festival, slot, row.id, slot.id)


async def _place(
    conn: AsyncConnection,
    festival: Festival,
    slot: Slot,
    row: VolunteerRow,
    status: str,
    source: str,
) -> None:
    await _check_assignable(conn, festival, slot, row)
    existing = await queries.assignment_for(conn, slot.id, row.id)
    if existing is None:
        await queries.insert_assignment(conn, slot.id, row.id, status, source)
    else:  # a declined or no-show place given again
        await queries.update_assignment(
            conn,
            existing.id,
            {"status": status, "source": source, "decline_reason": "", "checked_in_at": None},
        )


async def assign(db: Database, slug: str, slot_id: int, data: AssignIn) -> Slot:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        slot = await _slot(conn, festival, slot_id)
        row = await _volunteer_row(conn, festival, data.volunteer_id)
        await _place(conn, festival, slot, row, "assigned", "staff")
        return await _slot(conn, festival, slot_id)


async def _held(conn: AsyncConnection, slot: Slot, volunteer_id: int) -> Assignment:
    found = await queries.assignment_for(conn, slot.id, volunteer_id)
    if found is None:
        raise NotFound(f"Volunteer {volunteer_id} has no place in slot {slot.id}.")
    return found


async def unassign(db: Database, slug: str, slot_id: int, volunteer_id: int) -> Slot:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        slot = await _slot(conn, festival, slot_id)
        held = await _held(conn, slot, volunteer_id)
        if held.status == "checked_in":
            raise Conflict(
                "This volunteer has checked in, so the record stays.",
                fix="Leave it; their hours count.",
            )
        await queries.delete_assignment(conn, held.id)
        return await _slot(conn, festival, slot_id)


async def mark_no_show(db: Database, slug: str, slot_id: int, volunteer_id: int) -> Slot:
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        slot = await _slot(conn, festival, slot_id)
        held = await _held(conn, slot, volunteer_id)
        if held.status not in ("assigned", "accepted"):
            raise Conflict(
                f"Only an assigned or accepted place can be marked as no-show, not "
                f"{held.status.replace('_', ' ')}.",
                fix="Check the slot's list of volunteers.",
            )
        if _now() < slot.starts_at:
            raise Conflict(
                "The slot has not started yet.",
                fix="Mark a no-show once the slot has begun.",
            )
        await queries.update_assignment(conn, held.id, {"status": "no_show"})
        return await _slot(conn, festival, slot_id)


# --- a volunteer acting on their own places --------------------------------------------


async def _own(
    conn: AsyncConnection, identity: Identity, assignment_id: int
) -> tuple[Festival, Slot, Assignment]:
    volunteer_id = _require_volunteer(identity)
    held = await queries.assignment_by_id(conn, assignment_id)
    if held is None:
        raise NotFound(f"There is no assignment {assignment_id}.")
    if held.volunteer_id != volunteer_id:
        raise Forbidden(
            "This is another volunteer's slot.",
            fix="You can only answer for your own slots.",
        )
    festival, _ = await _me(conn, identity)
    return festival, await _slot(conn, festival, held.slot_id), held


async def accept(db: Database, identity: Identity, assignment_id: int) -> Assignment:
    async with db.write() as conn:
        _, _, held = await _own(conn, identity, assignment_id)
        if held.status != "assigned":
            raise Conflict(
                f"This slot is {held.status.replace('_', ' ')}, so it cannot be accepted now.",
                fix="Ask festival staff if you want it back.",
            )
        await queries.update_assignment(conn, held.id, {"status": "accepted"})
        fresh = await queries.assignment_by_id(conn, held.id)
        assert fresh is not None
        return fresh


async def decline(
    db: Database, identity: Identity, assignment_id: int, data: DeclineIn
) -> Assignment:
    async with db.write() as conn:
        _, slot, held = await _own(conn, identity, assignment_id)
        if held.status not in ("assigned", "accepted"):
            raise Conflict(
                f"This slot is {held.status.replace('_', ' ')}, so it cannot be declined.",
                fix="Ask festival staff for help.",
            )
        if _now() >= slot.starts_at:
            raise Conflict("This slot has already started.", fix="Tell festival staff in person.")
        await queries.update_assignment(
            conn, held.id, {"status": "declined", "decline_reason": data.reason.strip()}
        )
        fresh = await queries.assignment_by_id(conn, held.id)
        assert fresh is not None
        return fresh


async def check_in(db: Database, identity: Identity, assignment_id: int) -> Assignment:
    async with db.write() as conn:
        festival, slot, held = await _own(conn, identity, assignment_id)
        if held.status not in ("assigned", "accepted"):
            raise Conflict(
                f"This slot is {held.status.replace('_', ' ')}, so you cannot check in.",
                fix="Ask festival staff for help.",
            )
        now = _now()
        if now < slot.starts_at - CHECK_IN_OPENS:
            raise Conflict(
                f"Check-in opens an hour before the slot, at "
                f"{clock(slot.starts_at - CHECK_IN_OPENS, festival.timezone)}.",
                fix="Come back nearer the time.",
            )
        if now > slot.ends_at:
            raise Conflict("This slot has ended.", fix="Tell festival staff you were there.")
        await queries.update_assignment(
            conn, held.id, {"status": "checked_in", "checked_in_at": now}
        )
        fresh = await queries.assignment_by_id(conn, held.id)
        assert fresh is not None
        return fresh


async def sign_up(db: Database, identity: Identity, slot_id: int) -> Assignment:
    async with db.write() as conn:
        festival, row = await _me(conn, identity)
        rules = await queries.crew_rules(conn, festival.id)
        if not rules.self_signup:
            raise Forbidden(
                "This festival's staff give out slots; volunteers cannot sign up themselves.",
                fix="Tell festival staff which slots you would like.",
            )
        slot = await _slot(conn, festival, slot_id)
        if _now() >= slot.starts_at:
            raise Conflict("This slot has already started.", fix="Choose a later slot.")
        await _place(conn, festival, slot, row, "accepted", "self")
        held = await queries.assignment_for(conn, slot.id, row.id)
        assert held is not None
        return held


def _leave_deadline(slot: Slot, rules: CrewRules) -> datetime:
    return slot.starts_at - timedelta(minutes=rules.leave_cutoff_minutes)


async def leave(db: Database, identity: Identity, slot_id: int) -> None:
    async with db.write() as conn:
        festival, row = await _me(conn, identity)
        rules = await queries.crew_rules(conn, festival.id)
        slot = await _slot(conn, festival, slot_id)
        held = await _held(conn, slot, row.id)
        if held.status not in ("assigned", "accepted"):
            raise Conflict(f"This slot is {held.status.replace('_', ' ')}; nothing to leave.")
        if not rules.self_signup:
            raise Forbidden(
                "At this festival, staff give out slots.",
                fix="Decline the slot with a reason instead.",
            )
        if _now() > _leave_deadline(slot, rules):
            raise Conflict(
                f"It is too late to leave this slot: the cut-off was "
                f"{rules.leave_cutoff_minutes} minutes before it starts.",
                fix="Tell festival staff as soon as you can.",
            )
        await queries.delete_assignment(conn, held.id)


async def my_day(db: Database, identity: Identity, base_url: str, secret: str) -> MyDay:
    """Everything a volunteer's phone shows: the next slot first, then the rest."""
    now = _now()
    async with db.read() as conn:
        festival, row = await _me(conn, identity)
        rules = await queries.crew_rules(conn, festival.id)
        volunteer = (await _volunteers(conn, [row]))[0]
        every = await queries.festival_slots(conn, festival.id)
        wished = (await queries.preferences(conn, [row.id]))[row.id]
    mine: list[MySlot] = []
    open_slots: list[Slot] = []
    wishable: list[Slot] = []
    for slot in every:
        held = next((a for a in slot.assignments if a.volunteer_id == row.id), None)
        if held is None:
            if slot.open_places and slot.starts_at > now:
                (open_slots if rules.self_signup else wishable).append(slot)
            continue
        live = held.status in ("assigned", "accepted")
        mine.append(
            MySlot(
                assignment=Assignment(
                    id=held.id,
                    slot_id=slot.id,
                    volunteer_id=row.id,
                    status=held.status,
                    source=held.source,
                    decline_reason=held.decline_reason,
                    checked_in_at=held.checked_in_at,
                ),
                slot=slot,
                can_leave=live and rules.self_signup and now <= _leave_deadline(slot, rules),
                can_check_in=live and slot.starts_at - CHECK_IN_OPENS <= now <= slot.ends_at,
            )
        )
    upcoming = [
        m
        for m in mine
        if m.slot.ends_at >= now and m.assignment.status in ("assigned", "accepted", "checked_in")
    ]
    return MyDay(
        volunteer=volunteer,
        festival_slug=festival.slug,
        festival_name=festival.name,
        timezone=festival.timezone,
        next_slot=upcoming[0] if upcoming else None,
        slots=mine,
        open_slots=open_slots,
        self_signup=rules.self_signup,
        calendar_url=calendar_url(base_url, secret, row),
        wishable_slots=wishable,
        wished_slot_ids=sorted(wished),
    )


async def new_calendar_link(db: Database, identity: Identity, base_url: str, secret: str) -> str:
    async with db.write() as conn:
        _, row = await _me(conn, identity)
        await queries.bump_feed_version(conn, row.id)
        fresh = await queries.volunteer_by_id(conn, row.id)
        assert fresh is not None
        return calendar_url(base_url, secret, fresh)


async def calendar_slots(
    db: Database, secret: str, token: str
) -> tuple[Festival, VolunteerRow, list[Slot]]:
    row = await volunteer_for_feed(db, secret, token)
    async with db.read() as conn:
        festival = await programme.festival_by_id(conn, row.festival_id)
        every = await queries.festival_slots(conn, festival.id)
    mine = [
        s
        for s in every
        if any(a.volunteer_id == row.id and a.status in LIVE_STATUSES for a in s.assignments)
    ]
    return festival, row, mine


# --- automatic assignment --------------------------------------------------------------


async def _problem(
    conn: AsyncConnection, festival: Festival
) -> tuple[Problem, list[Slot], dict[int, str]]:
    rules = await queries.crew_rules(conn, festival.id)
    every = await queries.festival_slots(conn, festival.id)
    now = _now()
    needs = [
        SlotNeed(
            id=s.id,
            starts_at=s.starts_at,
            ends_at=s.ends_at,
            open_places=s.open_places,
            venue_id=s.venue_id,
        )
        for s in every
        if s.open_places > 0 and s.starts_at > now
    ]
    rows = await queries.festival_volunteers(conn, festival.id)
    ids = [r.id for r in rows]
    training = await queries.trainings_of(conn, ids)
    windows = await queries.windows_of(conn, ids)
    held = await queries.commitments(conn, ids, live_only=False)
    liked = await queries.preferences(conn, ids)
    candidates = []
    names = {}
    for r in rows:
        names[r.id] = r.display_name or r.email
        if r.suspended_at is not None or not training[r.id]:
            continue
        live = [c for c in held[r.id] if c.status in LIVE_STATUSES]
        candidates.append(
            Candidate(
                id=r.id,
                available=[Interval(w.starts_at, w.ends_at) for w in merge_windows(windows[r.id])],
                commitments=[
                    Commitment(c.slot_id, c.starts_at, c.ends_at, c.venue_id) for c in live
                ],
                preferred_slot_ids=frozenset(liked[r.id]),
                excluded_slot_ids=frozenset(
                    c.slot_id for c in held[r.id] if c.status in ("declined", "no_show")
                ),
            )
        )
    problem = Problem(
        slots=needs, candidates=candidates, travel_buffer_minutes=rules.travel_buffer_minutes
    )
    return problem, every, names


def _fingerprint(problem: Problem) -> str:
    return hashlib.sha256(msgspec.json.encode(problem)).hexdigest()


async def propose(db: Database, slug: str) -> ProposalView:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        problem, every, names = await _problem(conn, festival)
    # Imported here: OR-Tools is heavy, and only this staff action needs it.
    from festival.crew import solver

    result = await asyncio.to_thread(solver.propose, problem)
    by_id = {s.id: s for s in every}
    view = ProposalView(
        id=0,
        placements=[
            ProposedPlacement(
                slot_id=p.slot_id,
                volunteer_id=p.volunteer_id,
                volunteer_name=names[p.volunteer_id],
                slot_label=_slot_label(festival, by_id[p.slot_id]),
                starts_at=by_id[p.slot_id].starts_at,
                ends_at=by_id[p.slot_id].ends_at,
            )
            for p in result.placements
        ],
        unfilled=[
            ProposedGap(
                slot_id=u.slot_id,
                slot_label=_slot_label(festival, by_id[u.slot_id]),
                starts_at=by_id[u.slot_id].starts_at,
                ends_at=by_id[u.slot_id].ends_at,
                places=u.places,
                reason=u.reason,
            )
            for u in result.unfilled
        ],
        covered=result.covered,
        wanted=result.wanted,
        hours_by_volunteer={names[v]: h for v, h in sorted(result.hours_by_volunteer.items())},
        solver_status=result.solver_status,
    )
    async with db.write() as conn:
        view.id = await queries.insert_proposal(
            conn, festival.id, msgspec.json.encode(view).decode(), _fingerprint(problem)
        )
    return view


async def get_proposal(db: Database, slug: str, proposal_id: int) -> ProposalView:
    async with db.read() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await queries.proposal_by_id(conn, festival.id, proposal_id)
    if row is None:
        raise NotFound(f"There is no proposal {proposal_id} for this festival.")
    view = msgspec.json.decode(row.body, type=ProposalView)
    view.id = proposal_id
    view.applied = row.applied_at is not None
    return view


async def apply_proposal(db: Database, slug: str, proposal_id: int) -> ProposalView:
    """Make the proposed assignments, if nothing has changed since it was proposed."""
    async with db.write() as conn:
        festival = await programme.require_festival(conn, slug)
        row = await queries.proposal_by_id(conn, festival.id, proposal_id)
        if row is None:
            raise NotFound(f"There is no proposal {proposal_id} for this festival.")
        if row.applied_at is not None:
            raise Conflict("This proposal has already been applied.", fix="Make a new proposal.")
        problem, _, _ = await _problem(conn, festival)
        if _fingerprint(problem) != row.fingerprint:
            raise Conflict(
                "Slots, volunteers or assignments have changed since this proposal was made.",
                fix="Make a new proposal and check it again.",
            )
        view = msgspec.json.decode(row.body, type=ProposalView)
        view.id = proposal_id
        for placement in view.placements:
            slot = await _slot(conn, festival, placement.slot_id)
            volunteer = await _volunteer_row(conn, festival, placement.volunteer_id)
            await _place(conn, festival, slot, volunteer, "assigned", "auto")
        await queries.mark_proposal_applied(conn, proposal_id, _now())
        view.applied = True
        return view


# --- for other areas ----------------------------------------------------------------------


async def slot_festival_and_holders(
    conn: AsyncConnection, slot_id: int
) -> tuple[int, set[int]] | None:
    """A slot's festival id and who holds places in it (clips link to slots)."""
    return await queries.slot_festival_and_holders(conn, slot_id)


async def volunteer_festival(conn: AsyncConnection, volunteer_id: int) -> int | None:
    row = await queries.volunteer_by_id(conn, volunteer_id)
    return row.festival_id if row else None


async def volunteer_name(conn: AsyncConnection, volunteer_id: int) -> str:
    """How a volunteer is credited as the co-producer who filmed a clip."""
    row = await queries.volunteer_by_id(conn, volunteer_id)
    if row is None:
        return "A festival volunteer"
    return row.display_name or "A festival volunteer"
