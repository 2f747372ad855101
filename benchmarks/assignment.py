"""Benchmark: the CP-SAT assignment solver against a greedy baseline on a festival-sized instance.

Run ``python benchmarks/assignment.py [--seed N] [--time-limits S ...] [--reference]``. It
builds a five-day festival (300 volunteers, 3,000 open places, ~80,000 eligible pairs), runs
``propose`` at each time limit (default 2 s and 10 s) and a greedy baseline in the same
process, and prints timings, coverage against a max-flow upper bound (and, with
``--reference``, against the proven maximum) and the spread of hours.

Goal: at the 2 s limit the solver answers within 2 s, covers the maximum number of places and
spreads hours no worse than the greedy baseline. The exit status is 0 when it answers within
2 s with no broken rule, the same proposal twice, coverage at least the greedy's and a spread
no worse; whether coverage is maximal is printed (the flow bound is not tight on this
instance; ``--reference`` gives the true maximum).
"""

from __future__ import annotations

import argparse
import bisect
import random
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix  # type: ignore[import-untyped]
from scipy.sparse.csgraph import maximum_flow  # type: ignore[import-untyped]

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from festival.crew.solver import propose
from festival.crew.solver_types import (
    Candidate,
    Commitment,
    Interval,
    Problem,
    SlotNeed,
)

DAYS = 5
VENUES = 6
ROOMS_PER_VENUE = 3
VOLUNTEERS = 300
TARGET_PLACES = 3_000
TRAVEL_BUFFER = 15
FIRST_DAY = datetime(2025, 7, 7, tzinfo=UTC)


def _at(day: int, minute: int) -> datetime:
    return FIRST_DAY + timedelta(days=day, minutes=minute)


def build_instance(seed: int, volunteers: int = VOLUNTEERS) -> Problem:
    """A festival on a 15-minute grid: sessions in rooms of several venues, interview slots
    of 15-45 minutes before, during and after them, and volunteers with a few windows on
    some days. Times are UTC (08:00-18:00, i.e. 09:00-19:00 in London in July)."""
    rng = random.Random(seed)
    raw: list[tuple[int, int, int, int | None]] = []  # day, start minute, minutes, venue
    for day in range(DAYS):
        for venue in range(1, VENUES + 1):
            for _room in range(ROOMS_PER_VENUE):
                minute = 8 * 60 + 15 * rng.randrange(4)
                while True:
                    length = rng.choice((60, 75, 90))
                    if minute + length > 18 * 60:
                        break
                    kinds = rng.sample(
                        ("before", "during", "during", "after", "after"), rng.randint(2, 5)
                    )
                    for kind in kinds:
                        if kind == "before":
                            d = rng.choice((15, 30))
                            start = minute - d
                        elif kind == "during":
                            d = rng.choice((15, 30))
                            start = minute + 15 * rng.randrange(1, (length - d) // 15 + 1)
                        else:
                            d = rng.choice((15, 30, 45))
                            start = minute + length
                        roaming = rng.random() < 0.1
                        raw.append((day, start, d, None if roaming else venue))
                    minute += length + rng.choice((15, 30))
    rng.shuffle(raw)
    slots: list[SlotNeed] = []
    total = 0
    for i, (day, start, d, where) in enumerate(raw):
        if total >= TARGET_PLACES:
            break
        places = rng.choice((1, 1, 2, 2, 2, 3))
        total += places
        slots.append(
            SlotNeed(
                id=i + 1,
                starts_at=_at(day, start),
                ends_at=_at(day, start + d),
                open_places=places,
                venue_id=where,
            )
        )
    slots_by_day: dict[int, list[int]] = {}
    for s in slots:
        slots_by_day.setdefault((s.starts_at - FIRST_DAY).days, []).append(s.id)

    candidates: list[Candidate] = []
    held_id = 1_000_000
    for vid in range(1, volunteers + 1):
        days = sorted(rng.sample(range(DAYS), rng.choices((1, 2, 3, 4), (25, 35, 25, 15))[0]))
        windows: list[Interval] = []
        for day in days:
            for _ in range(rng.randint(1, 3)):
                start = 7 * 60 + 45 + 15 * rng.randrange(34)
                length = 15 * rng.randrange(4, 17)
                windows.append(Interval(_at(day, start), _at(day, min(start + length, 19 * 60))))
        commitments: list[Commitment] = []
        if rng.random() < 0.25:
            for _ in range(rng.randint(1, 3)):
                w = rng.choice(windows)
                held_id += 1
                minutes = rng.choice((30, 45, 60))
                commitments.append(
                    Commitment(
                        slot_id=held_id,
                        starts_at=w.starts_at,
                        ends_at=w.starts_at + timedelta(minutes=minutes),
                        venue_id=rng.randint(1, VENUES),
                    )
                )
        pool = [sid for day in days for sid in slots_by_day.get(day, [])]
        preferred = frozenset(rng.sample(pool, min(len(pool), rng.randint(2, 8))))
        excluded = frozenset(rng.sample(pool, min(len(pool), rng.randint(1, 3))))
        candidates.append(
            Candidate(
                id=vid,
                available=windows,
                commitments=commitments,
                preferred_slot_ids=preferred if rng.random() < 0.4 else frozenset(),
                excluded_slot_ids=excluded if rng.random() < 0.1 else frozenset(),
            )
        )
    return Problem(slots=slots, candidates=candidates, travel_buffer_minutes=TRAVEL_BUFFER)


# --- Shared plain rules (written here independently of the solver) -----------------------


def _clash(
    a: tuple[datetime, datetime, int | None],
    b: tuple[datetime, datetime, int | None],
    buffer: timedelta,
) -> bool:
    gap = buffer if a[2] is not None and b[2] is not None and a[2] != b[2] else timedelta(0)
    return a[0] < b[1] + gap and b[0] < a[1] + gap


def _merged(windows: Sequence[Interval]) -> list[tuple[datetime, datetime]]:
    out: list[tuple[datetime, datetime]] = []
    for w in sorted(windows, key=lambda w: (w.starts_at, w.ends_at)):
        if w.ends_at <= w.starts_at:
            continue
        if out and w.starts_at <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], w.ends_at))
        else:
            out.append((w.starts_at, w.ends_at))
    return out


def eligible_pairs(problem: Problem) -> dict[int, list[int]]:
    """Slot id -> ids of volunteers who may take it (availability, exclusions, commitments)."""
    buffer = timedelta(minutes=problem.travel_buffer_minutes)
    slots = sorted(problem.slots, key=lambda s: (s.starts_at, s.id))
    starts = [s.starts_at for s in slots]
    result: dict[int, list[int]] = {s.id: [] for s in slots}
    for c in sorted(problem.candidates, key=lambda c: c.id):
        held = [(h.starts_at, h.ends_at, h.venue_id) for h in c.commitments]
        held_ids = {h.slot_id for h in c.commitments}
        for w_start, w_end in _merged(c.available):
            i = bisect.bisect_left(starts, w_start)
            while i < len(slots) and starts[i] < w_end:
                s = slots[i]
                i += 1
                if s.ends_at > w_end or s.open_places <= 0 or s.ends_at <= s.starts_at:
                    continue
                if s.id in c.excluded_slot_ids or s.id in held_ids:
                    continue
                me = (s.starts_at, s.ends_at, s.venue_id)
                if any(_clash(me, h, buffer) for h in held):
                    continue
                result[s.id].append(c.id)
    return result


# --- The baseline ------------------------------------------------------------------------


def greedy_baseline(problem: Problem) -> dict[int, list[int]]:
    """BASELINE, not the product: slots by start time; each place goes to the eligible
    volunteer without a clash who has the fewest hours so far (commitments included)."""
    buffer = timedelta(minutes=problem.travel_buffer_minutes)
    eligible = eligible_pairs(problem)
    hours = {
        c.id: sum((h.ends_at - h.starts_at).total_seconds() for h in c.commitments) / 3600
        for c in problem.candidates
    }
    taken: dict[int, list[tuple[datetime, datetime, int | None]]] = {
        c.id: [] for c in problem.candidates
    }
    placed: dict[int, list[int]] = {}
    for s in sorted(problem.slots, key=lambda s: (s.starts_at, s.id)):
        me = (s.starts_at, s.ends_at, s.venue_id)
        length = (s.ends_at - s.starts_at).total_seconds() / 3600
        for _ in range(max(0, s.open_places)):
            free = [
                v
                for v in eligible[s.id]
                if v not in placed.get(s.id, [])
                and not any(_clash(me, t, buffer) for t in taken[v])
            ]
            if not free:
                break
            v = min(free, key=lambda v: (hours[v], v))
            placed.setdefault(s.id, []).append(v)
            taken[v].append(me)
            hours[v] += length
    return placed


def flow_bound(problem: Problem) -> int:
    """An upper bound on coverage: max-flow source -> volunteer -> slot -> sink, ignoring
    clashes except through the volunteer's capacity, which is the length of the union of
    their eligible slots divided by their shortest eligible slot (chosen slots never
    overlap, so no more can fit)."""
    eligible = eligible_pairs(problem)
    slots = sorted(problem.slots, key=lambda s: s.id)
    vols = sorted(c.id for c in problem.candidates)
    v_index = {v: 1 + i for i, v in enumerate(vols)}
    s_index = {s.id: 1 + len(vols) + i for i, s in enumerate(slots)}
    sink = 1 + len(vols) + len(slots)
    by_volunteer: dict[int, list[SlotNeed]] = {v: [] for v in vols}
    rows: list[int] = []
    cols: list[int] = []
    caps: list[int] = []
    for s in slots:
        if eligible[s.id]:
            rows.append(s_index[s.id])
            cols.append(sink)
            caps.append(max(0, s.open_places))
        for v in eligible[s.id]:
            by_volunteer[v].append(s)
            rows.append(v_index[v])
            cols.append(s_index[s.id])
            caps.append(1)
    for v, mine in by_volunteer.items():
        if not mine:
            continue
        union = _merged([Interval(s.starts_at, s.ends_at) for s in mine])
        covered = sum((b - a).total_seconds() for a, b in union)
        shortest = min((s.ends_at - s.starts_at).total_seconds() for s in mine)
        rows.append(0)
        cols.append(v_index[v])
        caps.append(int(covered // shortest))
    graph = csr_matrix(
        (np.array(caps, dtype=np.int32), (np.array(rows), np.array(cols))),
        shape=(sink + 1, sink + 1),
    )
    return int(maximum_flow(graph, 0, sink).flow_value)


def reference_coverage(problem: Problem, seconds_per_day: float) -> tuple[int, bool]:
    """The maximum coverage, for reference: coverage splits exactly by day (no slot or clash
    crosses midnight here), so each day's coverage model is solved on its own by CP-SAT with
    8 workers. Uses the solver's clique encoding (tested against brute force). Slow: about a
    minute. Returns the total and whether every day was proven optimal."""
    from ortools.sat.python import cp_model

    from festival.crew.solver import _clash_cliques, _slot

    eligible = eligible_pairs(problem)
    slots = {s.id: s for s in problem.slots}
    buffer = problem.travel_buffer_minutes * 60_000_000
    total, proven = 0, True
    for day in range(DAYS):
        model = cp_model.CpModel()
        by_volunteer: dict[int, list[SlotNeed]] = {}
        for sid, vols in eligible.items():
            if (slots[sid].starts_at - FIRST_DAY).days == day:
                for v in vols:
                    by_volunteer.setdefault(v, []).append(slots[sid])
        by_slot: dict[int, list[cp_model.IntVar]] = {}
        for _, mine in sorted(by_volunteer.items()):
            mine.sort(key=lambda s: (s.starts_at, s.ends_at, s.id))
            xs = [model.new_bool_var("") for _ in mine]
            for x, s in zip(xs, mine, strict=True):
                by_slot.setdefault(s.id, []).append(x)
            for clique in _clash_cliques([_slot(s) for s in mine], buffer):
                model.add_at_most_one(xs[k] for k in clique)
        for sid, xs in by_slot.items():
            model.add(cp_model.LinearExpr.sum(xs) <= slots[sid].open_places)
        model.maximize(cp_model.LinearExpr.sum([x for xs in by_slot.values() for x in xs]))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 8
        solver.parameters.max_time_in_seconds = seconds_per_day
        status = solver.solve(model)
        total += int(solver.objective_value)
        proven = proven and status == cp_model.OPTIMAL
    return total, proven


# --- Measures ----------------------------------------------------------------------------


def hours_after(problem: Problem, placed: dict[int, list[int]]) -> dict[int, float]:
    length = {s.id: (s.ends_at - s.starts_at).total_seconds() / 3600 for s in problem.slots}
    hours = {
        c.id: sum((h.ends_at - h.starts_at).total_seconds() for h in c.commitments) / 3600
        for c in problem.candidates
    }
    for sid, vols in placed.items():
        for v in vols:
            hours[v] += length[sid]
    return hours


def check_rules(problem: Problem, placed: dict[int, list[int]]) -> list[str]:
    """Independent check of the hard rules on a set of placements."""
    problems: list[str] = []
    eligible = eligible_pairs(problem)
    buffer = timedelta(minutes=problem.travel_buffer_minutes)
    by_id = {s.id: s for s in problem.slots}
    mine: dict[int, list[SlotNeed]] = {}
    for sid, vols in placed.items():
        if len(vols) > by_id[sid].open_places:
            problems.append(f"slot {sid} over capacity")
        for v in vols:
            if v not in eligible[sid]:
                problems.append(f"volunteer {v} not eligible for slot {sid}")
            mine.setdefault(v, []).append(by_id[sid])
    for v, taken in mine.items():
        for i, a in enumerate(taken):
            for b in taken[i + 1 :]:
                if _clash(
                    (a.starts_at, a.ends_at, a.venue_id),
                    (b.starts_at, b.ends_at, b.venue_id),
                    buffer,
                ):
                    problems.append(f"volunteer {v}: slots {a.id} and {b.id} clash")
    return problems


def spread(hours: Sequence[float]) -> tuple[float, float]:
    if not hours:
        return 0.0, 0.0
    return max(hours) - min(hours), statistics.pstdev(hours)


def report(
    label: str, problem: Problem, placed: dict[int, list[int]], bound: int
) -> tuple[int, float, float]:
    """Print one line of figures; return coverage and the spread (sd) among all and placed."""
    covered = sum(len(v) for v in placed.values())
    hours = hours_after(problem, placed)
    got = sorted({v for vols in placed.values() for v in vols})
    placed_range, placed_sd = spread([hours[v] for v in got])
    all_range, all_sd = spread(list(hours.values()))
    preferred = {(sid, c.id) for c in problem.candidates for sid in c.preferred_slot_ids}
    liked = sum((sid, v) in preferred for sid, vols in placed.items() for v in vols)
    print(
        f"  {label}: covered {covered} ({covered / bound:.2%} of bound); "
        f"hours among the {len(got)} placed: max-min {placed_range:.2f}, sd {placed_sd:.3f}; "
        f"among all {len(hours)}: max-min {all_range:.2f}, sd {all_sd:.3f}; "
        f"preferred placements {liked}"
    )
    return covered, all_sd, placed_sd


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--volunteers", type=int, default=VOLUNTEERS)
    parser.add_argument(
        "--time-limits",
        type=float,
        nargs="+",
        default=[2.0, 10.0],
        help="time limits (s) to run the solver with; the first is checked against the goal",
    )
    parser.add_argument(
        "--reference",
        action="store_true",
        help="also compute the proven maximum coverage (about a minute)",
    )
    args = parser.parse_args(argv)

    problem = build_instance(args.seed, args.volunteers)
    wanted = sum(s.open_places for s in problem.slots)
    pairs = sum(len(v) for v in eligible_pairs(problem).values())
    print(
        f"instance: seed {args.seed}, {len(problem.candidates)} volunteers, "
        f"{len(problem.slots)} slots, {wanted} open places, {pairs} eligible pairs, "
        f"{DAYS} days, {VENUES} venues, travel buffer {TRAVEL_BUFFER} min"
    )
    bound = flow_bound(problem)
    print(
        "coverage upper bound (max-flow ignoring clashes; volunteer capacity = length of the "
        f"union of their eligible slots / their shortest eligible slot): {bound}"
    )

    best = None
    if args.reference:
        t0 = time.perf_counter()
        best, proven_best = reference_coverage(problem, 60.0)
        print(
            f"maximum coverage (reference: CP-SAT per day, 8 workers, "
            f"{time.perf_counter() - t0:.0f} s): {best}"
            + ("" if proven_best else " (NOT proven: some day hit its time limit)")
        )

    t0, c0 = time.perf_counter(), time.process_time()
    greedy = greedy_baseline(problem)
    greedy_s, greedy_cpu = time.perf_counter() - t0, time.process_time() - c0
    print(f"greedy baseline: {greedy_s:.2f} s wall, {greedy_cpu:.2f} s CPU")
    g_cov, g_sd, g_placed_sd = report("greedy", problem, greedy, bound)
    broken = check_rules(problem, greedy)

    runs = []
    for limit in args.time_limits:
        t0, c0 = time.perf_counter(), time.process_time()
        proposal = propose(problem, time_limit=limit)
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        placed: dict[int, list[int]] = {}
        for p in proposal.placements:
            placed.setdefault(p.slot_id, []).append(p.volunteer_id)
        broken += check_rules(problem, placed)
        print(
            f"solver, time limit {limit:g} s: {seconds:.2f} s wall, {cpu:.2f} s CPU "
            f"(solver/greedy {seconds / greedy_s:.1f}x); status: {proposal.solver_status}"
        )
        cov, sd, placed_sd = report("solver", problem, placed, bound)
        print(
            f"  vs greedy: coverage {cov - g_cov:+d}; sd of hours among all "
            f"{sd / g_sd:.2f}x, among placed {placed_sd / g_placed_sd:.2f}x"
        )
        runs.append((limit, seconds, proposal, cov, sd))

    limit, seconds, first, cov, sd = runs[0]
    same = propose(problem, time_limit=limit) == first
    print(
        f"deterministic: a second run with time limit {limit:g} s gave "
        + ("the same proposal" if same else "a DIFFERENT proposal")
    )
    print(f"hard rules broken: {len(broken)}" + (f" (first: {broken[0]})" if broken else ""))

    print(f"goal (time limit {limit:g} s): solver <= 2 s, maximum coverage, spread <= greedy")
    print(f"  time: {seconds:.2f} s -> {'met' if seconds <= 2.0 else 'NOT met'}")
    if cov == bound:
        verdict = "met (equals the max-flow bound)"
    elif best is not None:
        verdict = (
            "met (equals the proven maximum)" if cov == best else f"NOT met ({best - cov} short)"
        )
    elif first.solver_status == "optimal":
        verdict = "met (proven by the solver)"
    else:
        verdict = "unknown: below the bound, not proven (run with --reference)"
    print(
        f"  coverage: {cov}, bound {bound}"
        + (f", proven maximum {best}" if best is not None else "")
        + f", greedy {g_cov} -> {verdict}"
    )
    print(f"  spread: sd {sd:.3f} vs greedy {g_sd:.3f} -> {'met' if sd <= g_sd else 'NOT met'}")
    ok = not broken and same and seconds <= 2.0 and sd <= g_sd and cov >= g_cov
    ok = ok and (best is None or cov == best)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
