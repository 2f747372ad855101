"""Background jobs live in the database: run once, retried with back-off, kept over restarts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from festival.db import job_queries
from festival.db.engine import Database
from festival.db.tables import jobs as jobs_table
from festival.jobs import Jobs, Permanent


async def _state(db: Database, job_id: int) -> job_queries.JobRow:
    async with db.read() as conn:
        row = await job_queries.job_by_id(conn, job_id)
    assert row is not None
    return row


async def test_a_job_runs_once_with_its_payload(db: Database) -> None:
    seen: list[dict[str, Any]] = []

    async def handler(payload: dict[str, Any]) -> None:
        seen.append(payload)

    queue = Jobs(db)
    queue.register("greet", handler)
    job_id = await queue.enqueue("greet", {"clip": 7})
    again = await queue.enqueue("greet", {"clip": 7})
    assert again == job_id, "the same pending work is queued once"
    await queue.run_until_idle()
    assert seen == [{"clip": 7}]
    assert (await _state(db, job_id)).state == "done"


async def test_failures_are_retried_with_back_off_then_given_up(db: Database) -> None:
    calls = 0

    async def flaky(payload: dict[str, Any]) -> None:
        nonlocal calls
        calls += 1
        raise OSError("disk busy")

    queue = Jobs(db)
    queue.register("flaky", flaky)
    job_id = await queue.enqueue("flaky", {}, max_attempts=3)
    await queue.run_until_idle()
    first = await _state(db, job_id)
    assert (first.state, first.attempts) == ("queued", 1)
    assert first.last_error == "OSError: disk busy"
    assert first.run_after > datetime.now(UTC)
    for _ in range(2):  # let the back-off pass
        async with db.write() as conn:
            await conn.execute(sa.update(jobs_table).values(run_after=datetime.now(UTC)))
        await queue.run_until_idle()
    final = await _state(db, job_id)
    assert (final.state, final.attempts, calls) == ("failed", 3, 3)


async def test_permanent_failure_is_not_retried(db: Database) -> None:
    async def hopeless(payload: dict[str, Any]) -> None:
        raise Permanent("this file has no picture")

    queue = Jobs(db)
    queue.register("hopeless", hopeless)
    job_id = await queue.enqueue("hopeless", {})
    await queue.run_until_idle()
    row = await _state(db, job_id)
    assert (row.state, row.attempts) == ("failed", 1)
    assert "no picture" in row.last_error


async def test_queued_and_abandoned_jobs_survive_a_restart(db: Database) -> None:
    done: list[int] = []

    async def work(payload: dict[str, Any]) -> None:
        done.append(payload["n"])

    before = Jobs(db)
    before.register("work", work)
    waiting = await before.enqueue("work", {"n": 1})
    abandoned = await before.enqueue("work", {"n": 2})
    # A worker claimed the second job and then died without finishing it.
    async with db.write() as conn:
        await job_queries.claim(
            conn,
            "dead-worker",
            datetime.now(UTC),
            datetime.now(UTC) - timedelta(seconds=1),
            ["work"],
        )
    after = Jobs(db)  # a new process, after the restart
    after.register("work", work)
    await after.run_until_idle()
    assert sorted(done) == [1, 2]
    assert (await _state(db, waiting)).state == "done"
    assert (await _state(db, abandoned)).state == "done"


async def test_two_workers_never_run_the_same_job(db: Database) -> None:
    runs: list[int] = []

    async def slow(payload: dict[str, Any]) -> None:
        runs.append(payload["n"])
        await asyncio.sleep(0.01)

    workers = [Jobs(db), Jobs(db)]
    for worker in workers:
        worker.register("slow", slow)
    for n in range(20):
        await workers[0].enqueue("slow", {"n": n})
    await asyncio.gather(*(w.run_until_idle() for w in workers))
    assert sorted(runs) == list(range(20))


async def test_the_worker_loop_picks_up_new_work(db: Database) -> None:
    finished = asyncio.Event()

    async def handler(payload: dict[str, Any]) -> None:
        finished.set()

    queue = Jobs(db, poll_interval=5)
    queue.register("ping", handler)
    queue.start()
    try:
        await queue.enqueue("ping", {})
        await asyncio.wait_for(finished.wait(), timeout=5)
    finally:
        await queue.stop()


async def test_a_lease_is_kept_alive_while_working_and_retaken_once_the_worker_dies(
    db: Database,
) -> None:
    lease = timedelta(seconds=0.6)
    runs: list[str] = []

    async def long(payload: dict[str, Any]) -> None:
        runs.append(payload["by"])
        await asyncio.sleep(1.5)  # longer than the lease: only the heartbeat keeps it

    busy, other = Jobs(db, lease=lease), Jobs(db, lease=lease)
    for worker in (busy, other):
        worker.register("long", long)
    job_id = await busy.enqueue("long", {"by": "anyone"})
    working = asyncio.create_task(busy.run_one())
    await asyncio.sleep(1.0)  # past the first lease
    assert await other.run_one() is False, "a live worker's job is not taken from it"
    assert await working is True
    assert runs == ["anyone"]
    assert (await _state(db, job_id)).state == "done"

    # A worker that dies (kill -9) sends no more heartbeats: once its short lease runs
    # out, the next worker takes the job.
    dead_id = await busy.enqueue("long", {"by": "the dead"})
    async with db.write() as conn:
        now = datetime.now(UTC)
        await job_queries.claim(conn, "dead-worker", now, now + lease, ["long"])
    assert await other.run_one() is False, "not while the lease lasts"
    await asyncio.sleep(lease.total_seconds() + 0.1)
    assert await other.run_one() is True
    row = await _state(db, dead_id)
    assert (row.state, row.attempts) == ("done", 2)


async def test_standing_jobs_queue_their_next_run_while_they_run(client: Any, app: Any) -> None:
    """Upload expiry and the consent sweep run for as long as a worker runs, not once."""
    from festival.clips.service import EXPIRE_UPLOADS
    from festival.consent.service import SWEEP

    jobs: Jobs = app.state.jobs
    first = {kind: await jobs.enqueue(kind, {}) for kind in (EXPIRE_UPLOADS, SWEEP)}
    assert await jobs.run_one()
    assert await jobs.run_one()
    async with app.state.db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(
                    jobs_table.c.id, jobs_table.c.kind, jobs_table.c.state, jobs_table.c.run_after
                )
            )
        ).all()
    done = {r.kind for r in rows if r.id in first.values() and r.state == "done"}
    waiting = {r.kind: r.run_after for r in rows if r.state == "queued"}
    assert done == {EXPIRE_UPLOADS, SWEEP}
    assert set(waiting) == {EXPIRE_UPLOADS, SWEEP}
    assert all(at > datetime.now(UTC) for at in waiting.values())
    # A second copy is still refused while the next run waits, but a process starting
    # up (which asks for the sweep now) brings the waiting run forward.
    next_run = await jobs.enqueue(EXPIRE_UPLOADS, {})
    assert next_run not in first.values()
    async with app.state.db.read() as conn:
        at = await conn.scalar(sa.select(jobs_table.c.run_after).where(jobs_table.c.id == next_run))
    assert at <= datetime.now(UTC)
    async with app.state.db.read() as conn:
        count = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(jobs_table)
            .where(jobs_table.c.kind == EXPIRE_UPLOADS)
        )
    assert count == 2
    assert await jobs.run_one()
    async with app.state.db.read() as conn:
        state = await conn.scalar(sa.select(jobs_table.c.state).where(jobs_table.c.id == next_run))
    assert state == "done"
