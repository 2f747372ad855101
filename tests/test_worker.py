"""`festival worker`: background jobs in their own processes, beside app instances that
run none. Workers share the queue without running a job twice, and SIGTERM stops one
cleanly: the job in hand finishes, or is handed back for another worker at once."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import AsyncTestClient

from festival.accounts.service import create_or_update_staff, new_api_token
from festival.app import create_app
from festival.db import job_queries
from festival.db.engine import Database
from festival.db.tables import jobs as jobs_table
from festival.jobs import Jobs
from festival.settings import Settings
from festival.worker import work_until
from tests.clips.helpers import create, path_of, send
from tests.conftest import NewDatabase, make_settings
from tests.crew.helpers import Crew
from tests.media import clips as make

SECRET = "worker-test-secret-" + "x" * 40
CLIPS = 3


def _env(data_dir: Path, database_url: str = "") -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
    env.update(
        FESTIVAL_DATA_DIR=str(data_dir),
        FESTIVAL_BASE_URL="http://festival.test",
        FESTIVAL_SECRET_KEY=SECRET,
    )
    if database_url:
        env["FESTIVAL_DATABASE_URL"] = database_url
    return env


def _rows(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """What the workers left in the database, read from outside as an operator would."""

    async def read() -> list[tuple[Any, ...]]:
        db = Database.open(database_url)
        try:
            async with db.read() as conn:
                return [tuple(row) for row in await conn.execute(sa.text(sql))]
        finally:
            await db.close()

    return asyncio.run(read())


async def _upload_clips(settings: Settings, videos: list[bytes]) -> None:
    """A volunteer uploads clips through an app that runs no jobs, as app instances do
    when workers run beside them."""
    db = Database.open(settings.database_url)
    try:
        await create_or_update_staff(db, "lead@festival.test", "a long enough password", "Lead")
        staff = {"Authorization": f"Bearer {await new_api_token(db, 'lead@festival.test')}"}
    finally:
        await db.close()
    async with AsyncTestClient(create_app(settings), base_url="http://festival.test") as client:
        crew = await Crew(client, staff).setup()
        ada = (await crew.volunteer("ada@crew.test"))["headers"]
        for video in videos:
            path = path_of(await create(client, ada, len(video)))
            await send(client, ada, path, 0, video)


def test_worker_help_names_the_command_and_its_grace() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "festival", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert listed.returncode == 0, listed.stderr
    assert "worker" in listed.stdout
    helped = subprocess.run(
        [sys.executable, "-m", "festival", "worker", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert helped.returncode == 0, helped.stderr
    assert "--grace SECONDS" in helped.stdout
    assert "FESTIVAL_RUN_JOBS=false" in helped.stdout


def test_worker_check_says_whether_the_database_and_media_answer(
    tmp_path: Path, migrated_db: Path
) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir()
    shutil.copy(migrated_db, data_dir / "festival.db")
    (data_dir / "media").mkdir()  # made by the first app or worker to start

    def check(**extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "festival", "worker", "--check"],
            env={**_env(data_dir), **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    healthy = check()
    assert (healthy.returncode, healthy.stdout) == (0, "database ok, media ok\n"), healthy.stderr
    # Nothing listens on port 1: the database cannot be reached.
    unreachable = check(FESTIVAL_DATABASE_URL="postgresql+asyncpg://festival:x@127.0.0.1:1/f")
    assert unreachable.returncode == 1, unreachable.stderr
    assert "database unreachable" in unreachable.stdout


@pytest.mark.slow
def test_two_workers_process_uploads_once_each_and_stop_on_sigterm(
    tmp_path: Path, new_database: NewDatabase
) -> None:
    data_dir = tmp_path / "var"
    url = new_database(data_dir)  # SQLite or PostgreSQL, as the run asks
    settings = make_settings(data_dir, secret_key=SECRET, database_url=url)
    videos = [
        make.portrait_h264_mp4(tmp_path / f"phone-{n}.mp4", seconds=1 + n).read_bytes()
        for n in range(CLIPS)
    ]
    asyncio.run(_upload_clips(settings, videos))
    assert _rows(url, "SELECT state FROM clips") == [("processing",)] * CLIPS
    assert _rows(
        url, "SELECT count(*) FROM jobs WHERE kind = 'process-clip' AND state = 'queued'"
    ) == [(CLIPS,)]

    logs = [tmp_path / f"worker-{n}.log" for n in range(2)]
    workers: list[subprocess.Popen[bytes]] = []
    for log in logs:
        with log.open("w") as out:  # the worker keeps its own copy of the file
            workers.append(
                subprocess.Popen(
                    [sys.executable, "-m", "festival", "worker"],
                    env=_env(data_dir, url),
                    stdout=subprocess.DEVNULL,
                    stderr=out,
                    start_new_session=True,
                )
            )
    try:
        deadline = time.monotonic() + 120
        while _rows(url, "SELECT count(*) FROM clips WHERE state = 'processing'") != [(0,)]:
            for worker in workers:
                assert worker.poll() is None, "a worker stopped by itself"
            assert time.monotonic() < deadline, _rows(url, "SELECT id, state FROM clips")
            time.sleep(0.25)

        clips = _rows(url, "SELECT state, poster_key, rendition_key FROM clips")
        assert [c[0] for c in clips] == ["ready"] * CLIPS, clips
        assert all(c[1] and c[2] for c in clips), "posters and renditions were made"
        for _, poster, rendition in clips:
            assert (data_dir / "media" / poster).is_file()
            assert (data_dir / "media" / rendition).is_file()
        # Each job was claimed once, by one of the two workers: neither ran it again.
        assert (
            _rows(url, "SELECT state, attempts, locked_by FROM jobs WHERE kind = 'process-clip'")
            == [("done", 1, None)] * CLIPS
        )
        # The workers queued the standing jobs, which ran too (once, though both asked),
        # and each queued its own next run.
        standing = _rows(
            url,
            "SELECT kind, state, attempts FROM jobs"
            " WHERE kind IN ('expire-uploads', 'consent-sweep') ORDER BY kind, state",
        )
        assert standing == [
            ("consent-sweep", "done", 1),
            ("consent-sweep", "queued", 0),
            ("expire-uploads", "done", 1),
            ("expire-uploads", "queued", 0),
        ]

        asked = time.monotonic()
        for worker in workers:
            os.killpg(worker.pid, signal.SIGTERM)
        for worker, log in zip(workers, logs, strict=True):
            assert worker.wait(timeout=20) == 0, log.read_text()
            assert "stopped" in log.read_text()
        assert time.monotonic() - asked < 10, "an idle worker stops promptly"
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=10)


async def _job(db: Database, job_id: int) -> tuple[job_queries.JobRow, str | None]:
    async with db.read() as conn:
        row = await job_queries.job_by_id(conn, job_id)
        locked_by: str | None = (
            await conn.execute(sa.select(jobs_table.c.locked_by).where(jobs_table.c.id == job_id))
        ).scalar_one()
    assert row is not None
    return row, locked_by


async def test_stopping_lets_the_job_in_hand_finish_and_claims_no_more(db: Database) -> None:
    started = asyncio.Event()
    finished: list[int] = []

    async def render(payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.append(int(payload["n"]))

    jobs = Jobs(db, poll_interval=0.05)
    jobs.register("render", render)
    first = await jobs.enqueue("render", {"n": 1})
    second = await jobs.enqueue("render", {"n": 2})
    stop = asyncio.Event()
    working = asyncio.create_task(work_until(jobs, stop, grace=10))
    await asyncio.wait_for(started.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(working, timeout=10)

    assert finished == [1]
    assert (await _job(db, first))[0].state == "done"
    assert (await _job(db, second))[0].state == "queued", "nothing is claimed after the stop"
    assert jobs.handlers["render"] is render, "the queue is left as it was found"


async def test_a_job_still_running_after_the_grace_goes_back_to_the_queue_at_once(
    db: Database,
) -> None:
    started = asyncio.Event()

    async def stuck(payload: dict[str, Any]) -> None:
        started.set()
        await asyncio.Event().wait()

    jobs = Jobs(db, poll_interval=0.05)  # the default lease: a minute
    jobs.register("render", stuck)
    job_id = await jobs.enqueue("render", {"clip_id": 7})
    stop = asyncio.Event()
    working = asyncio.create_task(work_until(jobs, stop, grace=0.2))
    await asyncio.wait_for(started.wait(), timeout=10)
    stop.set()
    await asyncio.wait_for(working, timeout=10)

    row, locked_by = await _job(db, job_id)
    assert (row.state, locked_by) == ("queued", None)
    assert row.run_after <= datetime.now(UTC)
    assert "stopped" in row.last_error and "handed back" in row.last_error

    # Another worker takes it now, not a minute later when the lease would have run out.
    done: list[dict[str, Any]] = []

    async def render(payload: dict[str, Any]) -> None:
        done.append(payload)

    other = Jobs(db)
    other.register("render", render)
    assert await other.run_one()
    assert done == [{"clip_id": 7}]
    assert (await _job(db, job_id))[0].state == "done"
