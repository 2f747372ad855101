"""`festival backup` taken while the server runs, `festival restore` into a fresh data
directory, and a server started there gives the same service: the same programme,
timeline, clip page and media bytes, a clean fsck, and links people hold (the
interviewee's private link, a volunteer's calendar) still work.

Backup and restore belong to the single-machine set-up: they copy the SQLite file and
the media folder. On PostgreSQL one uses pg_dump, and `festival backup` says so."""

from __future__ import annotations

import hashlib
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import Litestar

from festival.app import create_app
from festival.settings import Settings
from tests.app_client import AppClient
from tests.consent.helpers import token_of
from tests.crew.helpers import SLUG, Crew
from tests.outputs.helpers import link, published, session
from tests.test_crash_safety import Server

pytestmark = pytest.mark.slow
BASE = "http://festival.test"  # both servers name the same public address
SQLITE_ONLY = pytest.mark.sqlite_only(
    "festival backup and restore copy the SQLite file and the media folder; "
    "a PostgreSQL database is backed up with pg_dump"
)


async def _festival(settings: Settings, staff: dict[str, str], folder: Path) -> dict[str, Any]:
    """A festival with a session, a blog post, and a published, captioned clip linked to
    both, with its interviewee's consent."""
    app: Litestar = create_app(settings)
    async with AppClient(app, base_url=BASE) as client:
        crew = await Crew(client, staff).setup()
        volunteer = await crew.volunteer("ada@crew.test", name="Ada")
        auth = volunteer["headers"]
        session_id = await session(crew, "Sharing power")
        clip_id, created = await published(crew, app, auth, folder, "Peer support, in our words")
        await link(crew, clip_id, session_id)
        post = await crew.post(
            "/posts",
            {
                "title": "What we learnt",
                "published_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                "author": "Sam Writer",
            },
        )
        linked = await client.put(f"{crew.base}/clips/{clip_id}/posts/{post['id']}", headers=staff)
        assert linked.status_code == 200, linked.text
        day = (await client.get("/api/v1/volunteer/day", headers=auth)).json()
    return {
        "clip": clip_id,
        "token": token_of(created),
        "auth": auth,
        "calendar": str(day["calendar_url"]).removeprefix(BASE),
    }


def _pages(url: str, made: dict[str, Any]) -> dict[str, bytes]:
    """What people and programs see; the HTML's per-response nonces and CSRF tokens aside."""
    clip = made["clip"]
    paths = [
        f"/festivals/{SLUG}/programme",
        f"/festivals/{SLUG}/programme.json",
        f"/festivals/{SLUG}/programme.ics",
        f"/api/v1/festivals/{SLUG}/timeline",
        f"/festivals/{SLUG}/timeline",
        f"/festivals/{SLUG}/interviews.json",
        f"/api/v1/festivals/{SLUG}/posts",
        f"/clips/{clip}",
        f"/api/v1/consent/{made['token']}",
        made["calendar"],
    ]
    media = [f"/media/clips/{clip}/{name}" for name in ("web.mp4", "poster.jpg", "captions.vtt")]
    seen: dict[str, bytes] = {}
    with httpx.Client(base_url=url, timeout=30) as client:
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.text)
            seen[path] = re.sub(
                rb'(nonce|value|content)="[A-Za-z0-9_+/=-]{16,}"', b"", response.content
            )
        for path in media:
            response = client.get(path)
            assert response.status_code == 200, path
            seen[path] = hashlib.sha256(response.content).hexdigest().encode()
        consent_page = client.get(f"/consent/{made['token']}")
        assert consent_page.status_code == 200
        assert b"Peer support, in our words" in consent_page.content
        original = client.get(f"/api/v1/clips/{clip}", headers=made["auth"])
        assert original.status_code == 200
        seen["original_sha256"] = original.json()["original_sha256"].encode()
    return seen


@SQLITE_ONLY
async def test_a_restored_backup_serves_the_same_festival(
    settings: Settings, staff_headers: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    made = await _festival(settings, staff_headers, folder)
    # Kept in the data directory, as a deployment without FESTIVAL_SECRET_KEY keeps it.
    (settings.data_dir / "secret_key").write_text(settings.secret_key)
    live = Server(settings.data_dir, base_url=BASE, secret_key=None).start()
    try:
        before = _pages(live.url, made)
        saved = tmp_path / "saved"
        said = live.command("backup", str(saved), "--media")  # while it serves
        assert "copies of" in said
        during = _pages(live.url, made)
    finally:
        live.stop()
    assert during == before

    fresh = tmp_path / "restored"
    restored = Server(fresh, base_url=BASE, secret_key=None)  # the key comes from the backup
    said = restored.command("restore", str(saved))
    assert said.startswith(f"Restored the database into {fresh}")
    assert (fresh / "secret_key").read_text() == settings.secret_key
    restored.start()
    try:
        after = _pages(restored.url, made)
    finally:
        restored.stop()
    assert after == before
    assert restored.command("fsck", "--grace", "0") == "The database and the media store agree.\n"


@SQLITE_ONLY
async def test_restore_names_media_missing_from_a_manifest_only_backup(
    settings: Settings, staff_headers: dict[str, str], tmp_path: Path
) -> None:
    folder = tmp_path / "videos"
    folder.mkdir()
    made = await _festival(settings, staff_headers, folder)
    saved = tmp_path / "saved"
    server = Server(settings.data_dir, base_url=BASE, secret_key=settings.secret_key)
    assert "a manifest of" in server.command("backup", str(saved))
    assert not (saved / "media").exists(), "without --media, only the manifest"

    fresh = tmp_path / "restored"
    restored = Server(fresh, base_url=BASE, secret_key=None)
    failed = restored.run("restore", str(saved))
    assert failed.returncode == 1
    assert f"missing from the media store: clips/{made['clip']}/web.mp4" in failed.stdout
    assert "Restore them from the media store's own backup" in failed.stderr

    # The media store's own backup put back (here, a copy of the folder), and then:
    shutil.rmtree(fresh / "media")
    shutil.copytree(settings.media_root, fresh / "media")
    (fresh / "festival.db").unlink()
    restored.command("restore", str(saved))
    assert restored.command("fsck", "--grace", "0") == "The database and the media store agree.\n"

    again = restored.run("restore", str(saved))
    assert again.returncode == 2 and "already exists" in again.stderr, "never over a live one"


def test_backup_on_postgresql_refuses_and_names_pg_dump(
    engine: str, settings: Settings, tmp_path: Path
) -> None:
    if engine != "postgresql":
        pytest.skip("checks the refusal on PostgreSQL")
    saved = tmp_path / "saved"
    server = Server(settings.data_dir, settings.database_url, secret_key=settings.secret_key)
    refused = server.run("backup", str(saved), "--media")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stdout == ""
    assert "pg_dump" in refused.stderr and "PostgreSQL" in refused.stderr, refused.stderr
    assert not saved.exists() or list(saved.iterdir()) == [], "nothing that looks like a backup"
