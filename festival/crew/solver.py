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
   durations, e.g. 15 minutes), exact while a volunteer's new load fits in ``_MAX_SEGMENTS``
   units, which keeps the LP relaxation exact for this part;
3. maximise placements on preferred slots.

Size
----
A problem of up to ``_SINGLE_MODEL_PAIRS`` eligible pairs is solved as one model; only then
can the status be ``"optimal"``. A festival-sized one (300 volunteers, 3,000 places: about
80,000 pairs) is far beyond what CP-SAT loads and searches in seconds (measured: the LP alone
takes several seconds to build, and the first stage is not proven in minutes), so it is
improved in *time windows*. The slots, by start time, are cut into blocks of about
``_BLOCK_PAIRS`` pairs, and the model above is solved on a few consecutive blocks at a time
with every placement outside the window fixed (those add to loads and rule out clashing pairs).
A window solve never makes the plan worse in the lexicographic order. First, windows of
``_COVERAGE_BLOCKS`` blocks that still have a place some eligible volunteer could take get the
coverage stage alone (gaining a place often means moving people along a chain longer than two
blocks); then windows of two blocks get all three stages, pass after pass, alternating how the
blocks pair up, until the budget is spent or two passes change nothing.

Every run starts from a warm start (each place in start order to the least-loaded free eligible
volunteer). It is only the first hint: CP-SAT replaces it wherever it can do better, and it
guarantees a complete plan even when the time limit is very short.

CP-SAT runs without presolve and with ``linearization_level=2``: on these models presolve
costs more than it saves, and the fuller LP closes the fairness stage several times faster.

Determinism: inputs are sorted by id, CP-SAT runs on one worker with a fixed seed, and the
budget is counted in CP-SAT's *deterministic* time (a count of work, not seconds) plus a fixed
cost per pair for building window models. The wall clock is only a backstop: if it stops the
run, a later run may differ, and the status says so.
"""

from __future__ import annotations

import bisect
import itertools
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
    "WINDOWED_TIME_LIMIT",
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
WINDOWED = "feasible (large problem, optimised in time windows)"
WINDOWED_TIME_LIMIT = "feasible (large problem, optimised in time windows; time limit)"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_MICROS_PER_HOUR = 3_600_000_000
_SEED = 20_250_601
_MAX_SEGMENTS = 64
_SINGLE_MODEL_PAIRS = 4_000
_BLOCK_PAIRS = 250
# Deterministic time handed out per second of the time limit. CP-SAT's deterministic time runs
# behind the wall clock on these models (presolve and LP set-up count little), and model
# building in Python is not counted at all, hence well below 1.
_DETERMINISTIC_PER_SECOND = 0.35
# Deterministic-time equivalent charged for building one window pair in Python.
_BUILD_COST_PER_PAIR = 2e-5
# Deterministic time per window pair, per visit of the window.
_WINDOW_BUDGET_PER_PAIR = 1e-4
# Wide windows for gaining coverage: sizes in blocks (tried in turn), deterministic time
# per pair.
_COVERAGE_BLOCKS = (4, 8)
_COVERAGE_BUDGET_PER_PAIR = 1e-4
# Within one solve: shares of its budget for coverage, fairness and preferences.
_STAGE_SHARES = (0.3, 0.5, 0.2)


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
    for c in sorted(
        candidate.commitments,
        key=lambda c: (c.slot_id, c.starts_at, c.ends_at, c.venue_id is not None, c.venue_id or 0),
    ):
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
class _Plan:
    """The instance and the plan being improved."""

    volunteers: list[_Volunteer]
    eligible: list[list[_Slot]]  # per volunteer, sorted by (start, end, id)
    buffer: int
    unit: int  # common duration unit in microseconds
    deadline: float
    assigned: dict[int, list[int]] = field(default_factory=dict)  # slot id -> volunteers
    held: list[dict[int, _Slot]] = field(default_factory=list)  # per volunteer
    work: float = 0.0  # deterministic time used, plus model building
    wall_stop: bool = False

    def place(self, vi: int, slot: _Slot) -> None:
        self.assigned.setdefault(slot.id, []).append(vi)
        self.held[vi][slot.id] = slot

    def unplace(self, vi: int, slot: _Slot) -> None:
        self.assigned[slot.id].remove(vi)
        del self.held[vi][slot.id]

    def could_cover_more(self, pairs: dict[int, list[_Slot]]) -> bool:
        """Whether some slot among ``pairs`` has a place left and more candidates than
        holders (cheap; no clash check)."""
        count: dict[int, int] = {}
        slots: dict[int, _Slot] = {}
        for mine in pairs.values():
            for s in mine:
                count[s.id] = count.get(s.id, 0) + 1
                slots[s.id] = s
        return any(
            len(self.assigned.get(sid, ())) < min(n, slots[sid].places) for sid, n in count.items()
        )

    def snapshot(self) -> frozenset[tuple[int, int]]:
        return frozenset((sid, vi) for sid, vis in self.assigned.items() for vi in vis)

    def free_for(self, vi: int, slot: _Slot) -> bool:
        return not any(slot.clashes(h, self.buffer) for h in self.held[vi].values())


def _warm_start(plan: _Plan) -> None:
    """A complete first plan to hint from: slots by start time, each place to the eligible
    free volunteer with the fewest hours so far (then the lowest id)."""
    candidates: dict[int, list[int]] = {}
    slots: dict[int, _Slot] = {}
    for vi, mine in enumerate(plan.eligible):
        for slot in mine:
            candidates.setdefault(slot.id, []).append(vi)
            slots[slot.id] = slot
    load = [vol.base for vol in plan.volunteers]
    # Slots come in start order, so a volunteer whose placements all end (plus the travel
    # buffer) by this start is free without looking further.
    clear_from = [0] * len(plan.volunteers)
    for slot in sorted(slots.values(), key=lambda s: (s.start, s.end, s.id)):
        free = [
            vi
            for vi in candidates[slot.id]
            if clear_from[vi] <= slot.start or plan.free_for(vi, slot)
        ]
        free.sort(key=lambda vi: (load[vi], vi))
        for vi in free[: slot.places]:
            plan.place(vi, slot)
            load[vi] += slot.duration
            clear_from[vi] = max(clear_from[vi], slot.end + plan.buffer)


class _Window:
    """The lexicographic model over the eligible pairs of some slots, the rest fixed."""

    def __init__(self, plan: _Plan, pairs: dict[int, list[_Slot]]) -> None:
        self.plan = plan
        unit = plan.unit
        model = self.model = cp_model.CpModel()
        self.pairs: list[tuple[int, _Slot]] = []
        self.x: list[cp_model.IntVar] = []
        self.preferred: list[cp_model.IntVar] = []
        self.loads: list[tuple[int, list[int], int, int]] = []  # first x, units, base, cap
        self.segments: list[cp_model.IntVar] = []
        self.segment_caps: list[int] = []
        self.costs: list[int] = []
        self.spans: list[tuple[int, list[int], int, int]] = []  # x, units, segment, count
        self.width = 1
        inside = {s.id for mine in pairs.values() for s in mine}
        reach = plan.buffer
        low = min(s.start for mine in pairs.values() for s in mine) - reach
        high = max(s.end for mine in pairs.values() for s in mine) + reach
        by_slot: dict[int, list[cp_model.IntVar]] = {}
        places: dict[int, int] = {}
        for vi in sorted(pairs):
            vol = plan.volunteers[vi]
            outside = [s for sid, s in plan.held[vi].items() if sid not in inside]
            near = [o for o in outside if o.start < high and o.end > low]
            mine = [s for s in pairs[vi] if not any(s.clashes(o, plan.buffer) for o in near)]
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
                    self.preferred.append(var)
            for clique in _clash_cliques(mine, plan.buffer):
                model.add_at_most_one(own[k] for k in clique)
            units = [s.duration // unit for s in mine]
            base = (vol.base + sum(s.duration for s in outside)) // unit
            union = sum(e - s for s, e in _merge((s.start, s.end) for s in mine)) // unit
            self.loads.append((first, units, base, min(sum(units), union)))
        for slot_id, group in by_slot.items():
            if len(group) > places[slot_id]:
                model.add(cp_model.LinearExpr.sum(group) <= places[slot_id])
        self.most = sum(min(len(group), places[slot_id]) for slot_id, group in by_slot.items())

    def _add_fairness(self) -> None:
        """Add the squared loads as a convex piecewise-linear cost over segments of `width`
        units. Only after the coverage stage, which needs none of it."""
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

    def _complete(self, chosen: Sequence[int]) -> list[int]:
        """Values of all variables for a choice of ``x``, segments filled cheapest first."""
        values = list(chosen)
        for first, units, start, count in self.spans:
            load = sum(u * chosen[first + k] for k, u in enumerate(units))
            for k in range(count):
                values.append(max(0, min(load - k * self.width, self.segment_caps[start + k])))
        return values

    def _solve(
        self, variables: Sequence[cp_model.IntVar], hint: Sequence[int], budget: float
    ) -> tuple[list[int] | None, bool]:
        """One CP-SAT run of the current objective: values of ``variables`` (``None`` if no
        solution was found) and whether they are proven optimal."""
        model = self.model
        model.proto.clear_solution_hint()
        model.proto.solution_hint.vars.extend(v.index for v in variables)
        model.proto.solution_hint.values.extend(hint)
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = 1
        params.random_seed = _SEED
        # Measured on festival-sized windows: presolve costs more than it saves, and the
        # fuller LP relaxation (level 2) closes the fairness stage several times faster.
        params.cp_model_presolve = False
        params.linearization_level = 2
        params.max_deterministic_time = max(budget, 0.001)
        remaining = self.plan.deadline - time.monotonic()
        params.max_time_in_seconds = max(0.001, min(remaining, 4 * budget + 0.1))
        status = solver.solve(model)
        self.plan.work += solver.deterministic_time
        if time.monotonic() >= self.plan.deadline:
            self.plan.wall_stop = True
        if status == cp_model.MODEL_INVALID:  # pragma: no cover - a bug in this module
            raise RuntimeError(model.validate())
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, False
        solution = solver.response_proto.solution
        return [int(solution[v.index]) for v in variables], status == cp_model.OPTIMAL

    def run(self, budget: float, *, coverage_only: bool = False) -> tuple[bool, bool, bool]:
        """Solve the three stages (or only the first) from the plan as it stands, write the
        result back, and say which stages were proven optimal. The plan never gets worse: a
        stage's answer is taken only if it is at least as good as the one it started from."""
        plan = self.plan
        n = len(self.x)
        if n == 0:
            return True, True, True
        start_work = plan.work
        chosen = [int(vi in plan.assigned.get(slot.id, ())) for vi, slot in self.pairs]

        coverage = cp_model.LinearExpr.sum(self.x)
        covered = sum(chosen) == self.most
        if not covered:  # most windows of a good plan are full already: no solve needed
            self.model.maximize(coverage)
            first = budget if coverage_only else budget * _STAGE_SHARES[0]
            found, covered = self._solve(self.x, chosen, first)
            if found is not None and sum(found) > sum(chosen):
                chosen = found
        if coverage_only:
            self._write(chosen)
            return covered, False, False
        self.model.add(coverage == sum(chosen))

        self._add_fairness()
        variables = [*self.x, *self.segments]
        fairness = cp_model.LinearExpr.weighted_sum(self.segments, self.costs)
        best = self._complete(chosen)
        self.model.minimize(fairness)
        left = budget - (plan.work - start_work)
        share = _STAGE_SHARES[1] / (_STAGE_SHARES[1] + _STAGE_SHARES[2])
        found, fair = self._solve(variables, best, left * share)
        if found is not None and self._cost(found) <= self._cost(best):
            best = found

        liked = True
        if self.preferred:
            self.model.add(fairness <= self._cost(best))
            liking = cp_model.LinearExpr.sum(self.preferred)
            self.model.maximize(liking)
            found, liked = self._solve(variables, best, budget - (plan.work - start_work))
            index = {v.index: k for k, v in enumerate(self.x)}
            picks = [index[v.index] for v in self.preferred]
            if found is not None and sum(found[k] for k in picks) >= sum(best[k] for k in picks):
                best = found

        self._write(best)
        return covered, fair, liked

    def _write(self, values: Sequence[int]) -> None:
        """Put the values of ``x`` into the plan."""
        plan = self.plan
        for (vi, slot), value in zip(self.pairs, values, strict=False):
            holds = vi in plan.assigned.get(slot.id, ())
            if value and not holds:
                plan.place(vi, slot)
            elif not value and holds:
                plan.unplace(vi, slot)

    def _cost(self, values: Sequence[int]) -> int:
        n = len(self.x)
        return sum(c * v for c, v in zip(self.costs, values[n:], strict=True))


def _blocks(eligible: Sequence[Sequence[_Slot]]) -> list[dict[int, list[_Slot]]]:
    """Cut the eligible pairs, by slot start time, into blocks of about ``_BLOCK_PAIRS``
    pairs, never splitting a slot; each block maps volunteer -> slots."""
    by_slot: dict[int, list[int]] = {}
    slots: dict[int, _Slot] = {}
    for vi, mine in enumerate(eligible):
        for s in mine:
            by_slot.setdefault(s.id, []).append(vi)
            slots[s.id] = s
    blocks: list[dict[int, list[_Slot]]] = []
    current: dict[int, list[_Slot]] = {}
    size = 0
    for slot in sorted(slots.values(), key=lambda s: (s.start, s.end, s.id)):
        if size >= _BLOCK_PAIRS:
            blocks.append(current)
            current, size = {}, 0
        for vi in by_slot[slot.id]:
            current.setdefault(vi, []).append(slot)
        size += len(by_slot[slot.id])
    if current:
        blocks.append(current)
    return blocks


def _optimise(plan: _Plan, time_limit: float) -> str:
    """Improve the warm-started plan with CP-SAT; return the status."""
    budget = max(time_limit, 0.01) * _DETERMINISTIC_PER_SECOND
    total = sum(len(mine) for mine in plan.eligible)
    if total <= _SINGLE_MODEL_PAIRS:
        whole = {vi: list(mine) for vi, mine in enumerate(plan.eligible) if mine}
        covered, fair, liked = _Window(plan, whole).run(budget)
        if covered and fair and liked:
            return OPTIMAL
        return FEASIBLE_COVERAGE_PROVEN if covered else FEASIBLE

    blocks = _blocks(plan.eligible)

    def windows(size: int, offset: int) -> list[dict[int, list[_Slot]]]:
        """Windows of `size` neighbouring blocks, the first one `offset` blocks long."""
        cuts = [0, *range(offset, len(blocks), size), len(blocks)]
        out = []
        for a, b in itertools.pairwise(cuts):
            if a < b:
                window: dict[int, list[_Slot]] = {}
                for block in blocks[a:b]:
                    for vi, slots in block.items():
                        window.setdefault(vi, []).extend(slots)
                out.append(window)
        return out

    def visit(window: dict[int, list[_Slot]], per_pair: float, coverage_only: bool) -> bool:
        """Solve one window unless the budget is spent; False once it is."""
        if plan.work >= budget or plan.wall_stop:
            return False
        size = sum(len(slots) for slots in window.values())
        plan.work += _BUILD_COST_PER_PAIR * size
        _Window(plan, window).run(per_pair * size, coverage_only=coverage_only)
        return True

    # Coverage comes first in the objective, and gaining a place often means moving people
    # across more than two blocks: windows with an open place that some eligible volunteer
    # could take first get the coverage stage alone over a wide neighbourhood. The windows
    # below then even out the hours again.
    warm = plan.snapshot()
    for size in _COVERAGE_BLOCKS:
        for window in windows(size, size):
            if plan.could_cover_more(window) and not visit(window, _COVERAGE_BUDGET_PER_PAIR, True):
                return WINDOWED_TIME_LIMIT if plan.wall_stop else WINDOWED
    moved = {slot_id for slot_id, _ in warm ^ plan.snapshot()}

    def order(window: dict[int, list[_Slot]]) -> tuple[bool, bool]:
        """Windows that could cover more first, then those the coverage stage changed."""
        touched = any(s.id in moved for slots in window.values() for s in slots)
        return not plan.could_cover_more(window), not touched

    # Then windows of two blocks, alternating between pairing blocks (0, 1), (2, 3), ... and
    # (1, 2), (3, 4), ... so that every boundary is inside some window.
    passes = [windows(2, 2), windows(2, 1)]
    unchanged = 0
    for number in itertools.count():
        before = plan.snapshot()
        for window in sorted(passes[number % 2], key=order):
            if not visit(window, _WINDOW_BUDGET_PER_PAIR, False):
                return WINDOWED_TIME_LIMIT if plan.wall_stop else WINDOWED
        unchanged = unchanged + 1 if plan.snapshot() == before else 0
        if unchanged == 2:  # both pairings of blocks tried without a change
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
    plan = _Plan(
        volunteers=volunteers,
        eligible=eligible,
        buffer=buffer,
        unit=max(unit, 1),
        deadline=started + max(time_limit, 0.01),
        held=[{} for _ in volunteers],
    )
    status = OPTIMAL
    if any(eligible):
        _warm_start(plan)
        status = _optimise(plan, time_limit)

    placements = sorted(
        (
            Placement(slot_id=slot_id, volunteer_id=volunteers[vi].id)
            for slot_id, vis in plan.assigned.items()
            for vi in vis
        ),
        key=lambda p: (p.slot_id, p.volunteer_id),
    )
    unfilled: list[Unfilled] = []
    for slot in slots:
        left = slot.places - len(plan.assigned.get(slot.id, ()))
        if left > 0:
            reason = _reason(slot, plan, covering.get(slot.id, []))
            unfilled.append(Unfilled(slot_id=slot.id, places=left, reason=reason))
    hours = {
        vol.id: round(
            (vol.base + sum(s.duration for s in plan.held[vi].values())) / _MICROS_PER_HOUR, 2
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


def _reason(slot: _Slot, plan: _Plan, covering: Sequence[int]) -> str:
    """Plain words for staff on why places in ``slot`` stay empty, found by checking what
    stops each volunteer whose availability covers it."""
    if slot.end <= slot.start:
        return INVALID_SLOT
    if not covering:
        return NOBODY_AVAILABLE
    here = plan.assigned.get(slot.id, [])
    busy = held = travel = declined = free = False
    for vi in covering:
        vol = plan.volunteers[vi]
        if vi in here:
            continue
        if slot.id in vol.excluded:
            declined = True
            continue
        block = vol.commitment_block(slot, plan.buffer)
        if block == "held":
            held = True
        elif block == "travel":
            travel = True
        elif plan.free_for(vi, slot):
            free = True
        else:
            busy = True
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
