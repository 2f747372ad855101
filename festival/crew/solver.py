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
  Overlaps are covered by the maximal cliques of the interval graph (one sweep). Travel clashes
  are covered by "two-point" cliques: for a time ``t`` and a venue ``V``, the slots at ``V``
  that contain a point ``p`` in ``[t - buffer, t]`` and the slots at other venues that contain
  ``t`` all clash pairwise.

Lexicographic objective, as sequential solves of one model: after each stage its value is
fixed as a constraint and its solution becomes the hint of the next stage.

1. maximise covered places;
2. minimise ``sum_v load_v ** 2`` over all candidates, where ``load`` counts existing
   commitments too. For a fixed total this is the variance, so hours come out as even as the
   rules allow, and anyone with many commitments gets new work last. The square is a convex
   piecewise-linear cost over segments of the load in a common duration unit (the gcd of all
   durations, e.g. 15 minutes), exact while a volunteer's possible new load fits in
   ``_MAX_SEGMENTS`` units, so the LP relaxation is exact for this part;
3. maximise placements on preferred slots.

Large problems
--------------
A realistic festival (300 volunteers, 3,000 places) has ~80,000 eligible pairs; CP-SAT needs
minutes on that model as a whole. So the slots, sorted by start, are cut into blocks of about
``_BLOCK_PAIRS`` pairs and the model above is solved on a sliding window of two consecutive
blocks, with every placement outside the window fixed (it adds to loads and makes clashing
pairs ineligible). The first pass rolls forward through time; later passes, while the budget
lasts, re-solve each window with everything else in place. Each window solve keeps or improves
the lexicographic objective. A problem of at most two blocks is solved as one model, and only
then can the status be ``"optimal"``.

Determinism: inputs are sorted by id, CP-SAT runs on one worker with a fixed seed, and every
solve is limited by *deterministic* time (a count of work, not seconds). A wall-clock limit is
only a backstop: if it fires, a later run may differ, and the status says the time limit was
reached.
"""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
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
    "FEASIBLE",
    "FEASIBLE_COVERAGE_PROVEN",
    "INVALID_SLOT",
    "NOBODY_AVAILABLE",
    "NOT_ENOUGH_VOLUNTEERS",
    "OPTIMAL",
    "STOPPED_EARLY",
    "WINDOWED",
    "propose",
]

NOBODY_AVAILABLE = "No trained volunteer is available at this time."
NOT_ENOUGH_VOLUNTEERS = "Not enough trained volunteers are available at this time."
INVALID_SLOT = "The slot does not end after it starts, so nobody can be placed in it."
STOPPED_EARLY = (
    "Someone may still be free for this place: the solver stopped before filling it. "
    "Try again with more time."
)
# Why available volunteers cannot be placed; joined into one sentence by `_reason`.
_CAUSE_BUSY = "is already busy in another slot"
_CAUSE_HELD = "already holds a slot at the same time"
_CAUSE_TRAVEL = "needs travel time from another venue"
_CAUSE_DECLINED = "has declined this slot"

OPTIMAL = "optimal"
FEASIBLE_COVERAGE_PROVEN = "feasible (time limit; coverage proven maximal)"
FEASIBLE = "feasible (time limit)"
WINDOWED = "feasible (large problem, optimised in overlapping time windows)"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MICROS_PER_HOUR = 3_600_000_000
_SEED = 20_250_601
_MAX_SEGMENTS = 64
_BLOCK_PAIRS = 1_500
_LP_PAIRS = 4_000
# CP-SAT's deterministic time runs slower than the wall clock on these models (presolve
# counts little), so only this share of the time limit is handed out as deterministic time.
_DETERMINISTIC_SHARE = 0.5
# Within one window: shares of its budget for coverage, fairness and preferences.
_STAGE_SHARES = (0.3, 0.5, 0.2)
# Deterministic time for the first, plain-search try at coverage.
_QUICK_BUDGET = 0.05
# Least deterministic time for one window.
_WINDOW_FLOOR = 0.15
# Share of the budget for the first, rolling pass when there are several windows.
_FIRST_PASS_SHARE = 0.7


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

    def clashes(self, other: _Slot, buffer: int) -> bool:
        return _clash(self.start, self.end, self.venue, other.start, other.end, other.venue, buffer)


@dataclass(frozen=True, slots=True)
class _Volunteer:
    id: int
    windows: list[tuple[int, int]]  # merged, sorted, disjoint
    commitments: list[tuple[int, int, int | None]]  # non-empty ones, one per slot id
    held_slot_ids: frozenset[int]
    excluded: frozenset[int]
    preferred: frozenset[int]
    base: int  # microseconds already committed

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
    for c in sorted(candidate.commitments, key=lambda c: c.slot_id):
        start, end = _micros(c.starts_at), _micros(c.ends_at)
        if end > start:
            by_slot.setdefault(c.slot_id, (start, end, c.venue_id))
    commitments = [by_slot[k] for k in sorted(by_slot)]
    return _Volunteer(
        id=candidate.id,
        windows=windows,
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


def _clash_cliques(slots: Sequence[_Slot], buffer: int) -> list[list[int]]:
    """Cliques (positions into ``slots``, which is sorted by start) covering every clashing
    pair of one volunteer's slots."""
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
    placed = [k for k, s in enumerate(slots) if s.venue is not None]
    if buffer <= 0 or len({slots[k].venue for k in placed}) < 2:
        return cliques
    # Travel: at each start t, for each venue V and end e of a V-slot in (t - buffer, t],
    # the V-slots containing e - 1 and the other venues' slots containing t form a clique.
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


@dataclass(slots=True)
class _Context:
    """Everything the window solves share."""

    volunteers: list[_Volunteer]
    eligible: list[list[_Slot]]  # per volunteer, sorted by (start, end, id)
    buffer: int
    unit: int  # common duration unit in microseconds
    deadline: float
    assigned: dict[int, list[int]] = field(default_factory=dict)  # slot id -> volunteer idx
    held: list[dict[int, _Slot]] = field(default_factory=list)  # volunteer idx -> placements
    deterministic_used: float = 0.0


class _Window:
    """The lexicographic model over the pairs of some slots, the rest of the plan fixed."""

    def __init__(self, ctx: _Context, slot_ids: set[int]) -> None:
        self.ctx = ctx
        unit = ctx.unit
        model = self.model = cp_model.CpModel()
        self.pairs: list[tuple[int, _Slot]] = []
        self.x: list[cp_model.IntVar] = []
        by_slot: dict[int, list[cp_model.IntVar]] = {}
        places: dict[int, int] = {}
        preferred: list[cp_model.IntVar] = []
        self.segments: list[cp_model.IntVar] = []
        self.segment_caps: list[int] = []
        self.costs: list[int] = []
        loads: list[tuple[int, list[int], int, int]] = []  # first x, units, base, cap
        for vi, vol in enumerate(ctx.volunteers):
            outside = [s for sid, s in ctx.held[vi].items() if sid not in slot_ids]
            mine = [
                s
                for s in ctx.eligible[vi]
                if s.id in slot_ids and not any(s.clashes(o, ctx.buffer) for o in outside)
            ]
            if not mine:
                continue
            first = len(self.x)
            own = [model.new_bool_var("") for _ in mine]
            self.x.extend(own)
            for var, slot in zip(own, mine, strict=True):
                self.pairs.append((vi, slot))
                by_slot.setdefault(slot.id, []).append(var)
                places[slot.id] = slot.places
                if slot.id in vol.preferred:
                    preferred.append(var)
            for clique in _clash_cliques(mine, ctx.buffer):
                model.add_at_most_one(own[k] for k in clique)
            units = [s.duration // unit for s in mine]
            base = (vol.base + sum(s.duration for s in outside)) // unit
            union = sum(e - s for s, e in _merge((s.start, s.end) for s in mine)) // unit
            loads.append((first, units, base, min(sum(units), union)))
        for slot_id, group in by_slot.items():
            if len(group) > places[slot_id]:
                model.add(cp_model.LinearExpr.sum(group) <= places[slot_id])

        self.loads = loads
        self.preferred = preferred
        self.width = 1
        self.spans: list[tuple[int, list[int], int, int]] = []  # x, units, segment, count

    def _add_fairness(self) -> None:
        """Add the squared loads as a convex piecewise-linear cost over segments of `width`
        units. Only after the coverage stage: the extra variables slow its search down."""
        model = self.model
        width = self.width = max(1, math.ceil(max(ld[3] for ld in self.loads) / _MAX_SEGMENTS))
        for first, units, base, cap in self.loads:
            start, count = len(self.segments), math.ceil(cap / width)
            for k in range(count):
                self.segment_caps.append(min(width, cap - k * width))
                self.segments.append(model.new_int_var(0, self.segment_caps[-1], ""))
                self.costs.append(2 * base + (2 * k + 1) * width)
            model.add(
                cp_model.LinearExpr.sum(self.segments[start:])
                == cp_model.LinearExpr.weighted_sum(self.x[first : first + len(units)], units)
            )
            self.spans.append((first, units, start, count))

    def current(self) -> list[int]:
        """The plan's present values of ``x``."""
        assigned = self.ctx.assigned
        return [int(vi in assigned.get(slot.id, ())) for vi, slot in self.pairs]

    def complete(self, chosen: Sequence[int]) -> list[int]:
        """Values of all variables for a choice of ``x``, segments filled cheapest first."""
        values = list(chosen)
        for first, units, start, count in self.spans:
            load = sum(u * chosen[first + k] for k, u in enumerate(units))
            for k in range(count):
                values.append(max(0, min(load - k * self.width, self.segment_caps[start + k])))
        return values

    def _solve(
        self,
        variables: Sequence[cp_model.IntVar],
        hint: Sequence[int],
        budget: float,
        *,
        lp: bool,
    ) -> tuple[list[int] | None, bool]:
        """One CP-SAT run of the current objective: values of ``variables`` (or ``None`` if no
        solution was found) and whether it is proven optimal."""
        model = self.model
        model.clear_hints()
        if any(hint):  # an all-zero hint steers the search towards empty plans
            model.proto.solution_hint.vars.extend(v.index for v in variables)
            model.proto.solution_hint.values.extend(hint)
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.random_seed = _SEED
        if lp:
            params.cp_model_probing_level = 0
            params.symmetry_level = 0
            params.max_presolve_iterations = 1
        else:
            # Plain search: no presolve, no LP relaxation. It finds near-optimal coverage
            # at once where building the LP alone would take a large part of the budget.
            params.linearization_level = 0
            params.cp_model_presolve = False
        params.max_deterministic_time = max(budget, 0.005)
        params.max_time_in_seconds = max(
            0.05, min(2 * budget + 0.05, self.ctx.deadline - time.monotonic())
        )
        status = solver.solve(model)
        self.ctx.deterministic_used += solver.deterministic_time
        if status == cp_model.MODEL_INVALID:  # pragma: no cover - a bug in this module
            raise RuntimeError(model.validate())
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, False
        solution = solver.response_proto.solution
        return [int(solution[v.index]) for v in variables], status == cp_model.OPTIMAL

    def run(self, budget: float) -> list[bool]:
        """Solve the three stages; write the result into the plan; say which were proven."""
        n = len(self.x)
        if n == 0:
            return [True, True, True]
        ctx = self.ctx
        spent = ctx.deterministic_used
        proven: list[bool] = []

        coverage = cp_model.LinearExpr.sum(self.x)
        self.model.maximize(coverage)
        chosen = self.current()
        small = n <= _LP_PAIRS
        found, ok = self._solve(self.x, chosen, _QUICK_BUDGET, lp=False)
        if found is not None and sum(found) >= sum(chosen):
            chosen = found
        if small and not ok:  # the LP bound proves small windows optimal
            left = budget * _STAGE_SHARES[0] - (ctx.deterministic_used - spent)
            found, ok = self._solve(self.x, chosen, left, lp=True)
            if found is not None and sum(found) >= sum(chosen):
                chosen = found
        proven.append(ok)
        self.model.add(coverage == sum(chosen))

        self._add_fairness()
        variables = [*self.x, *self.segments]
        fairness = cp_model.LinearExpr.weighted_sum(self.segments, self.costs)
        self.model.minimize(fairness)
        best = self.complete(chosen)
        left = budget - (ctx.deterministic_used - spent)
        share = _STAGE_SHARES[1] / (_STAGE_SHARES[1] + _STAGE_SHARES[2])
        found, ok = self._solve(variables, best, left * share, lp=small)
        proven.append(ok)
        if found is not None:
            best = found

        if self.preferred:
            cost = sum(c * v for c, v in zip(self.costs, best[n:], strict=True))
            self.model.add(fairness <= cost)
            self.model.maximize(cp_model.LinearExpr.sum(self.preferred))
            left = budget - (ctx.deterministic_used - spent)
            found, ok = self._solve(variables, best, left, lp=small)
            proven.append(ok)
            if found is not None:
                best = found
        else:
            proven.append(True)

        for (vi, slot), value in zip(self.pairs, best, strict=False):
            holders = ctx.assigned.setdefault(slot.id, [])
            if value and vi not in holders:
                holders.append(vi)
                ctx.held[vi][slot.id] = slot
            elif not value and vi in holders:
                holders.remove(vi)
                del ctx.held[vi][slot.id]
        return proven


def _blocks(eligible: Sequence[Sequence[_Slot]]) -> list[set[int]]:
    """Cut the slots with candidates, by start time, into blocks of about ``_BLOCK_PAIRS``
    eligible pairs."""
    count: dict[int, int] = {}
    order: dict[int, tuple[int, int, int]] = {}
    for mine in eligible:
        for s in mine:
            count[s.id] = count.get(s.id, 0) + 1
            order[s.id] = (s.start, s.end, s.id)
    blocks: list[set[int]] = []
    current: set[int] = set()
    size = 0
    for slot_id in sorted(count, key=order.__getitem__):
        if size >= _BLOCK_PAIRS:
            blocks.append(current)
            current, size = set(), 0
        current.add(slot_id)
        size += count[slot_id]
    if current:
        blocks.append(current)
    # A small last block joins the one before it.
    if len(blocks) > 1 and sum(count[i] for i in blocks[-1]) < _BLOCK_PAIRS // 2:
        blocks[-2] |= blocks.pop()
    return blocks


def _optimise(ctx: _Context, time_limit: float) -> str:
    """Fill ``ctx.assigned``; return the status."""
    blocks = _blocks(ctx.eligible)
    budget = max(time_limit, 0.01) * _DETERMINISTIC_SHARE
    if len(blocks) <= 2:
        proven = _Window(ctx, set().union(*blocks)).run(budget)
        if all(proven):
            return OPTIMAL
        return FEASIBLE_COVERAGE_PROVEN if proven[0] else FEASIBLE

    windows = [blocks[k] | blocks[k + 1] for k in range(len(blocks) - 1)]
    sizes = [sum(1 for mine in ctx.eligible for s in mine if s.id in w) for w in windows]
    total = sum(sizes)
    # Rolling pass: each window sees the placements made before it, nothing after it yet.
    first = budget * _FIRST_PASS_SHARE
    for w, size in zip(windows, sizes, strict=True):
        _Window(ctx, w).run(max(_WINDOW_FLOOR, first * size / total))
    # Improvement passes, each window with the rest of the plan in place, while budget lasts.
    while ctx.deterministic_used < budget and time.monotonic() < ctx.deadline:
        before = {k: sorted(v) for k, v in ctx.assigned.items()}
        left = budget - ctx.deterministic_used
        for w, size in zip(windows, sizes, strict=True):
            if ctx.deterministic_used >= budget or time.monotonic() >= ctx.deadline:
                break
            _Window(ctx, w).run(max(_WINDOW_FLOOR, left * size / total))
        if before == {k: sorted(v) for k, v in ctx.assigned.items()}:
            break
    return WINDOWED


def propose(problem: Problem, *, time_limit: float = 10.0) -> Proposal:
    """Propose placements: most places covered, then hours as even as possible, then as many
    preferred slots as possible. ``time_limit`` (seconds) bounds the whole call."""
    started = time.monotonic()
    if len({s.id for s in problem.slots}) != len(problem.slots):
        raise ValueError("slot ids must be unique")
    if len({c.id for c in problem.candidates}) != len(problem.candidates):
        raise ValueError("candidate ids must be unique")
    buffer = max(0, problem.travel_buffer_minutes) * 60_000_000
    slots = sorted((_slot(s) for s in problem.slots), key=lambda s: s.id)
    volunteers = [_volunteer(c) for c in sorted(problem.candidates, key=lambda c: c.id)]

    # Eligible pairs, found per volunteer by scanning the slots that start in each window;
    # `covering` remembers who is available at all, for the reasons given to staff.
    open_slots = sorted(
        (s for s in slots if s.places > 0 and s.end > s.start),
        key=lambda s: (s.start, s.end, s.id),
    )
    open_starts = [s.start for s in open_slots]
    eligible: list[list[_Slot]] = []
    covering: dict[int, list[int]] = {}
    for vi, vol in enumerate(volunteers):
        mine: list[_Slot] = []
        for w_start, w_end in vol.windows:
            i = bisect.bisect_left(open_starts, w_start)
            while i < len(open_slots) and open_starts[i] < w_end:
                slot = open_slots[i]
                i += 1
                if slot.end > w_end:
                    continue
                covering.setdefault(slot.id, []).append(vi)
                if slot.id not in vol.excluded and vol.commitment_block(slot, buffer) is None:
                    mine.append(slot)
        eligible.append(mine)

    unit = 0
    for mine in eligible:
        for slot in mine:
            unit = math.gcd(unit, slot.duration)
    for vol in volunteers:
        for c_start, c_end, _ in vol.commitments:
            unit = math.gcd(unit, c_end - c_start)
    ctx = _Context(
        volunteers=volunteers,
        eligible=eligible,
        buffer=buffer,
        unit=max(unit, 1),
        deadline=started + max(time_limit, 0.01),
        held=[{} for _ in volunteers],
    )
    status = _optimise(ctx, time_limit) if any(eligible) else OPTIMAL

    placements = sorted(
        (
            Placement(slot_id=slot_id, volunteer_id=volunteers[vi].id)
            for slot_id, vis in ctx.assigned.items()
            for vi in vis
        ),
        key=lambda p: (p.slot_id, p.volunteer_id),
    )
    unfilled: list[Unfilled] = []
    for slot in slots:
        left = slot.places - len(ctx.assigned.get(slot.id, ()))
        if left > 0:
            reason = _reason(slot, ctx, covering.get(slot.id, []))
            unfilled.append(Unfilled(slot_id=slot.id, places=left, reason=reason))
    hours = {
        vol.id: round(
            (vol.base + sum(s.duration for s in ctx.held[vi].values())) / _MICROS_PER_HOUR, 2
        )
        for vi, vol in enumerate(volunteers)
    }
    return Proposal(
        placements=placements,
        unfilled=unfilled,
        covered=len(placements),
        wanted=sum(s.places for s in slots),
        hours_by_volunteer=hours,
        solver_status=status,
    )


def _reason(slot: _Slot, ctx: _Context, covering: Sequence[int]) -> str:
    """Plain words for staff on why places in ``slot`` stay empty, found by checking what
    stops each volunteer whose availability covers it."""
    if slot.end <= slot.start:
        return INVALID_SLOT
    if not covering:
        return NOBODY_AVAILABLE
    here = ctx.assigned.get(slot.id, [])
    busy = held = travel = declined = free = False
    for vi in covering:
        vol = ctx.volunteers[vi]
        if vi in here:
            continue
        if slot.id in vol.excluded:
            declined = True
            continue
        block = vol.commitment_block(slot, ctx.buffer)
        if block == "held":
            held = True
        elif block == "travel":
            travel = True
        elif any(slot.clashes(p, ctx.buffer) for p in ctx.held[vi].values()):
            busy = True
        else:
            free = True
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
