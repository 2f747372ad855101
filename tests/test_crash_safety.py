"""The server is killed (kill -9) while 20 phones upload and a rendition runs, then started
again on the same data directory. Every upload resumes from the offset the server had
acknowledged and finishes with the right SHA-256, every job finishes (a dead worker's
lease runs out and the job is taken again), the database is intact (SQLite's integrity
check; on PostgreSQL, which the kill does not touch, the database answers and amcheck
finds every table and index consistent), and nothing is left behind in the media store or
the work folder."""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from festival.db.engine import Database
from festival.programme.schemas import FestivalIn
from festival.programme.service import create_festival
from tests.clips.helpers import OCTETS, TUS, metadata
from tests.conftest import NewDatabase, run_async
from tests.media import clips as make

pytestmark = pytest.mark.slow
UPLOADS = 20
PADDING = 3 * 1024 * 1024  # each upload is a few MB, so the kill finds it mid-way
FIRST = 1024 * 1024  # acknowledged before the crash
CHUNK = 64 * 1024
LEASE_SECONDS = "2"  # a dead worker's job is taken again after this, not after a minute
SECRET = "crash-test-secret-" + "x" * 40


class Server:
    """`python -m festival serve` as its own process, as operators run it."""

    def __init__(
        self,
        data_dir: Path,
        database_url: str | None = None,
        *,
        base_url: str = "",
        secret_key: str | None = SECRET,
    ) -> None:
        self.data_dir = data_dir
        self.database_url = database_url  # None: festival.db in the data directory
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.base_url = base_url or self.url
        self.secret_key = secret_key  # None: the one kept in the data directory
        self.process: subprocess.Popen[bytes] | None = None

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
        env.update(
            FESTIVAL_DATA_DIR=str(self.data_dir),
            FESTIVAL_BASE_URL=self.base_url,
            FESTIVAL_RUN_JOBS="true",
            FESTIVAL_JOB_LEASE_SECONDS=LEASE_SECONDS,
        )
        if self.database_url is not None:
            env["FESTIVAL_DATABASE_URL"] = self.database_url
        if self.secret_key is not None:
            env["FESTIVAL_SECRET_KEY"] = self.secret_key
        return env

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A `festival` command over the same data directory and settings."""
        return subprocess.run(
            [sys.executable, "-m", "festival", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def command(self, *args: str) -> str:
        done = self.run(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "festival", "serve", "--port", str(self.port)],
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "the server stopped while starting"
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("the server did not start")

    def kill(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "var"


@pytest.fixture
def database_url(data_dir: Path, new_database: NewDatabase) -> str:
    return new_database(data_dir)


@pytest.fixture
def server(data_dir: Path, database_url: str) -> Iterator[Server]:
    live = Server(data_dir, database_url)
    yield live
    live.stop()


def _padded(base: bytes, n: int) -> bytes:
    """A real clip followed by an MP4 `free` box of distinct bytes: a valid file of a few
    MB whose rendition is quick, with a SHA-256 of its own."""
    filler = hashlib.sha256(str(n).encode()).digest() * (PADDING // 32)
    return base + struct.pack(">I", len(filler) + 8) + b"free" + filler


async def _query(database_url: str, sql: str) -> list[tuple[object, ...]]:
    db = Database.open(database_url)
    try:
        async with db.read() as conn:
            return [tuple(row) for row in await conn.exec_driver_sql(sql)]
    finally:
        await db.close()


def _db_rows(database_url: str, sql: str) -> list[tuple[object, ...]]:
    return run_async(_query(database_url, sql))


async def _corruption(database_url: str) -> list[str]:
    """What the engine's own checks find wrong: SQLite's integrity check, or PostgreSQL's
    amcheck over every table (heap pages) and every B-tree index (each against its
    table, so every row is found in every index)."""
    db = Database.open(database_url)
    try:
        if db.dialect == "sqlite":
            async with db.read() as conn:
                found = [str(r) for (r,) in await conn.exec_driver_sql("PRAGMA integrity_check")]
            return [] if found == ["ok"] else found
        async with db.write() as conn:
            await conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS amcheck")
        async with db.read() as conn:
            tables = (
                await conn.exec_driver_sql(
                    "SELECT c.oid, c.relname FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname = 'public' AND c.relkind = 'r'"
                )
            ).all()
            indexes = (
                await conn.exec_driver_sql(
                    "SELECT c.oid, c.relname FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " JOIN pg_am am ON am.oid = c.relam"
                    " WHERE n.nspname = 'public' AND c.relkind = 'i' AND am.amname = 'btree'"
                )
            ).all()
            assert tables and indexes
            problems: list[str] = []
            for oid, name in tables:
                for row in await conn.exec_driver_sql(
                    f"SELECT blkno, offnum, msg FROM verify_heapam({oid})"
                ):
                    problems.append(f"{name}: {tuple(row)}")
            for oid, _ in indexes:
                # Raises, naming the index and what is wrong, at the first corruption.
                await conn.exec_driver_sql(f"SELECT bt_index_check({oid}, true)")
            return problems
    finally:
        await db.close()


async def _trickle(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), CHUNK):
        yield data[start : start + CHUNK]
        await asyncio.sleep(0.1)


async def _crash_part_way(
    server: Server, database_url: str, auth: dict[str, str], files: list[bytes], long_clip: bytes
) -> list[str]:
    """Start 20 uploads and one rendition, and kill the server in the middle of both."""
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as client:

        async def create(data: bytes, name: str) -> str:
            made = await client.post(
                "/api/v1/uploads",
                headers={
                    **auth,
                    **TUS,
                    "Upload-Length": str(len(data)),
                    "Upload-Metadata": metadata(filename=name, filetype="video/mp4"),
                },
            )
            assert made.status_code == 201, made.text
            return str(made.headers["location"])

        async def patch(url: str, offset: int, body: bytes | AsyncIterator[bytes]) -> int:
            sent = await client.patch(
                url,
                content=body,
                headers={**auth, **TUS, "Upload-Offset": str(offset), "Content-Type": OCTETS},
            )
            assert sent.status_code == 204, sent.text
            return int(sent.headers["upload-offset"])

        urls = await asyncio.gather(*(create(f, f"phone-{n}.mp4") for n, f in enumerate(files)))
        assert (
            await asyncio.gather(
                *(patch(u, 0, f[:FIRST]) for u, f in zip(urls, files, strict=True))
            )
            == [FIRST] * UPLOADS
        )
        rest = [
            asyncio.create_task(patch(u, FIRST, _trickle(f[FIRST:])))
            for u, f in zip(urls, files, strict=True)
        ]
        long_url = await create(long_clip, "long.mp4")
        assert await patch(long_url, 0, long_clip) == len(long_clip)
        deadline = time.monotonic() + 20
        while not await _query(
            database_url,
            "SELECT 1 FROM jobs WHERE kind = 'process-clip' AND state = 'running'",
        ):
            assert time.monotonic() < deadline, "no rendition job started"
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.3)  # well into the work, with uploads still streaming
        server.kill()
        outcomes = await asyncio.gather(*rest, return_exceptions=True)
    assert any(isinstance(o, BaseException) for o in outcomes), "the kill came part-way"
    return [*urls, long_url]


async def _resume_all(
    server: Server, auth: dict[str, str], urls: list[str], files: list[bytes]
) -> None:
    async with httpx.AsyncClient(timeout=60) as client:

        async def resume(url: str, data: bytes) -> None:
            url = url.replace(url.split("/api/")[0], server.url)
            head = await client.head(url, headers={**auth, **TUS})
            assert head.status_code == 200, head.text
            offset = int(head.headers["upload-offset"])
            assert FIRST <= offset <= len(data), "HEAD gives the acknowledged offset"
            if offset < len(data):
                sent = await client.patch(
                    url,
                    content=data[offset:],
                    headers={**auth, **TUS, "Upload-Offset": str(offset), "Content-Type": OCTETS},
                )
                assert sent.status_code == 204, sent.text
                assert sent.headers["upload-offset"] == str(len(data))

        await asyncio.gather(*(resume(u, f) for u, f in zip(urls, files, strict=True)))


async def _all_ready(server: Server, auth: dict[str, str], count: int) -> list[dict[str, object]]:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        deadline = time.monotonic() + 60
        while True:
            mine = (await client.get("/api/v1/my-clips", headers=auth)).json()
            clips = mine["clips"]
            if len(clips) == count and all(c["state"] != "processing" for c in clips):
                return list(clips)
            assert time.monotonic() < deadline, [(c["id"], c["state"]) for c in clips]
            await asyncio.sleep(0.25)


def test_uploads_and_jobs_survive_kill_9(
    server: Server, data_dir: Path, database_url: str, tmp_path: Path
) -> None:
    async def festival() -> None:
        db = Database.open(database_url)
        today = datetime.now(UTC).date()
        try:
            await create_festival(
                db,
                FestivalIn(
                    slug="crash-fest",
                    name="Crash Festival",
                    starts_on=today - timedelta(days=1),
                    ends_on=today + timedelta(days=1),
                ),
            )
        finally:
            await db.close()

    run_async(festival())
    link = server.command("invite-volunteer", "ada@crew.test", "--festival", "crash-fest")
    auth = {"Authorization": f"Bearer {link.strip().rsplit('/', 1)[1]}"}
    base = make.portrait_h264_mp4(tmp_path / "short.mp4", seconds=1).read_bytes()
    files = [_padded(base, n) for n in range(UPLOADS)]
    long_clip = make.landscape_h264_mp4(
        tmp_path / "long.mp4", seconds=8, coded_size=(640, 360)
    ).read_bytes()
    everything = [*files, long_clip]

    server.start()
    urls = asyncio.run(_crash_part_way(server, database_url, auth, files, long_clip))
    assert _db_rows(database_url, "SELECT count(*) FROM jobs WHERE state = 'running'")[0][0] >= 1

    server.start()  # on the same data directory
    asyncio.run(_resume_all(server, auth, urls, everything))
    clips = asyncio.run(_all_ready(server, auth, len(everything)))
    server.stop()

    media = data_dir / "media"
    by_sha = {hashlib.sha256(f).hexdigest(): f for f in everything}
    assert sorted(str(c["original_sha256"]) for c in clips) == sorted(by_sha)
    assert [c["state"] for c in clips] == ["ready"] * len(everything), clips
    stored = _db_rows(database_url, "SELECT original_key, original_sha256 FROM clips")
    for key, sha in stored:
        assert hashlib.sha256((media / str(key)).read_bytes()).hexdigest() == sha
    assert _db_rows(
        database_url,
        "SELECT count(*) FROM jobs WHERE state IN ('queued', 'running') AND kind = 'process-clip'",
    ) == [(0,)]
    assert _db_rows(database_url, "SELECT count(*) FROM jobs WHERE state = 'failed'") == [(0,)]
    assert run_async(_corruption(database_url)) == []

    # Nothing is left behind: every file in the store belongs to a clip, no temporaries,
    # no scratch, and fsck agrees.
    files_in_store = {p.relative_to(media).as_posix() for p in media.rglob("*") if p.is_file()}
    keys = {
        str(k)
        for row in _db_rows(
            database_url, "SELECT original_key, poster_key, thumb_key, rendition_key FROM clips"
        )
        for k in row
    }
    assert files_in_store == keys
    assert not (data_dir / "work").exists() or list((data_dir / "work").iterdir()) == []
    assert server.command("fsck", "--grace", "0") == "The database and the media store agree.\n"
