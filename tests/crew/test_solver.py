"""The assignment solver on hand-built problems, and its hard rules on random small ones."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from festival.crew import solver
from festival.crew.solver import (
    INVALID_SLOT,
    NOBODY_AVAILABLE,
    NOT_ENOUGH_VOLUNTEERS,
    OPTIMAL,
    WINDOWED,
    propose,
)
from festival.crew.solver_types import (
    Candidate,
    Commitment,
    Interval,
    Placement,
    Problem,
    Proposal,
    SlotNeed,
    Unfilled,
)

T = TypeVar("T")
NINE = datetime(2025, 7, 7, 9, 0, tzinfo=UTC)
BUSY = "Everyone available at this time is already busy in another slot."
DECLINED = "Everyone available at this time has declined this slot."
TRAVEL = "Everyone available at this time needs travel time from another venue."
HELD = "Everyone available at this time already holds a slot at the same time."


def at(minutes: int) -> datetime:
    """Minutes after 09:00 UTC on the first festival day."""
    return NINE + timedelta(minutes=minutes)


def slot(id: int, start: int, end: int, places: int = 1, venue: int | None = None) -> SlotNeed:
    return SlotNeed(id=id, starts_at=at(start), ends_at=at(end), open_places=places, venue_id=venue)


def volunteer(
    id: int,
    *windows: tuple[int, int],
    commitments: Sequence[Commitment] = (),
    preferred: Iterable[int] = (),
    excluded: Iterable[int] = (),
) -> Candidate:
    return Candidate(
        id=id,
        available=[Interval(at(a), at(b)) for a, b in windows],
        commitments=list(commitments),
        preferred_slot_ids=frozenset(preferred),
        excluded_slot_ids=frozenset(excluded),
    )


def held(slot_id: int, start: int, end: int, venue: int | None = None) -> Commitment:
    return Commitment(slot_id=slot_id, starts_at=at(start), ends_at=at(end), venue_id=venue)


def placed(*pairs: tuple[int, int]) -> list[Placement]:
    return [Placement(slot_id=s, volunteer_id=v) for s, v in pairs]


def by_volunteer(proposal: Proposal) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for p in proposal.placements:
        out.setdefault(p.volunteer_id, []).append(p.slot_id)
    return out


# --- edge cases ------------------------------------------------------------------------


def test_nothing_to_plan() -> None:
    assert propose(Problem(slots=[], candidates=[])) == Proposal(
        placements=[],
        unfilled=[],
        covered=0,
        wanted=0,
        hours_by_volunteer={},
        solver_status=OPTIMAL,
    )


def test_no_candidates() -> None:
    problem = Problem(slots=[slot(1, 0, 60, places=2)], candidates=[])
    assert propose(problem) == Proposal(
        placements=[],
        unfilled=[Unfilled(slot_id=1, places=2, reason=NOBODY_AVAILABLE)],
        covered=0,
        wanted=2,
        hours_by_volunteer={},
        solver_status=OPTIMAL,
    )


def test_full_and_invalid_slots_and_empty_intervals() -> None:
    problem = Problem(
        slots=[
            slot(1, 0, 60, places=0),  # already full: neither placed nor unfilled
            slot(2, 60, 60),  # zero length
            slot(3, 90, 60),  # ends before it starts
            slot(4, 120, 180),
        ],
        candidates=[
            volunteer(1, (0, 0), (300, 200), (0, 240)),
            volunteer(2, (120, 120)),  # only an empty window: never available
        ],
    )
    assert propose(problem) == Proposal(
        placements=placed((4, 1)),
        unfilled=[
            Unfilled(slot_id=2, places=1, reason=INVALID_SLOT),
            Unfilled(slot_id=3, places=1, reason=INVALID_SLOT),
        ],
        covered=1,
        wanted=3,
        hours_by_volunteer={1: 1.0, 2: 0.0},
        solver_status=OPTIMAL,
    )


def test_ids_must_be_unique() -> None:
    with pytest.raises(ValueError, match="slot ids"):
        propose(Problem(slots=[slot(1, 0, 60), slot(1, 60, 120)], candidates=[]))
    with pytest.raises(ValueError, match="candidate ids"):
        propose(Problem(slots=[], candidates=[volunteer(1), volunteer(1)]))


# --- objective -------------------------------------------------------------------------


def earliest_first(problem: Problem) -> int:
    """What a greedy planner covers: slots by start, each place to the first free volunteer
    (by id) whose availability covers it."""
    taken: dict[int, list[SlotNeed]] = {}
    covered = 0
    for s in sorted(problem.slots, key=lambda s: s.starts_at):
        for c in sorted(problem.candidates, key=lambda c: c.id):
            free = all(
                s.ends_at <= t.starts_at or t.ends_at <= s.starts_at for t in taken.get(c.id, [])
            )
            inside = any(i.starts_at <= s.starts_at and s.ends_at <= i.ends_at for i in c.available)
            if free and inside:
                taken.setdefault(c.id, []).append(s)
                covered += 1
                break
    return covered


def test_coverage_beats_the_greedy_trap() -> None:
    # Greedy gives 09:00 to volunteer 1, who then cannot take 09:30; volunteer 2 cannot either.
    problem = Problem(
        slots=[slot(1, 0, 60), slot(2, 30, 90)],
        candidates=[volunteer(1, (0, 90)), volunteer(2, (0, 60))],
    )
    assert earliest_first(problem) == 1
    assert propose(problem) == Proposal(
        placements=placed((1, 2), (2, 1)),
        unfilled=[],
        covered=2,
        wanted=2,
        hours_by_volunteer={1: 1.0, 2: 1.0},
        solver_status=OPTIMAL,
    )


def test_hours_are_spread_evenly() -> None:
    problem = Problem(
        slots=[slot(i, 60 * (i - 1), 60 * i) for i in range(1, 5)],
        candidates=[volunteer(1, (0, 240)), volunteer(2, (0, 240))],
    )
    proposal = propose(problem)
    assert sorted(len(v) for v in by_volunteer(proposal).values()) == [2, 2]
    assert (proposal.covered, proposal.wanted, proposal.unfilled) == (4, 4, [])
    assert proposal.hours_by_volunteer == {1: 2.0, 2: 2.0}
    assert proposal.solver_status == OPTIMAL


def test_existing_commitments_count_towards_fairness() -> None:
    problem = Problem(
        slots=[slot(1, 0, 60), slot(2, 60, 120)],
        candidates=[
            volunteer(1, (0, 120), (240, 480), commitments=[held(99, 300, 420)]),
            volunteer(2, (0, 120)),
        ],
    )
    assert propose(problem) == Proposal(
        placements=placed((1, 2), (2, 2)),
        unfilled=[],
        covered=2,
        wanted=2,
        hours_by_volunteer={1: 2.0, 2: 2.0},
        solver_status=OPTIMAL,
    )


def test_preference_decides_between_equally_good_plans() -> None:
    problem = Problem(
        slots=[slot(1, 0, 60), slot(2, 0, 60)],
        candidates=[volunteer(1, (0, 60), preferred=[2]), volunteer(2, (0, 60))],
    )
    assert propose(problem).placements == placed((1, 2), (2, 1))


def test_preference_never_costs_coverage() -> None:
    # Volunteer 1 would like slot 1, but only they can do slot 2 at the same time.
    problem = Problem(
        slots=[slot(1, 0, 60), slot(2, 0, 60)],
        candidates=[
            volunteer(1, (0, 60), preferred=[1]),
            volunteer(2, (0, 30), (30, 60), excluded=[2]),
        ],
    )
    proposal = propose(problem)
    assert proposal.placements == placed((1, 2), (2, 1))
    assert proposal.covered == 2


def test_preference_never_costs_fairness() -> None:
    problem = Problem(
        slots=[slot(i, 60 * (i - 1), 60 * i) for i in range(1, 5)],
        candidates=[volunteer(1, (0, 240), preferred=[1, 2, 3, 4]), volunteer(2, (0, 240))],
    )
    proposal = propose(problem)
    assert proposal.hours_by_volunteer == {1: 2.0, 2: 2.0}
    assert len(by_volunteer(proposal)[1]) == 2


# --- hard rules ------------------------------------------------------------------------


def test_travel_buffer_between_venues() -> None:
    # 5 minutes between venues 1 and 2 is too short for a 15-minute buffer: one slot only,
    # the shorter one (less load for the same coverage).
    problem = Problem(
        slots=[slot(1, 0, 60, venue=1), slot(2, 65, 120, venue=2)],
        candidates=[volunteer(1, (0, 120))],
        travel_buffer_minutes=15,
    )
    assert propose(problem) == Proposal(
        placements=placed((2, 1)),
        unfilled=[Unfilled(slot_id=1, places=1, reason=BUSY)],
        covered=1,
        wanted=2,
        hours_by_volunteer={1: 0.92},
        solver_status=OPTIMAL,
    )


def test_back_to_back_at_one_venue_or_roaming_and_a_full_buffer_are_fine() -> None:
    problem = Problem(
        slots=[
            slot(1, 0, 60, venue=1),
            slot(2, 60, 120, venue=1),  # same venue, back to back
            slot(3, 135, 165, venue=2),  # another venue, exactly the buffer later
            slot(4, 165, 200),  # roaming, back to back
        ],
        candidates=[volunteer(1, (0, 200))],
        travel_buffer_minutes=15,
    )
    proposal = propose(problem)
    assert proposal.placements == placed((1, 1), (2, 1), (3, 1), (4, 1))
    assert proposal.hours_by_volunteer == {1: 3.08}


def test_travel_buffer_after_a_commitment() -> None:
    problem = Problem(
        slots=[slot(1, 0, 60, venue=1), slot(2, 0, 60, venue=2)],
        candidates=[volunteer(1, (0, 60), commitments=[held(50, -30, -5, venue=2)])],
        travel_buffer_minutes=15,
    )
    assert propose(problem) == Proposal(
        placements=placed((2, 1)),
        unfilled=[Unfilled(slot_id=1, places=1, reason=TRAVEL)],
        covered=1,
        wanted=2,
        hours_by_volunteer={1: 1.42},
        solver_status=OPTIMAL,
    )


def test_overlapping_commitment_and_the_same_slot_held() -> None:
    problem = Problem(
        slots=[slot(1, 0, 60), slot(2, 120, 180)],
        candidates=[volunteer(1, (0, 180), commitments=[held(7, 30, 90), held(2, 120, 180)])],
    )
    assert propose(problem) == Proposal(
        placements=[],
        unfilled=[
            Unfilled(slot_id=1, places=1, reason=HELD),
            Unfilled(slot_id=2, places=1, reason=HELD),
        ],
        covered=0,
        wanted=2,
        hours_by_volunteer={1: 2.0},
        solver_status=OPTIMAL,
    )


def test_partial_availability_is_not_enough_but_touching_windows_merge() -> None:
    problem = Problem(
        slots=[slot(1, 0, 60), slot(2, 120, 180)],
        candidates=[volunteer(1, (30, 100), (120, 150), (150, 180))],
    )
    assert propose(problem) == Proposal(
        placements=placed((2, 1)),
        unfilled=[Unfilled(slot_id=1, places=1, reason=NOBODY_AVAILABLE)],
        covered=1,
        wanted=2,
        hours_by_volunteer={1: 1.0},
        solver_status=OPTIMAL,
    )


def test_excluded_slots_are_respected() -> None:
    problem = Problem(
        slots=[slot(1, 0, 60), slot(2, 60, 120)],
        candidates=[volunteer(1, (0, 120), excluded=[1])],
    )
    assert propose(problem) == Proposal(
        placements=placed((2, 1)),
        unfilled=[Unfilled(slot_id=1, places=1, reason=DECLINED)],
        covered=1,
        wanted=2,
        hours_by_volunteer={1: 1.0},
        solver_status=OPTIMAL,
    )


def test_reason_names_every_cause() -> None:
    # Slot 1 stays empty: volunteer 1 declined it, 2 holds a slot then, 3 comes from another
    # venue, and 4 takes slot 2 (shorter, so less load for the same coverage).
    problem = Problem(
        slots=[slot(1, 0, 60, venue=1), slot(2, 0, 45, venue=1)],
        candidates=[
            volunteer(1, (0, 60), excluded=[1, 2]),
            volunteer(2, (0, 60), commitments=[held(8, 0, 30)]),
            volunteer(3, (0, 60), commitments=[held(9, -30, -5, venue=2)]),
            volunteer(4, (0, 60)),
        ],
        travel_buffer_minutes=15,
    )
    assert propose(problem) == Proposal(
        placements=placed((2, 4)),
        unfilled=[
            Unfilled(
                slot_id=1,
                places=1,
                reason="Everyone available at this time is already busy in another slot, "
                "already holds a slot at the same time, needs travel time from another venue "
                "or has declined this slot.",
            )
        ],
        covered=1,
        wanted=2,
        hours_by_volunteer={1: 0.0, 2: 0.5, 3: 0.42, 4: 0.75},
        solver_status=OPTIMAL,
    )


def test_not_enough_volunteers() -> None:
    problem = Problem(slots=[slot(1, 0, 60, places=3)], candidates=[volunteer(1, (0, 60))])
    assert propose(problem).unfilled == [
        Unfilled(slot_id=1, places=2, reason=NOT_ENOUGH_VOLUNTEERS)
    ]


def test_everyone_else_is_busy_or_declined() -> None:
    problem = Problem(
        slots=[slot(1, 0, 60, places=3), slot(2, 0, 60)],
        candidates=[
            volunteer(1, (0, 60), excluded=[2]),
            volunteer(2, (0, 60)),
            volunteer(3, (0, 60), excluded=[1]),
        ],
    )
    proposal = propose(problem)
    assert proposal.placements == placed((1, 1), (1, 2), (2, 3))
    assert proposal.unfilled == [
        Unfilled(
            slot_id=1,
            places=1,
            reason="Everyone else available at this time has declined this slot.",
        )
    ]


# --- determinism -----------------------------------------------------------------------


def random_problem(seed: int, volunteers: int = 8, slots: int = 14) -> Problem:
    rng = random.Random(seed)
    needs = []
    for i in range(1, slots + 1):
        start = 15 * rng.randrange(24)
        needs.append(
            slot(
                i,
                start,
                start + rng.choice((15, 30, 45)),
                rng.randint(0, 2),
                rng.choice((None, 1, 2)),
            )
        )
    candidates = []
    for v in range(1, volunteers + 1):
        windows = [
            (a, a + 15 * rng.randint(2, 12)) for a in (15 * rng.randrange(20) for _ in range(2))
        ]
        candidates.append(
            volunteer(
                v,
                *windows,
                commitments=[held(100 + v, 60, 90, rng.choice((None, 1, 2)))] if v % 3 == 0 else [],
                preferred=rng.sample(range(1, slots + 1), 3),
                excluded=rng.sample(range(1, slots + 1), 1),
            )
        )
    return Problem(slots=needs, candidates=candidates, travel_buffer_minutes=15)


def shuffled(problem: Problem, seed: int) -> Problem:
    rng = random.Random(seed)

    def mixed(items: Sequence[T]) -> list[T]:
        out = list(items)
        rng.shuffle(out)
        return out

    candidates = [
        Candidate(
            id=c.id,
            available=mixed(c.available),
            commitments=mixed(c.commitments),
            preferred_slot_ids=c.preferred_slot_ids,
            excluded_slot_ids=c.excluded_slot_ids,
        )
        for c in problem.candidates
    ]
    return Problem(
        slots=mixed(problem.slots),
        candidates=mixed(candidates),
        travel_buffer_minutes=problem.travel_buffer_minutes,
    )


def test_same_input_same_output_in_any_order() -> None:
    problem = random_problem(3)
    first = propose(problem)
    assert first.covered > 0
    assert propose(problem) == first
    for seed in range(3):
        assert propose(shuffled(problem, seed)) == first


def test_time_windows_on_a_larger_problem(monkeypatch: pytest.MonkeyPatch) -> None:
    """The windowed path (festival-sized problems), on a problem made to look large."""
    monkeypatch.setattr(solver, "_SINGLE_MODEL_PAIRS", 20)
    monkeypatch.setattr(solver, "_BLOCK_PAIRS", 8)
    problem = random_problem(5, volunteers=12, slots=30)
    first = propose(problem)
    assert first.solver_status == WINDOWED
    assert rule_breaks(problem, first) == []
    assert propose(shuffled(problem, 1)) == first


# --- property: hard rules and maximal coverage -----------------------------------------


def clash(
    a: tuple[datetime, datetime, int | None], b: tuple[datetime, datetime, int | None], buffer: int
) -> bool:
    gap = timedelta(minutes=buffer) if None not in (a[2], b[2]) and a[2] != b[2] else timedelta(0)
    return a[0] < b[1] + gap and b[0] < a[1] + gap


def may_take(c: Candidate, s: SlotNeed, buffer: int) -> bool:
    """Eligibility written out plainly: inside the union of the availability, not excluded,
    not held, no clash with a commitment."""
    if s.ends_at <= s.starts_at or s.open_places <= 0 or s.id in c.excluded_slot_ids:
        return False
    minute = s.starts_at
    while minute < s.ends_at:  # every minute of the slot is inside some window
        if not any(i.starts_at <= minute < i.ends_at for i in c.available):
            return False
        minute += timedelta(minutes=1)
    me = (s.starts_at, s.ends_at, s.venue_id)
    return not any(
        h.slot_id == s.id
        or (h.ends_at > h.starts_at and clash(me, (h.starts_at, h.ends_at, h.venue_id), buffer))
        for h in c.commitments
    )


def rule_breaks(problem: Problem, proposal: Proposal) -> list[str]:
    slots = {s.id: s for s in problem.slots}
    people = {c.id: c for c in problem.candidates}
    broken = []
    for s in problem.slots:
        n = sum(p.slot_id == s.id for p in proposal.placements)
        if n > max(0, s.open_places):
            broken.append(f"slot {s.id} over capacity")
    mine: dict[int, list[SlotNeed]] = {}
    for p in proposal.placements:
        s, c = slots[p.slot_id], people[p.volunteer_id]
        if not may_take(c, s, problem.travel_buffer_minutes):
            broken.append(f"volunteer {c.id} may not take slot {s.id}")
        mine.setdefault(c.id, []).append(s)
    for v, taken in mine.items():
        for a, b in itertools.combinations(taken, 2):
            if a.id == b.id or clash(
                (a.starts_at, a.ends_at, a.venue_id),
                (b.starts_at, b.ends_at, b.venue_id),
                problem.travel_buffer_minutes,
            ):
                broken.append(f"volunteer {v}: slots {a.id} and {b.id} clash")
    return broken


def best_coverage(problem: Problem) -> int:
    """Brute force: every volunteer's clash-free sets of eligible slots, combined under the
    slot capacities by dynamic programming over volunteers."""
    slots = sorted(problem.slots, key=lambda s: s.id)
    buffer = problem.travel_buffer_minutes
    states = {tuple(max(0, s.open_places) for s in slots): 0}
    for c in problem.candidates:
        options = [k for k, s in enumerate(slots) if may_take(c, s, buffer)]
        sets = [
            combo
            for r in range(len(options) + 1)
            for combo in itertools.combinations(options, r)
            if not any(
                clash(
                    (slots[a].starts_at, slots[a].ends_at, slots[a].venue_id),
                    (slots[b].starts_at, slots[b].ends_at, slots[b].venue_id),
                    buffer,
                )
                for a, b in itertools.combinations(combo, 2)
            )
        ]
        following: dict[tuple[int, ...], int] = {}
        for left, done in states.items():
            for combo in sets:
                if all(left[k] > 0 for k in combo):
                    after = tuple(n - (k in combo) for k, n in enumerate(left))
                    following[after] = max(following.get(after, -1), done + len(combo))
        states = following
    return max(states.values())


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    # 09:00 to 11:00 on a 15-minute grid, so that slots often meet back to back, with
    # lengths that also leave 5- and 10-minute gaps.
    minute = st.integers(0, 8).map(lambda k: 15 * k)
    venue = st.sampled_from([None, 1, 2, 1, 2])
    n_slots = draw(st.integers(1, 5))  # tiny, so that brute force can check coverage
    slots = []
    for i in range(1, n_slots + 1):
        start = draw(minute)
        length = draw(st.sampled_from([0, 10, 15, 20, 30, 45]))  # 0: an invalid slot
        slots.append(
            slot(i, start, start + length, draw(st.sampled_from([0, 1, 1, 2])), draw(venue))
        )
    ids = list(range(1, n_slots + 1))
    candidates = []
    for v in range(1, draw(st.integers(1, 4)) + 1):
        windows = []
        for _ in range(draw(st.integers(1, 2))):
            start = draw(st.integers(0, 6).map(lambda k: 10 * k))
            windows.append((start, start + draw(st.sampled_from([0, 45, 90, 120, 180]))))
        commitments = []
        if draw(st.integers(0, 3)) == 0:
            start = draw(minute)
            commitments.append(
                held(draw(st.sampled_from([*ids, 90])), start, start + 30, draw(venue))
            )
        some = st.lists(st.sampled_from(ids), unique=True, max_size=2) if ids else st.just([])
        candidates.append(
            volunteer(
                v, *windows, commitments=commitments, preferred=draw(some), excluded=draw(some)
            )
        )
    return Problem(
        slots=slots,
        candidates=candidates,
        travel_buffer_minutes=draw(st.sampled_from([0, 15, 30, 30])),
    )


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_random_small_problems_keep_the_rules_and_cover_the_most(problem: Problem) -> None:
    proposal = propose(problem)
    assert rule_breaks(problem, proposal) == []
    assert proposal.solver_status == OPTIMAL
    assert proposal.covered == len(proposal.placements) == best_coverage(problem)
    assert proposal.wanted == sum(max(0, s.open_places) for s in problem.slots)
    filled = {s.id: 0 for s in problem.slots}
    for p in proposal.placements:
        filled[p.slot_id] += 1
    assert {u.slot_id: u.places for u in proposal.unfilled} == {
        s.id: max(0, s.open_places) - filled[s.id]
        for s in problem.slots
        if max(0, s.open_places) > filled[s.id]
    }
    lengths = {s.id: s.ends_at - s.starts_at for s in problem.slots}
    for c in problem.candidates:
        committed = {
            h.slot_id: h.ends_at - h.starts_at for h in c.commitments if h.ends_at > h.starts_at
        }
        total = sum(committed.values(), timedelta(0)) + sum(
            (lengths[p.slot_id] for p in proposal.placements if p.volunteer_id == c.id),
            timedelta(0),
        )
        assert proposal.hours_by_volunteer[c.id] == round(total / timedelta(hours=1), 2)
