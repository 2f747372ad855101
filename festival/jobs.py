"""Background jobs kept in the database: they survive restarts and are claimed once.

A job is a kind, a JSON payload and a handler registered for that kind. Workers claim
a job with a lease; a worker that dies lets its lease run out and the job is claimed
again. A handler that raises is retried with exponential back-off until its attempts
run out; :class:`Permanent` ends it at once (a file that will never be a video).
Handlers must therefore be idempotent: running one twice leaves the same result.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from festival.db import job_queries
from festival.db.engine import Database

log = logging.getLogger("festival.jobs")
Handler = Callable[[dict[str, Any]], Awaitable[None]]
LEASE = timedelta(seconds=60)  # kept alive by a heartbeat while the handler runs
# A job whose worker died (kill -9, a lost machine) waits this long before another worker
# takes it, so the default is generous; FESTIVAL_JOB_LEASE_SECONDS shortens it (tests).
BACKOFF_BASE = 2.0  # seconds; doubles with each attempt
BACKOFF_MAX = 15 * 60.0


class Permanent(Exception):
    """A failure that retrying cannot mend."""


class Jobs:
    """The queue and its worker loop for one process."""

    def __init__(
        self, db: Database, *, poll_interval: float = 1.0, lease: timedelta = LEASE
    ) -> None:
        self.db = db
        self.lease = lease
        self.handlers: dict[str, Handler] = {}
        self.worker = f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.poll_interval = poll_interval
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    async def enqueue(
        self,
        kind: str,
        payload: dict[str, Any],
        *,
        delay: float = 0,
        max_attempts: int = 5,
        unique: bool = True,
        again: bool = False,
    ) -> int:
        """Queue a job; with ``unique``, not if the same job is already waiting or running.
        A waiting copy then starts at the earlier of its time and this one: a process
        starting up asks for the upload sweep now, not when the last one planned it.

        ``again`` is for a standing job queuing its own next run from inside its
        handler: only a waiting copy counts then, since the running one is itself.
        """
        text = job_queries.as_payload(payload)
        states = ("queued",) if again else ("queued", "running")
        run_after = datetime.now(UTC) + timedelta(seconds=delay)
        async with self.db.write() as conn:
            if unique:
                existing = await job_queries.pending_job(conn, kind, text, states)
                if existing is not None:
                    await job_queries.bring_forward(conn, existing, run_after)
                    if delay <= 0:
                        self._wake.set()
                    return existing
            job_id = await job_queries.insert_job(conn, kind, text, run_after, max_attempts)
        self._wake.set()
        return job_id

    async def run_one(self) -> bool:
        """Claim and run one ready job; False when there was none."""
        now = datetime.now(UTC)
        async with self.db.write(exclusive=False) as conn:
            job = await job_queries.claim(
                conn, self.worker, now, now + self.lease, sorted(self.handlers)
            )
        if job is None:
            return False
        payload = msgspec.json.decode(job.payload)
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        try:
            await self.handlers[job.kind](payload)
        except Exception as error:  # every failure is recorded against the job
            message = f"{type(error).__name__}: {error}"[:2000]
            done = isinstance(error, Permanent) or job.attempts >= job.max_attempts
            if not isinstance(error, Permanent):
                log.warning("job %s (%s) failed: %s", job.id, job.kind, message)
            async with self.db.write(exclusive=False) as conn:
                if done:
                    await job_queries.give_up(conn, job.id, self.worker, datetime.now(UTC), message)
                else:
                    wait = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (job.attempts - 1))
                    await job_queries.retry_later(
                        conn,
                        job.id,
                        self.worker,
                        datetime.now(UTC) + timedelta(seconds=wait),
                        message,
                    )
            return True
        finally:
            heartbeat.cancel()
        async with self.db.write(exclusive=False) as conn:
            await job_queries.finish(conn, job.id, self.worker, datetime.now(UTC))
        return True

    async def _heartbeat(self, job_id: int) -> None:
        """Extend the lease while a long job (a rendition, say) is still working."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 3)
            async with self.db.write(exclusive=False) as conn:
                await job_queries.extend_lease(
                    conn, job_id, self.worker, datetime.now(UTC) + self.lease
                )

    async def run_until_idle(self) -> None:
        """Run every ready job, then return: for tests and one-shot commands."""
        while await self.run_one():
            pass

    async def _loop(self) -> None:
        while not self._stopping:
            # Cleared before looking, so work queued while we look is never missed.
            self._wake.clear()
            try:
                ran = await self.run_one()
            except Exception:
                log.exception("the job worker hit an error; carrying on")
                ran = False
            if ran:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self.poll_interval)

    def start(self) -> None:
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self._loop(), name="festival-jobs")

    async def stop(self) -> None:
        """Stop claiming; a job in progress finishes or is cancelled and later re-run."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
