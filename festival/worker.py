"""Background work: the standing jobs every deployment needs, and ``festival worker``.

On one machine the web process runs the job loop itself (``FESTIVAL_RUN_JOBS=true``).
With several app instances the loop moves to one or more ``festival worker`` processes,
so a rendition never competes with requests for the app's CPU and a restart of the web
tier never cuts a job short. Jobs live in the database, so any number of workers may run
side by side: each claim takes one job (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
serialised writer on SQLite).

A worker asked to stop (SIGTERM, SIGINT) claims nothing more and gives the job in hand
``grace`` seconds to finish. A job still running after that is cancelled and put back
in the queue at once, so another worker takes it now rather than when its lease runs
out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from festival.app import build_clip_services
from festival.clips import service as clip_service
from festival.consent import service as consent_service
from festival.db import job_queries
from festival.db.engine import Database
from festival.health import Health
from festival.health import check as check_health
from festival.jobs import Handler, Jobs
from festival.settings import Settings
from festival.timeline import search

log = logging.getLogger("festival.worker")
GRACE = 30.0  # seconds; the compose file gives the worker longer than this to stop


async def queue_standing_jobs(db: Database, jobs: Jobs) -> None:
    """Queue the jobs that keep themselves going: expiring abandoned uploads, the consent
    sweep (end dates, withdrawals) and, after an upgrade that needs it, a search rebuild.

    Every process that runs jobs calls this at start. The queue keeps one pending job per
    kind and payload, so several processes starting together still queue each once.
    """
    await jobs.enqueue(clip_service.EXPIRE_UPLOADS, {})
    await jobs.enqueue(consent_service.SWEEP, {})
    async with db.read() as conn:
        if await search.needs_rebuild(conn):
            await jobs.enqueue(search.REINDEX, {})


async def start_background_work(db: Database, jobs: Jobs) -> None:
    """Queue the standing jobs and run the job loop inside this (web) process."""
    await queue_standing_jobs(db, jobs)
    jobs.start()


class _InHand:
    """Remembers a job cut short by shutdown, so it can be handed back to the queue.

    The queue's handlers see only the payload; since one job of a kind and payload is
    pending at a time, kind and payload find the job's row again.
    """

    def __init__(self) -> None:
        self.cut_short: tuple[str, dict[str, Any]] | None = None

    def watch(self, kind: str, handler: Handler) -> Handler:
        async def run(payload: dict[str, Any]) -> None:
            try:
                await handler(payload)
            except asyncio.CancelledError:
                self.cut_short = (kind, payload)
                raise

        return run


async def _release(jobs: Jobs, kind: str, payload: dict[str, Any]) -> None:
    """Put a job this worker holds back in the queue, ready now.

    Only a row still locked by this worker changes, so a job another worker has since
    taken is left alone. The attempt it used counts, which at worst gives a job that
    keeps being interrupted one try fewer.
    """
    now = datetime.now(UTC)
    async with jobs.db.write() as conn:
        job_id = await job_queries.pending_job(conn, kind, job_queries.as_payload(payload))
        if job_id is not None:
            await job_queries.retry_later(
                conn,
                job_id,
                jobs.worker,
                now,
                f"the worker was stopped at {now:%Y-%m-%d %H:%M:%S} UTC before this job "
                "finished; it was handed back to the queue",
            )
            log.info("handed job %s (%s) back to the queue", job_id, kind)


async def _claim_and_run(jobs: Jobs, stop: asyncio.Event) -> None:
    """Run ready jobs one at a time until ``stop`` is set; between jobs, wait for work."""
    while not stop.is_set():
        try:
            ran = await jobs.run_one()
        except Exception:
            # A lost database connection, say: the next round tries again.
            log.exception("the job worker hit an error; carrying on")
            ran = False
        if not ran:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=jobs.poll_interval)


async def work_until(jobs: Jobs, stop: asyncio.Event, *, grace: float = GRACE) -> None:
    """Run ``jobs``' handlers until ``stop`` is set, then finish or hand back the job in
    hand within ``grace`` seconds."""
    in_hand = _InHand()
    originals = dict(jobs.handlers)
    for kind, handler in originals.items():
        jobs.handlers[kind] = in_hand.watch(kind, handler)
    loop = asyncio.create_task(_claim_and_run(jobs, stop), name="festival-worker")
    try:
        await stop.wait()
        log.info("stopping: no new jobs; the job in hand has %.0f s to finish", grace)
        done, _ = await asyncio.wait({loop}, timeout=grace)
        if not done:
            loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop
        if in_hand.cut_short is not None:
            await _release(jobs, *in_hand.cut_short)
    finally:
        if not loop.done():  # this coroutine itself was cancelled
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
        jobs.handlers.update(originals)


async def run_worker(settings: Settings, stop: asyncio.Event, *, grace: float = GRACE) -> None:
    """Open the database and the media store, register every job handler, queue the
    standing jobs and work until ``stop`` is set."""
    if settings.media_url.startswith("file://"):
        settings.media_root.mkdir(parents=True, exist_ok=True)
    db = Database.open(settings.database_url)
    try:
        jobs = Jobs(db, lease=timedelta(seconds=settings.job_lease_seconds))
        build_clip_services(settings, db, jobs)
        await queue_standing_jobs(db, jobs)
        log.info("worker %s started; it runs %s", jobs.worker, ", ".join(sorted(jobs.handlers)))
        await work_until(jobs, stop, grace=grace)
        log.info("worker %s stopped", jobs.worker)
    finally:
        await db.close()


async def check(settings: Settings) -> Health:
    """Whether a worker with these settings reaches its database and media store: the
    container health check of a process that serves no HTTP."""
    db = Database.open(settings.database_url)
    try:
        return await check_health(db, settings)
    finally:
        await db.close()
