"""`festival migrate-storage`: a festival on one machine (SQLite and a media folder) moves
to PostgreSQL and S3 (SeaweedFS), run as operators run it, and carries on there: the same
timeline, the same bytes, search, an upload resumed where it stopped, and new ids above
the old ones. The source is only read. Refusals leave the target as it was."""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import obstore
import pytest

from festival.accounts.service import create_or_update_staff, new_api_token
from festival.app import create_app
from festival.clips import queries as clip_queries
from festival.db import copy_queries
from festival.db.engine import Database
from festival.db.migrate import migrate
from festival.settings import load_settings
from media.storage import LocalStore
from media.tus import UploadState
from tests import postgres_server
from tests.app_client import AppClient
from tests.clips.helpers import TUS, create, path_of, send
from tests.consent.helpers import ready_clip, token_of
from tests.crew.helpers import Crew
from tests.media import clips as make
from tests.s3_server import SeaweedS3, raw_keys
from tests.timeline.helpers import TIMELINE, published_clip

pytestmark = [
    pytest.mark.slow,  # PostgreSQL, SeaweedFS, videos and subprocesses
    # The source is always the one-machine set-up and the PostgreSQL target is made here,
    # so a run on PostgreSQL would only repeat the same tests.
    pytest.mark.sqlite_only("moves from SQLite, into a PostgreSQL database made here"),
]

SOURCE_ENV = {
    "FESTIVAL_BASE_URL": "http://festival.test",
    "FESTIVAL_SECRET_KEY": "migrate-storage-secret-" + "x" * 40,
    "FESTIVAL_RUN_JOBS": "false",
}


def source_env(data_dir: Path) -> dict[str, str]:
    return {**SOURCE_ENV, "FESTIVAL_DATA_DIR": str(data_dir)}


def festival(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """The command as an operator runs it: a process with the source's environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
    return subprocess.run(
        [sys.executable, "-m", "festival", *args],
        capture_output=True,
        text=True,
        env={**clean, **env},
        timeout=300,
        check=False,
    )


async def run_festival(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(festival, env, *args)


def fingerprint(*paths: Path) -> dict[str, str]:
    """SHA-256 of every file under ``paths`` (files or folders), by path."""
    found: dict[str, str] = {}
    for path in paths:
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for file in files:
            found[str(file)] = hashlib.sha256(file.read_bytes()).hexdigest()
    return found


def write_env_file(path: Path, values: dict[str, str]) -> Path:
    lines = ["# the new deployment", ""] + [f"FESTIVAL_{k.upper()}={v}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
async def empty_postgres() -> AsyncIterator[str]:
    """A PostgreSQL database with nothing in it, not even the schema."""
    name = f"migrate_{uuid.uuid4().hex}"
    url = await postgres_server.create_database(name)
    yield url
    await postgres_server.drop_database(name)


@pytest.fixture
def single_machine(tmp_path: Path, migrated_db: Path) -> Path:
    """The data folder of a festival on one machine: a migrated SQLite file."""
    data_dir = tmp_path / "single"
    (data_dir / "media").mkdir(parents=True)
    shutil.copy(migrated_db, data_dir / "festival.db")
    return data_dir


async def total_rows(url: str) -> int:
    db = Database.open(url)
    try:
        async with db.read() as conn:
            counts = [await copy_queries.row_count(conn, t) for t in copy_queries.copied_tables()]
            return sum(counts) + await copy_queries.search_count(conn)
    finally:
        await db.close()


async def test_a_festival_moves_to_postgresql_and_s3_and_carries_on_there(
    single_machine: Path,
    tmp_path: Path,
    empty_postgres: str,
    s3_server: SeaweedS3,
    s3_bucket: str,
    s3_media: dict[str, str],
) -> None:
    data_dir = single_machine
    source = load_settings(source_env(data_dir))
    videos = tmp_path / "videos"
    videos.mkdir()

    # --- the festival on one machine --------------------------------------------------
    db = Database.open(source.database_url)
    await create_or_update_staff(db, "lead@festival.test", "a long enough password", "Lead")
    staff = {"Authorization": f"Bearer {await new_api_token(db, 'lead@festival.test')}"}
    await db.close()
    app = create_app(source)
    async with AppClient(app) as client:
        crew = await Crew(client, staff).setup()  # type: ignore[arg-type]
        ada = (await crew.volunteer("ada@crew.test", name="Ada Lovelace"))["headers"]
        shown = await published_clip(crew, app, ada, videos)
        shown_id = shown["clip"]["id"]
        gone = await published_clip(crew, app, ada, videos)
        withdrawn = await client.post(f"/api/v1/consent/{token_of(gone['consent'])}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text
        # A clip deleted outright: its id is above every clip left, and must not come back.
        deleted = await ready_clip(client, app, ada, videos)
        removed = await client.delete(f"/api/v1/clips/{deleted['id']}", headers=ada)
        assert removed.status_code == 204, removed.text
        await app.state.jobs.run_until_idle()

        # A phone half way through sending a video.
        video = make.portrait_h264_mp4(videos / "phone.mp4").read_bytes()
        half = len(video) // 2
        upload = path_of(await create(client, ada, len(video)))
        await send(client, ada, upload, 0, video[:half])

        timeline = (await client.get(TIMELINE)).json()
        assert [i["id"] for d in timeline["days"] for i in d["items"]] == [shown_id]
        video_url = timeline["days"][0]["items"][0]["video_url"]
        rendition = (await client.get(video_url)).content
        assert len(rendition) > 2000
        found = (await client.get(f"{TIMELINE}?q=hello")).json()
        assert [i["id"] for d in found["days"] for i in d["items"]] == [shown_id]

    before = fingerprint(data_dir / "festival.db", data_dir / "media")
    assert any("/originals/" in path for path in before)

    # --- the move -----------------------------------------------------------------------
    target_file = write_env_file(
        tmp_path / "target.env", {"database_url": empty_postgres, **s3_media}
    )
    moved = await run_festival(source_env(data_dir), "migrate-storage", "--to", str(target_file))
    assert moved.returncode == 0, moved.stderr
    report = moved.stdout.splitlines()
    assert "table clips: 2 rows" in report, report  # the deleted clip is gone for good
    assert "table uploads: 3 rows" in report, report  # two finished, one in progress
    assert "table clip_search: 1 row" in report, report
    assert any(
        line.startswith("media: copied ") and "1 upload in progress" in line for line in report
    )
    assert fingerprint(data_dir / "festival.db", data_dir / "media") == before

    upload_id = upload.rsplit("/", 1)[1]
    keys = raw_keys(s3_server, s3_bucket)
    assert f"media/.partial/originals/{upload_id}/{0:020d}" in keys, keys
    assert f"media/clips/{shown_id}/web.mp4" in keys, keys
    assert not any(key.startswith(f"media/clips/{gone['clip']['id']}/") for key in keys)

    # --- the festival on PostgreSQL and S3 ---------------------------------------------
    target_env = {
        "FESTIVAL_DATABASE_URL": empty_postgres,
        **{f"FESTIVAL_{k.upper()}": v for k, v in s3_media.items()},
    }
    target = load_settings({**source_env(data_dir), **target_env})
    app = create_app(target)
    async with AppClient(app) as client:
        assert (await client.get(TIMELINE)).json() == timeline
        assert (await client.get(video_url)).content == rendition
        part = await client.get(video_url, headers={"Range": "bytes=100-1099"})
        assert part.status_code == 206, part.text
        assert part.headers["content-range"] == f"bytes 100-1099/{len(rendition)}"
        assert part.content == rendition[100:1100]
        found_there = (await client.get(f"{TIMELINE}?q=hello")).json()
        assert [i["id"] for d in found_there["days"] for i in d["items"]] == [shown_id]

        # The phone asks where it was, sends the rest, and the upload becomes a clip.
        head = await client.head(upload, headers={**ada, **TUS})
        assert head.status_code == 200, head.text
        assert head.headers["upload-offset"] == str(half)
        await send(client, ada, upload, half, video[half:])
        await app.state.jobs.run_until_idle()
        async with app.state.db.read() as conn:
            state = await clip_queries.upload_state(conn, upload_id)
        assert state is not None and state.completed
        assert state.sha256 == hashlib.sha256(video).hexdigest()
        clips = (await client.get("/api/v1/my-clips", headers=ada)).json()["clips"]
        [new] = [c for c in clips if c["id"] not in (shown_id, gone["clip"]["id"])]
        assert new["id"] > deleted["id"], "a deleted clip's id was handed out again"
        assert new["state"] == "ready", new
        assert new["original_sha256"] == hashlib.sha256(video).hexdigest()
        # Deleted again, so the highest clip id lives on only in PostgreSQL's sequence.
        removed = await client.delete(f"/api/v1/clips/{new['id']}", headers=ada)
        assert removed.status_code == 204, removed.text

    assert fingerprint(data_dir / "festival.db", data_dir / "media") == before

    # --- and back to one machine: PostgreSQL and S3 as the source -----------------------
    back_dir = tmp_path / "back"
    back_file = write_env_file(tmp_path / "back.env", {"data_dir": str(back_dir)})
    there = {**source_env(data_dir), **target_env}
    returned = await run_festival(there, "migrate-storage", "--to", str(back_file))
    assert returned.returncode == 0, returned.stderr
    assert "table clips: 2 rows" in returned.stdout.splitlines(), returned.stdout
    with sqlite3.connect(back_dir / "festival.db") as conn:
        [(highest,)] = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'clips'")
    conn.close()
    assert highest == new["id"]
    back = load_settings({"FESTIVAL_DATA_DIR": str(back_dir), **SOURCE_ENV})
    app = create_app(back)
    async with AppClient(app) as client:
        assert (await client.get(TIMELINE)).json() == timeline
        assert (await client.get(video_url)).content == rendition
        original = await client.get(shown["clip"]["original_url"], headers=ada)
        assert original.content == (videos / "clip-0.mp4").read_bytes()


async def test_a_target_holding_data_is_refused_and_left_as_it_was(
    single_machine: Path, tmp_path: Path, empty_postgres: str
) -> None:
    await migrate(empty_postgres)
    target_db = Database.open(empty_postgres)
    try:
        await create_or_update_staff(target_db, "other@festival.test", "a long enough password")
    finally:
        await target_db.close()
    media = tmp_path / "target-media"
    run = await run_festival(
        source_env(single_machine),
        "migrate-storage",
        "--to-database",
        empty_postgres,
        "--to-media",
        media.as_uri(),
    )
    assert run.returncode == 1, run.stderr
    assert (
        "festival: The target database already holds data (1 row in table staff); "
        "migrate into an empty database." in run.stderr
    )
    assert await total_rows(empty_postgres) == 1
    assert not media.exists() or not any(media.iterdir())


async def test_a_bad_line_in_the_target_file_is_refused_by_number(
    single_machine: Path, tmp_path: Path
) -> None:
    target = tmp_path / "target.env"
    target.write_text(
        "# the new deployment\n\nFESTIVAL_MEDIA_URL=file:///srv/media\n"
        "FESTIVAL_S3_SECRET_ACCESS_KEY a-secret\n"
    )
    run = await run_festival(source_env(single_machine), "migrate-storage", "--to", str(target))
    assert run.returncode == 2, run.stderr
    assert f"Line 4 of {target} is not a setting" in run.stderr
    assert "a-secret" not in run.stderr  # a line is never echoed: it may hold a secret
    assert not Path("/srv/media").exists()


async def test_the_source_itself_is_refused_as_a_target(single_machine: Path) -> None:
    env = source_env(single_machine)
    run = await run_festival(
        env,
        "migrate-storage",
        "--to-database",
        f"sqlite+aiosqlite:///{single_machine / 'festival.db'}",
    )
    assert run.returncode == 2, run.stderr
    assert "The target is the source" in run.stderr
    nested = await run_festival(
        env, "migrate-storage", "--to-media", (single_machine / "media" / "inside").as_uri()
    )
    assert nested.returncode == 2, nested.stderr
    assert "lie one inside the other" in nested.stderr
    neither = await run_festival(env, "migrate-storage")
    assert neither.returncode == 2 and "--to FILE" in neither.stderr


async def test_a_failed_copy_commits_nothing_and_a_second_run_starts_afresh(
    single_machine: Path, tmp_path: Path, empty_postgres: str
) -> None:
    # A row SQLite kept although its festival is gone (written with foreign keys off):
    # PostgreSQL refuses it half-way through the copy.
    db_file = single_machine / "festival.db"
    with sqlite3.connect(db_file) as conn:
        conn.execute(
            "INSERT INTO staff (email, name, created_at, updated_at) "
            "VALUES ('lead@festival.test', 'Lead', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
        conn.execute(
            "INSERT INTO venues (festival_id, name, created_at, updated_at) "
            "VALUES (999, 'Nowhere', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
        )
    conn.close()
    args = ("migrate-storage", "--to-database", empty_postgres)
    failed = await run_festival(source_env(single_machine), *args)
    assert failed.returncode == 1, failed.stderr
    assert "Copying table venues failed" in failed.stderr
    assert "Nothing was committed" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert await total_rows(empty_postgres) == 0

    with sqlite3.connect(db_file) as conn:
        conn.execute("DELETE FROM venues WHERE festival_id = 999")
    conn.close()
    again = await run_festival(source_env(single_machine), *args)
    assert again.returncode == 0, again.stderr
    assert "table staff: 1 row" in again.stdout.splitlines()
    assert "media: source and target share the media store; nothing to copy" in again.stdout
    assert await total_rows(empty_postgres) == 1


async def test_only_the_media_moves_when_the_database_stays(
    single_machine: Path,
    tmp_path: Path,
    s3_server: SeaweedS3,
    s3_bucket: str,
    s3_media: dict[str, str],
) -> None:
    """File to S3 with the same SQLite file: an upload in progress whose file holds bytes
    past its acknowledged offset (synced, not yet recorded) keeps them, with a part
    boundary at the offset, where the next PATCH cuts back to."""
    store = LocalStore(single_machine / "media")

    async def chunks(data: bytes) -> AsyncIterator[bytes]:
        yield data

    await store.append("clips/7/web.mp4", chunks(b"finished" * 1000), offset=0)
    upload_id = uuid.uuid4().hex
    await store.append(f"originals/{upload_id}", chunks(b"p" * 3000), offset=0)
    now = datetime.now(UTC)
    db = Database.open(f"sqlite+aiosqlite:///{single_machine / 'festival.db'}")
    try:
        async with db.write() as conn:
            await clip_queries.save_upload_state(
                conn,
                UploadState(
                    id=upload_id,
                    owner="volunteer:1",
                    length=10_000,
                    offset=2000,
                    created_at=now,
                    expires_at=now + timedelta(hours=1),
                ),
            )
    finally:
        await db.close()
    before = fingerprint(single_machine / "festival.db", single_machine / "media")

    target = write_env_file(tmp_path / "media.env", s3_media)
    run = await run_festival(source_env(single_machine), "migrate-storage", "--to", str(target))
    assert run.returncode == 0, run.stderr
    assert "database: source and target share the database; nothing to copy" in run.stdout
    assert "media: copied 2 objects, 1 upload in progress, 11000 bytes" in run.stdout
    assert raw_keys(s3_server, s3_bucket) == [
        f"media/.partial/originals/{upload_id}/{0:020d}",
        f"media/.partial/originals/{upload_id}/{2000:020d}",
        "media/clips/7/web.mp4",
    ]
    assert fingerprint(single_machine / "festival.db", single_machine / "media") == before

    # A second run writes the objects again, over what the first one left.
    again = await run_festival(source_env(single_machine), "migrate-storage", "--to", str(target))
    assert again.returncode == 0, again.stderr
    assert len(raw_keys(s3_server, s3_bucket)) == 3


async def test_the_source_bucket_under_another_name_is_refused(
    single_machine: Path,
    tmp_path: Path,
    s3_server: SeaweedS3,
    s3_bucket: str,
    s3_media: dict[str, str],
) -> None:
    """The same bucket through another spelling of its endpoint passes for another store
    by its settings; the marker the command writes to the target shows in the source."""
    env = {
        **source_env(single_machine),
        **{f"FESTIVAL_{k.upper()}": v for k, v in s3_media.items()},
    }
    await obstore.put_async(s3_server.client(s3_bucket), "media/clips/1/web.mp4", b"x" * 100)
    alias = {**s3_media, "s3_endpoint": s3_media["s3_endpoint"].replace("127.0.0.1", "localhost")}
    target = write_env_file(tmp_path / "alias.env", alias)
    run = await run_festival(env, "migrate-storage", "--to", str(target))
    assert run.returncode == 2, run.stderr
    assert "is the source's under another name" in run.stderr
    assert raw_keys(s3_server, s3_bucket) == ["media/clips/1/web.mp4"]
