"""`festival fsck`, run as operators run it, on a data directory broken the ways a crash or
a careless hand breaks one: files deleted, files nobody owns, rows deleted, rows left
behind. It names each difference, `--repair` mends each, and a second run is clean."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar

from festival.app import create_app
from festival.db.tables import clips, jobs, uploads
from festival.settings import Settings
from festival.timeline import queries as timeline_queries
from tests.app_client import AppClient
from tests.clips.helpers import TUS, Client, create, path_of, send
from tests.crew.helpers import Crew
from tests.media import clips as make

pytestmark = pytest.mark.slow
BASE = "http://festival.test"


def fsck(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
    env["FESTIVAL_DATA_DIR"] = str(settings.data_dir)
    env["FESTIVAL_DATABASE_URL"] = settings.database_url
    env["FESTIVAL_SECRET_KEY"] = settings.secret_key
    return subprocess.run(
        [sys.executable, "-m", "festival", "fsck", "--grace", "0", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


async def _clip(client: Client, auth: dict[str, str], video: bytes) -> dict[str, Any]:
    path = path_of(await create(client, auth, len(video)))
    await send(client, auth, path, 0, video)
    mine = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
    return {"upload": path.rsplit("/", 1)[1], "id": mine[0]["id"]}


async def _unfinished(client: Client, auth: dict[str, str], video: bytes) -> str:
    path = path_of(await create(client, auth, len(video)))
    await send(client, auth, path, 0, video[: len(video) // 2])
    return path


async def test_fsck_reports_each_difference_and_repair_mends_it(
    settings: Settings, staff_headers: dict[str, str], tmp_path: Path
) -> None:
    video = make.portrait_h264_mp4(tmp_path / "phone.mp4", seconds=1).read_bytes()
    media = settings.media_root
    app = create_app(settings)
    async with AppClient(app, base_url=BASE) as client:
        crew = await Crew(client, staff_headers).setup()
        auth = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
        lost_web, lost_original, withdrawn, deleted, unrecorded = [
            await _clip(client, auth, video) for _ in range(5)
        ]
        await app.state.jobs.run_until_idle()
        gone_bytes = await _unfinished(client, auth, video)
        short = await _unfinished(client, auth, video)
        expired = await _unfinished(client, auth, video)
        async with app.state.db.write() as conn:
            # Consent withdrawn, then the process died before the purge job was written.
            await conn.execute(
                sa.update(clips)
                .where(clips.c.id == withdrawn["id"])
                .values(withdrawn_at=datetime.now(UTC))
            )
            # A clip deleted, then the process died before its files went.
            await conn.execute(sa.delete(clips).where(clips.c.id == deleted["id"]))
            await conn.execute(sa.delete(uploads).where(uploads.c.id == deleted["upload"]))
            # An upload finished, then the process died before its clip was recorded.
            await conn.execute(sa.delete(clips).where(clips.c.id == unrecorded["id"]))
            await conn.execute(
                sa.update(uploads)
                .where(uploads.c.id == expired.rsplit("/", 1)[1])
                .values(expires_at=datetime.now(UTC) - timedelta(hours=1))
            )
            await conn.execute(sa.delete(jobs))
            # A search entry left behind by a clip long gone.
            await timeline_queries.search_put(conn, 999, "a clip long gone", "", "")
    (media / "clips" / str(lost_web["id"]) / "web.mp4").unlink()
    (media / "originals" / lost_original["upload"]).unlink()
    (media / "clips" / str(lost_original["id"]) / "poster.jpg").unlink()
    (media / "originals" / gone_bytes.rsplit("/", 1)[1]).unlink()
    with (media / "originals" / short.rsplit("/", 1)[1]).open("r+b") as half:
        half.truncate(100)
    (media / "clips" / "777").mkdir()
    (media / "clips" / "777" / "web.mp4").write_bytes(b"nobody's")
    (media / "shared" / "synthetic").mkdir(parents=True)
    (media / "shared" / "synthetic" / "web.mp4").write_bytes(b"played by load-test clips")
    (media / "originals" / ".abc.0123456789abcdef.tmp").write_bytes(b"half a copy")
    (settings.data_dir / "work" / "clip-dead01").mkdir(parents=True)
    (settings.data_dir / "work" / "clip-dead01" / "web.mp4").write_bytes(b"half a rendition")

    found = fsck(settings)
    assert found.returncode == 1, found.stderr
    lines = found.stdout.splitlines()
    expected = [
        "scratch folder",
        "originals/.abc.0123456789abcdef.tmp, a file a stopped process left half-written",
        f"Upload {unrecorded['upload']} finished but has no clip.",
        f"Upload {gone_bytes.rsplit('/', 1)[1]} is unfinished and its file",
        f"Upload {short.rsplit('/', 1)[1]} acknowledged",
        f"Upload {expired.rsplit('/', 1)[1]} expired at",
        f"Clip {lost_web['id']}'s web video is missing.",
        f"Clip {lost_original['id']}'s original originals/{lost_original['upload']} is missing,"
        " and so is its poster.",
        f"Clip {withdrawn['id']} was withdrawn but its media still exists",
        f"The media store holds clips/{deleted['id']}/web.mp4, which no clip",
        f"The media store holds originals/{deleted['upload']}, which no clip",
        "The media store holds clips/777/web.mp4, which no clip",
        "The search index has an entry for clip 999",
    ]
    for text in expected:
        assert any(text in line for line in lines), (text, found.stdout)
    assert "With --repair:" in lines[0]
    assert not any("shared/" in line for line in lines), "shared media is nobody's orphan"
    assert lines[-1].startswith(f"Found {len(lines) - 1} differences.")
    assert (media / "clips" / "777" / "web.mp4").exists(), "reporting changes nothing"

    repaired = fsck(settings, "--repair")
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    assert repaired.stdout.count("Repaired:") == len(lines) - 1
    again = fsck(settings)
    assert (again.returncode, again.stdout) == (0, "The database and the media store agree.\n")

    # The outcome, as the volunteer and the store see it.
    assert (media / "shared" / "synthetic" / "web.mp4").exists()
    assert not (media / "clips" / "777" / "web.mp4").exists()
    assert not [p for p in (media / "clips" / str(deleted["id"])).rglob("*") if p.is_file()]
    assert not (media / "originals" / deleted["upload"]).exists()
    assert not (media / "clips" / str(withdrawn["id"])).exists()
    assert not (media / "originals" / withdrawn["upload"]).exists()
    assert list((settings.data_dir / "work").iterdir()) == []
    assert not [p for p in media.rglob(".*")], "no temporaries left"
    app = create_app(settings)
    async with AppClient(app, base_url=BASE) as client:
        listed = (await client.get("/api/v1/my-clips", headers=auth)).json()
        by_id = {c["id"]: c for c in listed["clips"]}
        assert by_id[lost_web["id"]]["state"] == "ready"
        remade = await client.get(by_id[lost_web["id"]]["video_url"], headers=auth)
        assert remade.status_code == 200 and remade.content[4:8] == b"ftyp"
        assert by_id[lost_original["id"]]["state"] == "failed"
        assert "upload it again" in by_id[lost_original["id"]]["failure_reason"]
        recovered = [c for c in listed["clips"] if c["id"] not in by_id or c["id"] > 5]
        assert [c["state"] for c in recovered] == ["ready"], "the unrecorded upload is a clip"
        assert recovered[0]["original_sha256"] == hashlib.sha256(video).hexdigest()
        assert (await client.head(gone_bytes, headers={**auth, **TUS})).status_code == 404
        shortened = await client.head(short, headers={**auth, **TUS})
        assert shortened.headers["upload-offset"] == "100"
        assert (await client.head(expired, headers={**auth, **TUS})).status_code == 404
        assert [u["offset"] for u in listed["uploads"]] == [100]


async def test_a_clean_festival_passes_fsck(
    app: Litestar, settings: Settings, client: Client, staff_headers: dict[str, str], tmp_path: Path
) -> None:
    video = make.portrait_h264_mp4(tmp_path / "phone.mp4", seconds=1).read_bytes()
    crew = await Crew(client, staff_headers).setup()
    auth = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
    await _clip(client, auth, video)
    await _unfinished(client, auth, video)
    await app.state.jobs.run_until_idle()
    checked = fsck(settings)
    assert (checked.returncode, checked.stdout) == (0, "The database and the media store agree.\n")
