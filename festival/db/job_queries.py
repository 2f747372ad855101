"""SQL for the job queue: enqueue, claim with a lease, finish, retry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db.tables import jobs


class JobRow(msgspec.Struct):
    id: int
    kind: str
    payload: str
    state: str
    attempts: int
    max_attempts: int
    run_after: datetime
    last_error: str


_columns = (
    jobs.c.id,
    jobs.c.kind,
    jobs.c.payload,
    jobs.c.state,
    jobs.c.attempts,
    jobs.c.max_attempts,
    jobs.c.run_after,
    jobs.c.last_error,
)


async def bring_forward(conn: AsyncConnection, job_id: int, run_after: datetime) -> None:
    """Move a waiting job's start earlier (never later)."""
    await conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state == "queued", jobs.c.run_after > run_after)
        .values(run_after=run_after)
    )


async def insert_job(
    conn: AsyncConnection, kind: str, payload: str, run_after: datetime, max_attempts: int
) -> int:
    result = await conn.execute(
        sa.insert(jobs)
        .values(kind=kind, payload=payload, run_after=run_after, max_attempts=max_attempts)
        .returning(jobs.c.id)
    )
    return int(result.scalar_one())


async def pending_job(
    conn: AsyncConnection, kind: str, payload: str, states: tuple[str, ...] = ("queued", "running")
) -> int | None:
    """A job of this kind and payload not yet finished, so work is not queued twice."""
    row = (
        await conn.execute(
            sa.select(jobs.c.id).where(
                jobs.c.kind == kind,
                jobs.c.payload == payload,
                jobs.c.state.in_(states),
            )
        )
    ).first()
    return int(row.id) if row else None


async def claim(
    conn: AsyncConnection, worker: str, now: datetime, lease_until: datetime, kinds: list[str]
) -> JobRow | None:
    """Take the oldest ready job (or one whose worker's lease ran out) for ``worker``.

    Runs inside the serialised write transaction on SQLite; on PostgreSQL the row lock
    with SKIP LOCKED lets many workers claim side by side without taking the same job.
    """
    ready = sa.or_(
        sa.and_(jobs.c.state == "queued", jobs.c.run_after <= now),
        sa.and_(jobs.c.state == "running", jobs.c.locked_until < now),
    )
    query = (
        sa.select(*_columns)
        .where(ready, jobs.c.kind.in_(kinds))
        .order_by(jobs.c.run_after, jobs.c.id)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    await conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == row.id)
        .values(
            state="running",
            locked_by=worker,
            locked_until=lease_until,
            attempts=jobs.c.attempts + 1,
        )
    )
    job = msgspec.convert(row, JobRow, from_attributes=True)
    job.attempts += 1
    job.state = "running"
    return job


async def finish(conn: AsyncConnection, job_id: int, worker: str, now: datetime) -> None:
    await conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.locked_by == worker)
        .values(state="done", finished_at=now, locked_by=None, locked_until=None)
    )


async def retry_later(
    conn: AsyncConnection, job_id: int, worker: str, run_after: datetime, error: str
) -> None:
    await conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.locked_by == worker)
        .values(
            state="queued",
            run_after=run_after,
            last_error=error,
            locked_by=None,
            locked_until=None,
        )
    )


async def give_up(
    conn: AsyncConnection, job_id: int, worker: str, now: datetime, error: str
) -> None:
    await conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.locked_by == worker)
        .values(
            state="failed", last_error=error, finished_at=now, locked_by=None, locked_until=None
        )
    )


async def extend_lease(
    conn: AsyncConnection, job_id: int, worker: str, lease_until: datetime
) -> None:
    await conn.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.locked_by == worker, jobs.c.state == "running")
        .values(locked_until=lease_until)
    )


async def job_by_id(conn: AsyncConnection, job_id: int) -> JobRow | None:
    row = (await conn.execute(sa.select(*_columns).where(jobs.c.id == job_id))).first()
    return msgspec.convert(row, JobRow, from_attributes=True) if row else None


async def pending_payloads(conn: AsyncConnection, kind: str) -> list[str]:
    """Payloads of this kind's jobs not yet finished (queued, or running under a lease)."""
    rows = await conn.execute(
        sa.select(jobs.c.payload).where(
            jobs.c.kind == kind, jobs.c.state.in_(("queued", "running"))
        )
    )
    return [r.payload for r in rows]


async def counts(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state))
    return {r[0]: int(r[1]) for r in rows}


def as_payload(value: dict[str, Any]) -> str:
    """Canonical JSON, so the same work always has the same payload text."""
    return msgspec.json.encode(dict(sorted(value.items()))).decode()
