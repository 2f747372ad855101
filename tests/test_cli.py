"""The festival command, run as a separate process the way operators run it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.app_client import AppClient
from tests.conftest import Databases

pytestmark = pytest.mark.slow


class Festival:
    """The ``festival`` command over a data folder, as a new installation starts: with no
    database yet. On SQLite the first command makes ``festival.db`` in the folder (the
    default); on PostgreSQL each folder gets an empty database, named in
    ``FESTIVAL_DATABASE_URL``, that the first command migrates."""

    def __init__(self, databases: Databases) -> None:
        self._databases = databases
        self._urls: dict[Path, str] = {}

    def database_url(self, data_dir: Path) -> str:
        if data_dir not in self._urls:
            self._urls[data_dir] = self._databases.empty(data_dir)
        return self._urls[data_dir]

    def env(self, data_dir: Path) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
        env["FESTIVAL_DATA_DIR"] = str(data_dir)
        if self._databases.engine != "sqlite":
            env["FESTIVAL_DATABASE_URL"] = self.database_url(data_dir)
        return env

    def __call__(
        self, data_dir: Path, *args: str, stdin: str = ""
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "festival", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(data_dir),
            timeout=120,
            check=False,
        )

    def drop(self) -> None:
        for url in self._urls.values():
            self._databases.drop(url)


@pytest.fixture
def festival(databases: Databases) -> Iterator[Festival]:
    made = Festival(databases)
    yield made
    made.drop()


def test_create_staff_then_api_token_prints_a_working_token(
    tmp_path: Path, festival: Festival
) -> None:
    made = festival(
        tmp_path,
        "create-staff",
        "lead@festival.test",
        "--password-stdin",
        stdin="correct horse battery\n",
    )
    assert made.returncode == 0, made.stderr
    assert "lead@festival.test is ready" in made.stdout
    token_run = festival(tmp_path, "api-token", "lead@festival.test")
    assert token_run.returncode == 0, token_run.stderr
    lines = token_run.stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("fst_")


def test_short_password_and_unknown_account_are_refused_plainly(
    tmp_path: Path, festival: Festival
) -> None:
    short = festival(
        tmp_path, "create-staff", "a@festival.test", "--password-stdin", stdin="short\n"
    )
    assert short.returncode == 2
    assert "password: must be at least 10 characters" in short.stderr
    unknown = festival(tmp_path, "api-token", "nobody@festival.test")
    assert unknown.returncode == 2
    assert "no staff account for nobody@festival.test" in unknown.stderr


def test_a_misspelt_setting_stops_the_command(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
    env.update({"FESTIVAL_DATA_DIR": str(tmp_path), "FESTIVAL_BASEURL": "http://x"})
    run = subprocess.run(
        [sys.executable, "-m", "festival", "migrate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "FESTIVAL_BASEURL is not a setting" in run.stderr


def test_demo_is_idempotent_and_serve_answers_health(tmp_path: Path, festival: Festival) -> None:
    first = festival(tmp_path, "demo")
    second = festival(tmp_path, "demo")
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert "Loaded the demo festival" in first.stdout
    assert "already loaded" in second.stdout

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "festival", "serve", "--port", str(port)],
        env=festival.env(tmp_path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        assert health.status_code == 200
        programme = httpx.get(f"http://127.0.0.1:{port}/festivals/coproduction-week-2019/programme")
        assert programme.status_code == 200
        assert "Co-production Week 2019" in programme.text
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_invite_volunteer_prints_a_link_whose_token_signs_them_in(
    tmp_path: Path, festival: Festival
) -> None:
    assert festival(tmp_path, "demo").returncode == 0
    run = festival(
        tmp_path,
        "invite-volunteer",
        "new@crew.test",
        "--festival",
        "coproduction-week-2019",
        "--name",
        "New Volunteer",
    )
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("http://127.0.0.1:8000/volunteers/invite/fvt_")
    unknown = festival(tmp_path, "invite-volunteer", "x@crew.test", "--festival", "no-such")
    assert unknown.returncode == 2
    assert "no festival called 'no-such'" in unknown.stderr
    bad = festival(tmp_path, "invite-volunteer", "not-an-email", "--festival", "no-such")
    assert bad.returncode == 2
    assert "email" in bad.stderr


@pytest.mark.sqlite_only(
    "festival backup copies the SQLite file; on PostgreSQL one uses pg_dump "
    "(tests/test_backup_restore.py checks that backup says so)"
)
def test_backup_copies_the_database_and_lists_the_media(tmp_path: Path, festival: Festival) -> None:
    import json
    import sqlite3

    data = tmp_path / "data"
    assert festival(data, "demo").returncode == 0
    run = festival(data, "backup", str(tmp_path / "saved"))
    assert run.returncode == 0, run.stderr
    copy = sqlite3.connect(tmp_path / "saved" / "festival.db")
    assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert copy.execute("SELECT count(*) FROM sessions").fetchone()[0] == 16
    copy.close()
    manifest = json.loads((tmp_path / "saved" / "media-manifest.json").read_text())
    keys = {o["key"] for o in manifest["objects"]}
    assert "clips/1/web.mp4" in keys
    assert all(len(o["sha256"]) == 64 for o in manifest["objects"])


async def test_api_token_revoke_stops_every_token_of_that_account(
    tmp_path: Path, festival: Festival
) -> None:
    """A lost or leaked staff token can be stopped; a new one works again."""

    from festival.app import create_app
    from tests.conftest import make_settings

    made = festival(
        tmp_path,
        "create-staff",
        "lead@festival.test",
        "--password-stdin",
        stdin="a long password\n",
    )
    assert made.returncode == 0, made.stderr
    old = [festival(tmp_path, "api-token", "lead@festival.test").stdout.strip() for _ in range(2)]
    revoked = festival(tmp_path, "api-token", "lead@festival.test", "--revoke")
    assert revoked.returncode == 0, revoked.stderr
    assert revoked.stdout.strip() == "Stopped 2 API token(s) of lead@festival.test."
    fresh = festival(tmp_path, "api-token", "lead@festival.test").stdout.strip()
    async with AppClient(
        create_app(make_settings(tmp_path, database_url=festival.database_url(tmp_path))),
        base_url="http://festival.test",
    ) as client:
        for token in old:
            response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 401, response.text
            assert "revoked" in response.json()["detail"]
        response = await client.get("/api/v1/me", headers={"Authorization": f"Bearer {fresh}"})
        assert response.status_code == 200, response.text
        assert response.json()["email"] == "lead@festival.test"
