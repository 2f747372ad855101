"""What the automatic assignment solver reads and returns.

Plain Structs with no database or web types, so the solver can be tested and measured on
its own (``benchmarks/assignment.py``) and the service can feed it from any engine.
Times are aware UTC datetimes.
"""

from __future__ import annotations

from datetime import datetime

import msgspec


class SlotNeed(msgspec.Struct, frozen=True):
    """A slot with places still to fill."""

    id: int
    starts_at: datetime
    ends_at: datetime
    open_places: int
    venue_id: int | None = None  # None: a roaming slot with no fixed venue


class Commitment(msgspec.Struct, frozen=True):
    """A slot a volunteer already holds (assigned, accepted or checked in)."""

    slot_id: int
    starts_at: datetime
    ends_at: datetime
    venue_id: int | None = None


class Interval(msgspec.Struct, frozen=True):
    starts_at: datetime
    ends_at: datetime


class Candidate(msgspec.Struct, frozen=True):
    """A volunteer who may be given places: trained and not suspended (the caller checks)."""

    id: int
    available: list[Interval]
    commitments: list[Commitment] = []
    preferred_slot_ids: frozenset[int] = frozenset()
    excluded_slot_ids: frozenset[int] = frozenset()  # e.g. declined before


class Problem(msgspec.Struct, frozen=True):
    slots: list[SlotNeed]
    candidates: list[Candidate]
    travel_buffer_minutes: int = 15


class Placement(msgspec.Struct, frozen=True):
    slot_id: int
    volunteer_id: int


class Unfilled(msgspec.Struct, frozen=True):
    slot_id: int
    places: int
    reason: str  # plain words for staff, e.g. "Nobody trained is free from 10:00 to 10:15."


class Proposal(msgspec.Struct, frozen=True):
    placements: list[Placement]
    unfilled: list[Unfilled]
    covered: int
    wanted: int
    hours_by_volunteer: dict[int, float]
    solver_status: str
