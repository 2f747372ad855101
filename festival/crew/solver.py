"""Propose volunteer placements for interview slots with OR-Tools CP-SAT.

``propose`` is pure and synchronous; the service runs it in a worker thread.

The model
---------
One Boolean ``x[v, s]`` exists only for an *eligible* pair: the slot lies wholly inside one
of the volunteer's (merged) availability windows, the volunteer has not been excluded from
it, does not already hold it, and holds no commitment that clashes with it.

Two intervals *clash* when they overlap, or when both have a venue, the venues differ and the
gap between them is shorter than the travel buffer. Back-to-back at the same venue, or next to
a roaming slot (venue ``None``), is fine.

Hard constraints:

* capacity: ``sum_v x[v, s] <= open_places(s)``;
* no clash: for each volunteer, ``AddAtMostOne`` over cliques of mutually clashing slots.
  Overlap cliques are the maximal cliques of the interval graph (one sweep). Travel clashes
  (different venues, short gap) are covered by "two-point" cliques: for a time ``t`` and a
  venue ``V``, the slots at ``V`` that contain a point ``p`` in ``[t - buffer, t]`` together
  with the slots at any other venue that contain ``t`` all clash pairwise.

Lexicographic objective, as three solves of the same model; after each stage its value is
fixed as a constraint and its solution is given to the next stage as a hint:

1. maximise covered places;
2. minimise ``sum_v load_v ** 2`` over all candidates, where ``load`` counts existing
   commitments too. For a fixed total this is the variance, so hours come out as even as the
   rules allow; it also keeps anyone with many commitments from getting more. The square is
   encoded as a convex piecewise-linear cost over segments of the new load (exact when the
   loads fit in ``_MAX_SEGMENTS`` steps of the common duration unit, as with a 15-minute
   grid), so the LP relaxation is exact for this part;
3. maximise placements on preferred slots.

Determinism: inputs are sorted by id before the model is built, CP-SAT runs on one worker
with a fixed seed, and each stage is limited by *deterministic* time (a count of work, not
seconds). The wall clock is only a backstop: if it fires first, the result may differ from
run to run, and the status says the time limit was reached either way.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from ortools.sat.python import cp_model

from festival.crew.solver_types import (
    Candidate,
    Placement,
    Problem,
    Proposal,
    SlotNeed,
    Unfilled,
)

__all__ = [
    "INVALID_SLOT",
    "NOBODY_AVAILABLE",
    "NOT_ENOUGH_VOLUNTEERS",
    "STOPPED_EARLY",
    "propose",
]

NOBODY_AVAILABLE = "No trained volunteer is available at this time."
NOT_ENOUGH_VOLUNTEERS = "Not enough trained volunteers are available at this time."
INVALID_SLOT = "The slot does not end after it starts, so nobody can be placed in it."
STOPPED_EARLY = (
    "The solver reached its time limit before filling this place; "
    "someone may still be free, so try again with more time."
)
# Causes for volunteers who are available but cannot be placed, joined into one sentence.
_CAUSE_BUSY = "is already busy in another slot"
_CAUSE_HELD = "already holds a slot at the same time"
_CAUSE_TRAVEL = "needs travel time from another venue"
_CAUSE_DECLINED = "has declined this slot"

OPTIMAL = "optimal"
FEASIBLE_COVERAGE_PROVEN = "feasible (time limit; coverage proven maximal)"
FEASIBLE = "feasible (time limit)"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MICROS_PER_HOUR = 3_600_000_000
_SEED = 20_250_601
_MAX_SEGMENTS = 64
# Share of the time limit for coverage, fairness and preferences.
_STAGE_SHARES = (0.4, 0.4, 0.2)


def _micros(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND


def _clash(
    start_a: int,
    end_a: int,
    venue_a: int | None,
    start_b: int,
    end_b: int,
    venue_b: int | None,
    buffer: int,
) -> bool:
    gap = buffer if venue_a is not None and venue_b is not None and venue_a != venue_b else 0
    return start_a < end_b + gap and start_b < end_a + gap


@dataclass(frozen=True, slots=True)
class _Slot:
    id: int
    start: int
    end: int
    venue: int | None
    places: int

    @property
    def duration(self) -> int:
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class _Volunteer:
    id: int
    windows: list[tuple[int, int]]  # merged, sorted, disjoint
    window_starts: list[int]
    commitments: list[tuple[int, int, int | None]]  # valid ones, sorted
    held_slot_ids: frozenset[int]
    excluded: frozenset[int]
    preferred: frozenset[int]
    base: int  # microseconds already committed

    def covers(self, start: int, end: int) -> bool:
        i = bisect.bisect_right(self.window_starts, start) - 1
        return i >= 0 and self.windows[i][1] >= end

    def commitment_block(self, slot: _Slot, buffer: int) -> str | None:
        """``"held"`` when a commitment overlaps the slot (or is the slot), ``"travel"``
        when one is only too close at another venue, else ``None``."""
        if slot.id in self.held_slot_ids:
            return "held"
        found = None
        for c_start, c_end, c_venue in self.commitments:
            if c_start < slot.end and slot.start < c_end:
                return "held"
            if found is None and _clash(
                c_start, c_end, c_venue, slot.start, slot.end, slot.venue, buffer
            ):
                found = "travel"
        return found


def _merge(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Sort and merge overlapping or touching intervals, dropping empty ones."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(i for i in intervals if i[1] > i[0]):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _volunteer(candidate: Candidate) -> _Volunteer:
    windows = _merge((_micros(i.starts_at), _micros(i.ends_at)) for i in candidate.available)
    by_slot: dict[int, tuple[int, int, int | None]] = {}
    for c in candidate.commitments:
        start, end = _micros(c.starts_at), _micros(c.ends_at)
        if end > start:
            by_slot.setdefault(c.slot_id, (start, end, c.venue_id))
    commitments = sorted(by_slot.values(), key=lambda c: (c[0], c[1], -1 if c[2] is None else c[2]))
    return _Volunteer(
        id=candidate.id,
        windows=windows,
        window_starts=[w[0] for w in windows],
        commitments=commitments,
        held_slot_ids=frozenset(c.slot_id for c in candidate.commitments),
        excluded=frozenset(candidate.excluded_slot_ids),
        preferred=frozenset(candidate.preferred_slot_ids),
        base=sum(c[1] - c[0] for c in commitments),
    )


def _slot(need: SlotNeed) -> _Slot:
    return _Slot(
        id=need.id,
        start=_micros(need.starts_at),
        end=_micros(need.ends_at),
        venue=need.venue_id,
        places=max(0, need.open_places),
    )


def _unique_ids(ids: Sequence[int], what: str) -> None:
    if len(set(ids)) != len(ids):
        raise ValueError(f"{what} ids must be unique")


def _clash_cliques(slots: Sequence[_Slot], buffer: int) -> list[list[int]]:
    """Cliques (positions into ``slots``, sorted by start) covering every clashing pair."""
    cliques: list[list[int]] = []
    # Overlaps: maximal cliques of the interval graph, emitted when an end follows a start.
    events = sorted(
        [(s.end, 0, k) for k, s in enumerate(slots)]
        + [(s.start, 1, k) for k, s in enumerate(slots)]
    )
    active: dict[int, None] = {}
    grew = False
    for _, is_start, k in events:
        if is_start:
            active[k] = None
            grew = True
        else:
            if grew and len(active) > 1:
                cliques.append(sorted(active))
            grew = False
            del active[k]
    if buffer <= 0:
        return cliques
    # Travel: slots at venue V containing a point p in [t - buffer, t], plus slots at other
    # venues containing t, clash pairwise. Take t = each start, p = each recent end minus 1.
    placed = [k for k, s in enumerate(slots) if s.venue is not None]
    if len({slots[k].venue for k in placed}) < 2:
        return cliques
    by_end = sorted(placed, key=lambda k: (slots[k].end, k))
    seen: set[tuple[int, ...]] = set()
    containing: dict[int, None] = {}
    recent: deque[int] = deque()
    next_start = next_end = 0
    for t in sorted({slots[k].start for k in placed}):
        while next_start < len(placed) and slots[placed[next_start]].start <= t:
            containing[placed[next_start]] = None
            next_start += 1
        while next_end < len(by_end) and slots[by_end[next_end]].end <= t:
            k = by_end[next_end]
            del containing[k]
            recent.append(k)
            next_end += 1
        while recent and slots[recent[0]].end <= t - buffer:
            recent.popleft()
        if not recent:
            continue
        done: set[tuple[int | None, int]] = set()
        for k in recent:
            venue, end = slots[k].venue, slots[k].end
            if (venue, end) in done:
                continue
            done.add((venue, end))
            others = [j for j in containing if slots[j].venue != venue]
            if not others:
                continue
            here = [
                j
                for j in (*recent, *containing)
                if slots[j].venue == venue and slots[j].start < end <= slots[j].end
            ]
            clique = tuple(sorted(others + here))
            if clique not in seen:
                seen.add(clique)
                cliques.append(list(clique))
    return cliques


class _Stages:
    """Runs the lexicographic solves on one model, sharing the time budget."""

    def __init__(self, model: cp_model.CpModel, variables: list[cp_model.IntVar], limit: float):
        self.model = model
        self.variables = variables
        self.indices = [v.index for v in variables]
        self.limit = max(limit, 0.01)
        self.deadline = time.monotonic() + self.limit
        self.deterministic_used = 0.0
        self.share_used = 0.0
        self.proven: list[bool] = []

    def hint(self, values: Sequence[int]) -> None:
        hint = self.model.proto.solution_hint
        self.model.clear_hints()
        hint.vars.extend(self.indices)
        hint.values.extend(values)

    def solve(self, share: float) -> list[int] | None:
        """Solve with the current objective; the values of all variables, or ``None``."""
        self.share_used += share
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.random_seed = _SEED
        params.max_deterministic_time = max(
            0.001, self.limit * self.share_used - self.deterministic_used
        )
        # Backstop: the rest of the wall-clock budget, split over the remaining stages.
        remaining_share = max(share, 1.0 - self.share_used + share)
        params.max_time_in_seconds = max(
            0.001, (self.deadline - time.monotonic()) * share / remaining_share
        )
        status = solver.solve(self.model)
        self.deterministic_used += solver.deterministic_time
        if status == cp_model.MODEL_INVALID:  # pragma: no cover - a bug in this module
            raise RuntimeError(self.model.validate())
        self.proven.append(status == cp_model.OPTIMAL)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        solution = solver.response_proto.solution
        return [int(solution[i]) for i in self.indices]


def propose(problem: Problem, *, time_limit: float = 10.0) -> Proposal:
    """Propose placements: most places covered, then hours as even as possible, then as many
    preferred slots as possible. ``time_limit`` (seconds) bounds the three solves together."""
    _unique_ids([s.id for s in problem.slots], "slot")
    _unique_ids([c.id for c in problem.candidates], "candidate")
    buffer = max(0, problem.travel_buffer_minutes) * 60_000_000
    slots = sorted((_slot(s) for s in problem.slots), key=lambda s: s.id)
    volunteers = [_volunteer(c) for c in sorted(problem.candidates, key=lambda c: c.id)]

    # Eligible pairs, found per volunteer by scanning the slots that start in each window.
    open_slots = sorted(
        (s for s in slots if s.places > 0 and s.end > s.start),
        key=lambda s: (s.start, s.end, s.id),
    )
    open_starts = [s.start for s in open_slots]
    eligible: list[list[_Slot]] = []
    for vol in volunteers:
        mine: list[_Slot] = []
        for w_start, w_end in vol.windows:
            i = bisect.bisect_left(open_starts, w_start)
            while i < len(open_slots) and open_starts[i] < w_end:
                slot = open_slots[i]
                i += 1
                if (
                    slot.end <= w_end
                    and slot.id not in vol.excluded
                    and vol.commitment_block(slot, buffer) is None
                ):
                    mine.append(slot)
        eligible.append(mine)

    chosen, status = _optimise(volunteers, eligible, buffer, time_limit)

    placed_by_volunteer: dict[int, list[_Slot]] = {v.id: [] for v in volunteers}
    placed_in_slot: dict[int, set[int]] = {}
    placements: list[Placement] = []
    for vol, slot in chosen:
        placed_by_volunteer[vol.id].append(slot)
        placed_in_slot.setdefault(slot.id, set()).add(vol.id)
        placements.append(Placement(slot_id=slot.id, volunteer_id=vol.id))
    placements.sort(key=lambda p: (p.slot_id, p.volunteer_id))

    unfilled: list[Unfilled] = []
    for slot in slots:
        left = slot.places - len(placed_in_slot.get(slot.id, ()))
        if left > 0:
            reason = _reason(slot, volunteers, placed_by_volunteer, placed_in_slot, buffer)
            unfilled.append(Unfilled(slot_id=slot.id, places=left, reason=reason))

    hours = {
        v.id: round(
            (v.base + sum(s.duration for s in placed_by_volunteer[v.id])) / _MICROS_PER_HOUR, 2
        )
        for v in volunteers
    }
    return Proposal(
        placements=placements,
        unfilled=unfilled,
        covered=len(placements),
        wanted=sum(s.places for s in slots),
        hours_by_volunteer=hours,
        solver_status=status,
    )


def _optimise(
    volunteers: Sequence[_Volunteer],
    eligible: Sequence[Sequence[_Slot]],
    buffer: int,
    time_limit: float,
) -> tuple[list[tuple[_Volunteer, _Slot]], str]:
    """Build the CP-SAT model over the eligible pairs and run the three stages."""
    pairs: list[tuple[_Volunteer, _Slot]] = [
        (vol, slot) for vol, mine in zip(volunteers, eligible, strict=True) for slot in mine
    ]
    if not pairs:
        return [], OPTIMAL
    model = cp_model.CpModel()
    x = [model.new_bool_var("") for _ in pairs]

    by_slot: dict[int, list[cp_model.IntVar]] = {}
    for var, (_, slot) in zip(x, pairs, strict=True):
        by_slot.setdefault(slot.id, []).append(var)
    places = {slot.id: slot.places for _, slot in pairs}
    for slot_id, group in by_slot.items():
        if len(group) > places[slot_id]:
            model.add(cp_model.LinearExpr.sum(group) <= places[slot_id])

    # Durations in a common unit (the gcd), so loads are small exact integers.
    unit = 0
    for _, slot in pairs:
        unit = math.gcd(unit, slot.duration)
    for vol in volunteers:
        for c_start, c_end, _ in vol.commitments:
            unit = math.gcd(unit, c_end - c_start)

    loads: list[tuple[_Volunteer, list[cp_model.IntVar], list[int], int]] = []
    first = 0
    for vol, mine in zip(volunteers, eligible, strict=True):
        if not mine:
            continue
        own = x[first : first + len(mine)]
        first += len(mine)
        for clique in _clash_cliques(mine, buffer):
            model.add_at_most_one(own[k] for k in clique)
        units = [s.duration // unit for s in mine]
        covered = _merge((s.start, s.end) for s in mine)
        cap = min(sum(units), sum(e - s for s, e in covered) // unit)
        loads.append((vol, own, units, cap))

    # Squared load as a convex piecewise-linear cost over segments of `width` units.
    width = max(1, math.ceil(max(cap for *_, cap in loads) / _MAX_SEGMENTS))
    segments: list[cp_model.IntVar] = []
    segment_caps: list[int] = []
    costs: list[int] = []
    seg_spans: list[tuple[int, int, list[int]]] = []  # (first segment, count, units) per load
    for vol, own, units, cap in loads:
        base = vol.base // unit
        count = math.ceil(cap / width)
        start = len(segments)
        for k in range(count):
            segment_caps.append(min(width, cap - k * width))
            segments.append(model.new_int_var(0, segment_caps[-1], ""))
            costs.append(2 * base + (2 * k + 1) * width)
        model.add(
            cp_model.LinearExpr.sum(segments[start:])
            == cp_model.LinearExpr.weighted_sum(own, units)
        )
        seg_spans.append((start, count, units))

    stages = _Stages(model, [*x, *segments], time_limit)
    coverage = cp_model.LinearExpr.sum(x)
    fairness = cp_model.LinearExpr.weighted_sum(segments, costs)
    preferred = [var for var, (vol, slot) in zip(x, pairs, strict=True) if slot.id in vol.preferred]

    def with_segments(chosen: Sequence[int]) -> list[int]:
        """Complete an assignment of ``x`` with the cheapest segment values."""
        values = list(chosen)
        first = 0
        for start, count, units in seg_spans:
            load = sum(u * chosen[first + k] for k, u in enumerate(units))
            first += len(units)
            for k in range(count):
                values.append(max(0, min(load - k * width, segment_caps[start + k])))
        return values

    best: Sequence[int] = with_segments([0] * len(x))
    stages.hint(best)
    model.maximize(coverage)
    found = stages.solve(_STAGE_SHARES[0])
    if found is not None:
        best = found
    model.add(coverage == sum(best[: len(x)]))

    stages.hint(with_segments(best[: len(x)]))
    model.minimize(fairness)
    found = stages.solve(_STAGE_SHARES[1])
    best = found if found is not None else with_segments(best[:len(x)])

    if preferred:
        model.add(fairness <= sum(c * v for c, v in zip(costs, best[len(x) :], strict=True)))
        stages.hint(best)
        model.maximize(cp_model.LinearExpr.sum(preferred))
        found = stages.solve(_STAGE_SHARES[2])
        if found is not None:
            best = found

    if all(stages.proven):
        status = OPTIMAL
    elif stages.proven[0]:
        status = FEASIBLE_COVERAGE_PROVEN
    else:
        status = FEASIBLE
    return [pair for pair, value in zip(pairs, best, strict=False) if value], status


def _reason(
    slot: _Slot,
    volunteers: Sequence[_Volunteer],
    placed_by_volunteer: dict[int, list[_Slot]],
    placed_in_slot: dict[int, set[int]],
    buffer: int,
) -> str:
    """Plain words for staff on why places in ``slot`` stay empty, found by checking what
    stops each volunteer whose availability covers it."""
    if slot.end <= slot.start:
        return INVALID_SLOT
    here = placed_in_slot.get(slot.id, set())
    available = busy = held = travel = declined = free = False
    for vol in volunteers:
        if not vol.covers(slot.start, slot.end):
            continue
        available = True
        if vol.id in here:
            continue
        if slot.id in vol.excluded:
            declined = True
            continue
        block = vol.commitment_block(slot, buffer)
        if block == "held":
            held = True
        elif block == "travel":
            travel = True
        elif any(
            _clash(p.start, p.end, p.venue, slot.start, slot.end, slot.venue, buffer)
            for p in placed_by_volunteer[vol.id]
        ):
            busy = True
        else:
            free = True
    if not available:
        return NOBODY_AVAILABLE
    if free:
        return STOPPED_EARLY
    causes = [
        cause
        for flag, cause in (
            (busy, _CAUSE_BUSY),
            (held, _CAUSE_HELD),
            (travel, _CAUSE_TRAVEL),
            (declined, _CAUSE_DECLINED),
        )
        if flag
    ]
    if not causes:
        return NOT_ENOUGH_VOLUNTEERS
    joined = causes[0] if len(causes) == 1 else ", ".join(causes[:-1]) + " or " + causes[-1]
    who = "Everyone else available at this time" if here else "Everyone available at this time"
    return f"{who} {joined}."
