"""Several app instances and workers over one PostgreSQL database and one S3 bucket.

Two ``festival serve`` processes on their own ports and with their own data folders, and
``festival worker`` processes beside them, share nothing but the database and the
bucket, as they would behind a load balancer. Whatever one instance is told, the other
knows at once: an upload in progress, a staff session, a sign-in limit, a withdrawal.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from festival.accounts.service import create_or_update_staff, new_api_token
from festival.db.engine import Database
from festival.db.tables import jobs as jobs_table
from tests import postgres_server
from tests.clips.helpers import OCTETS, TUS, metadata
from tests.conftest import STAFF_EMAIL, STAFF_PASSWORD, run_async
from tests.consent.helpers import consent, make_public, token_of
from tests.crew.helpers import SLUG, Crew
from tests.media import clips as make
from tests.s3_server import SeaweedS3, raw_keys

pytestmark = pytest.mark.slow

PUBLIC = "http://festival.test"
SECRET = "several-instances-secret-" + "x" * 40


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Deployment:
    """The shared settings, and the processes started over them."""

    folder: Path
    settings: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    instances: list[str] = field(default_factory=list)

    def env(self, name: str, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FESTIVAL_")}
        data_dir = self.folder / name
        data_dir.mkdir(exist_ok=True)
        env.update(self.settings, FESTIVAL_DATA_DIR=str(data_dir), **extra)
        return env

    def _start(self, name: str, *args: str, **extra: str) -> subprocess.Popen[bytes]:
        with (self.folder / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "festival", *args],
                env=self.env(name, **extra),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes.append(process)
        return process

    def start_instance(self, name: str) -> str:
        port = _free_port()
        # Instances run no jobs: the workers do, as in the scaled set-up.
        self._start(name, "serve", "--port", str(port), FESTIVAL_RUN_JOBS="false")
        url = f"http://127.0.0.1:{port}"
        self.instances.append(url)
        return url

    def start_worker(self, name: str) -> None:
        self._start(name, "worker")

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + 60
        for url in self.instances:
            while True:
                try:
                    if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise AssertionError(f"{url} did not start: see {self.folder}")
                time.sleep(0.1)

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def shared(tmp_path: Path, s3_server: SeaweedS3, s3_media: dict[str, str]) -> Iterator[Deployment]:
    """An empty PostgreSQL database migrated by ``festival migrate``, and a bucket."""
    name = f"instances_{uuid.uuid4().hex}"
    url = run_async(postgres_server.create_database(name))
    settings = {f"FESTIVAL_{k.upper()}": v for k, v in s3_media.items()}
    settings.update(FESTIVAL_DATABASE_URL=url, FESTIVAL_SECRET_KEY=SECRET, FESTIVAL_BASE_URL=PUBLIC)
    deployment = Deployment(tmp_path, settings)
    migrated = subprocess.run(
        [sys.executable, "-m", "festival", "migrate"],
        env=deployment.env("migrate"),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert migrated.returncode == 0, migrated.stderr
    try:
        yield deployment
    finally:
        deployment.stop()
        run_async(postgres_server.drop_database(name))


@pytest.fixture
def two_instances(shared: Deployment) -> Deployment:
    shared.start_instance("a")
    shared.start_instance("b")
    shared.start_worker("worker-1")
    shared.wait_until_up()
    return shared


async def _staff_token(deployment: Deployment) -> dict[str, str]:
    db = Database.open(deployment.settings["FESTIVAL_DATABASE_URL"])
    try:
        await create_or_update_staff(db, STAFF_EMAIL, STAFF_PASSWORD, "Organiser")
        return {"Authorization": f"Bearer {await new_api_token(db, STAFF_EMAIL)}"}
    finally:
        await db.close()


@asynccontextmanager
async def _clients(deployment: Deployment) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    clients = [httpx.AsyncClient(base_url=url, timeout=60) for url in deployment.instances]
    try:
        yield tuple(clients)
    finally:
        for client in clients:
            await client.aclose()


async def _start_upload(client: httpx.AsyncClient, auth: dict[str, str], length: int) -> str:
    made = await client.post(
        "/api/v1/uploads",
        headers={
            **auth,
            **TUS,
            "Upload-Length": str(length),
            "Upload-Metadata": metadata(filename="interview.mp4", filetype="video/mp4"),
        },
    )
    assert made.status_code == 201, made.text
    return str(made.headers["location"]).removeprefix(PUBLIC)


async def _patch(
    client: httpx.AsyncClient, auth: dict[str, str], path: str, offset: int, data: bytes
) -> httpx.Response:
    sent = await client.patch(
        path,
        content=data,
        headers={**auth, **TUS, "Upload-Offset": str(offset), "Content-Type": OCTETS},
    )
    assert sent.status_code == 204, sent.text
    return sent


async def _wait_for_ready(
    client: httpx.AsyncClient, auth: dict[str, str], count: int
) -> list[dict[str, Any]]:
    """Poll an instance until the volunteer's ``count`` clips are ready (the worker made
    their posters and renditions)."""
    deadline = time.monotonic() + 120
    while True:
        clips = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
        if len(clips) == count and all(c["state"] == "ready" for c in clips):
            return list(clips)
        failed = [c for c in clips if c["state"] == "failed"]
        assert not failed, failed
        assert time.monotonic() < deadline, clips
        await asyncio.sleep(0.3)


async def test_an_upload_started_on_one_instance_resumes_on_the_other(
    two_instances: Deployment, tmp_path: Path
) -> None:
    staff = await _staff_token(two_instances)
    video = make.portrait_h264_mp4(tmp_path / "clip.mp4").read_bytes()
    half = len(video) // 2
    async with _clients(two_instances) as (a, b):
        crew = await Crew(a, staff).setup()  # type: ignore[arg-type]
        ada = (await crew.volunteer("ada@crew.test"))["headers"]
        path = await _start_upload(a, ada, len(video))
        await _patch(a, ada, path, 0, video[:half])
        # The phone's connection drops; its next request reaches the other instance.
        asked = await b.head(path, headers={**ada, **TUS})
        assert asked.status_code == 200, asked.text
        assert asked.headers["upload-offset"] == str(half)
        finished = await _patch(b, ada, path, half, video[half:])
        assert finished.headers["upload-offset"] == str(len(video))
        [clip] = await _wait_for_ready(a, ada, 1)
        original = await b.get(f"/media/clips/{clip['id']}/original", headers=ada)
        assert original.status_code == 200, original.text
        assert hashlib.sha256(original.content).digest() == hashlib.sha256(video).digest()


async def test_each_job_is_claimed_once_by_workers_on_the_shared_queue(
    two_instances: Deployment, tmp_path: Path
) -> None:
    two_instances.start_worker("worker-2")
    staff = await _staff_token(two_instances)
    videos = [
        make.portrait_h264_mp4(tmp_path / f"clip-{n}.mp4", seconds=1.0 + n / 10).read_bytes()
        for n in range(4)
    ]
    async with _clients(two_instances) as (a, b):
        crew = await Crew(a, staff).setup()  # type: ignore[arg-type]
        ada = (await crew.volunteer("ada@crew.test"))["headers"]
        for n, video in enumerate(videos):
            instance = (a, b)[n % 2]
            path = await _start_upload(instance, ada, len(video))
            await _patch(instance, ada, path, 0, video)
        clips = await _wait_for_ready(b, ada, len(videos))
    assert len({c["id"] for c in clips}) == len(videos)
    db = Database.open(two_instances.settings["FESTIVAL_DATABASE_URL"])
    try:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(jobs_table.c.kind, jobs_table.c.attempts, jobs_table.c.state)
                )
            ).all()
    finally:
        await db.close()
    assert len([r for r in rows if r.kind == "process-clip"]) == len(videos), rows
    # A job claimed by two workers would show two attempts. The standing jobs (upload
    # expiry, the consent sweep) have queued their next run, which has not started.
    assert all((r.state, r.attempts) in {("done", 1), ("queued", 0)} for r in rows), rows
    assert all(r.state == "done" for r in rows if r.kind == "process-clip"), rows


async def _sign_in(client: httpx.AsyncClient, url: str, password: str) -> httpx.Response:
    page = await client.get(f"{url}/staff/sign-in")
    token = page.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
    return await client.post(
        f"{url}/staff/sign-in",
        data={"_csrf_token": token, "email": STAFF_EMAIL, "password": password},
    )


async def test_staff_sessions_and_the_sign_in_limit_hold_on_every_instance(
    two_instances: Deployment,
) -> None:
    await _staff_token(two_instances)
    a, b = two_instances.instances
    # Cookies are not bound to a port, so one browser reaches both instances.
    async with httpx.AsyncClient(timeout=60, follow_redirects=True) as browser:
        signed_in = await _sign_in(browser, a, STAFF_PASSWORD)
        assert signed_in.status_code == 200, signed_in.text
        session = browser.cookies["festival_session"]
        on_b = await browser.get(f"{b}/staff/", follow_redirects=False)
        assert on_b.status_code == 200, on_b.text
        token = on_b.text.split('name="_csrf_token" value="', 1)[1].split('"', 1)[0]
        out = await browser.post(f"{b}/staff/sign-out", data={"_csrf_token": token})
        assert out.status_code == 200, out.text
    # The session ended on B is over on A too, even with the old cookie replayed.
    async with httpx.AsyncClient(timeout=60, cookies={"festival_session": session}) as replay:
        refused_session = await replay.get(f"{a}/staff/")
        assert refused_session.status_code in {302, 303}, refused_session.text
        assert "/staff/sign-in" in refused_session.headers["location"]
    async with httpx.AsyncClient(timeout=60, follow_redirects=True) as guesser:
        for _ in range(5):
            wrong = await _sign_in(guesser, a, "not the password")
            assert wrong.status_code == 401, wrong.text
        refused = await _sign_in(guesser, b, STAFF_PASSWORD)
        assert refused.status_code == 429, refused.text
        assert "Too many wrong sign-in attempts" in refused.text


async def _timeline_ids(client: httpx.AsyncClient) -> list[int]:
    listed = await client.get(f"/api/v1/festivals/{SLUG}/timeline")
    assert listed.status_code == 200, listed.text
    return [item["id"] for day in listed.json()["days"] for item in day["items"]]


async def test_a_withdrawal_on_one_instance_is_honoured_by_the_other_at_once(
    two_instances: Deployment, tmp_path: Path, s3_server: SeaweedS3
) -> None:
    staff = await _staff_token(two_instances)
    video = make.portrait_h264_mp4(tmp_path / "clip.mp4").read_bytes()
    bucket = two_instances.settings["FESTIVAL_MEDIA_URL"].removeprefix("s3://").split("/")[0]
    async with _clients(two_instances) as (a, b):
        crew = await Crew(a, staff).setup()  # type: ignore[arg-type]
        ada = (await crew.volunteer("ada@crew.test"))["headers"]
        path = await _start_upload(a, ada, len(video))
        await _patch(a, ada, path, 0, video)
        [clip] = await _wait_for_ready(a, ada, 1)
        clip_id = clip["id"]
        # Consent, approval through the private link, captions and publication, on A.
        given = await consent(crew, ada, clip_id)
        token = token_of(given)
        await make_public(crew, ada, clip_id, given)
        # B has the page and the timeline in its cache.
        for _ in range(2):
            assert (await b.get(f"/clips/{clip_id}")).status_code == 200
            assert await _timeline_ids(b) == [clip_id]
        assert raw_keys(s3_server, bucket)

        withdrawn = await a.post(f"/api/v1/consent/{token}/withdraw")
        assert withdrawn.status_code == 200, withdrawn.text

        # At once, with no waiting: B answers from the database, not its old cache.
        assert (await b.get(f"/clips/{clip_id}")).status_code == 410
        assert await _timeline_ids(b) == []
        assert (await b.get(f"/festivals/{SLUG}/interviews.json")).json()["items"] == []
        oembed = await b.get("/oembed", params={"url": f"{PUBLIC}/clips/{clip_id}"})
        assert oembed.status_code == 404
        # The worker deletes the media from the shared bucket.
        deadline = time.monotonic() + 60
        while raw_keys(s3_server, bucket):
            assert time.monotonic() < deadline, raw_keys(s3_server, bucket)
            await asyncio.sleep(0.3)
