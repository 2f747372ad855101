"""tus-js-client (npm), running in Node, against the real server: an upload broken off
part-way and resumed by a new client from where the server says it stopped."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
import pytest

from festival.crew import service as crew
from festival.crew.schemas import AssignIn, AvailabilityIn, InviteIn, SlotIn, TrainingIn, Window
from festival.db.engine import Database
from festival.programme import service as programme
from festival.programme.schemas import FestivalIn, RoomIn, VenueIn
from tests.browser.conftest import LiveServer
from tests.conftest import NewDatabase, run_async
from tests.media import clips as make

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "tests" / "clips" / "tus_js_upload.mjs"
TUS_JS = ROOT / "node_modules" / "tus-js-client"
SLUG = "upload-week"


class Volunteer(msgspec.Struct):
    id: int
    token: str
    invite_url: str
    slot_id: int
    slot_place: str


async def volunteer_with_slot(database_url: str, base_url: str) -> Volunteer:
    """A festival happening now and Kit, a trained volunteer holding a slot in its foyer."""
    db = Database.open(database_url)
    try:
        now = datetime.now(UTC).replace(second=0, microsecond=0)
        await programme.create_festival(
            db,
            FestivalIn(
                slug=SLUG,
                name="Upload Week",
                starts_on=now.date() - timedelta(days=1),
                ends_on=now.date() + timedelta(days=2),
                timezone="Europe/London",
            ),
        )
        venue = await programme.create_venue(db, SLUG, VenueIn(name="Community Hub"))
        foyer = await programme.create_room(db, SLUG, RoomIn(venue_id=venue.id, name="Foyer"))
        kit = await crew.invite(db, SLUG, InviteIn(email="kit@crew.test", name="Kit"), base_url)
        await crew.add_training(
            db, SLUG, kit.volunteer.id, TrainingIn(trained_on=now.date(), trainer="Sam Trainer")
        )
        await crew.set_availability_for(
            db,
            SLUG,
            kit.volunteer.id,
            AvailabilityIn(
                windows=[
                    Window(starts_at=now - timedelta(hours=2), ends_at=now + timedelta(hours=4))
                ]
            ),
        )
        slot = await crew.create_slot(
            db,
            SLUG,
            SlotIn(
                starts_at=now - timedelta(hours=1),
                ends_at=now + timedelta(hours=1),
                room_id=foyer.id,
            ),
        )
        await crew.assign(db, SLUG, slot.id, AssignIn(volunteer_id=kit.volunteer.id))
        return Volunteer(
            id=kit.volunteer.id,
            token=kit.token,
            invite_url=kit.invite_url,
            slot_id=slot.id,
            slot_place=slot.where,
        )
    finally:
        await db.close()


def padded_clip(path: Path, size: int) -> Path:
    """A real phone-like MP4 grown to about ``size`` bytes with a top-level ``free`` box,
    which players and our probe skip: big enough to take many chunks, still quick to make."""
    make.portrait_h264_mp4(path)
    filler = max(0, size - path.stat().st_size - 8)
    payload = np.random.default_rng(7).integers(0, 256, filler, dtype=np.uint8).tobytes()
    with path.open("ab") as out:
        out.write(struct.pack(">I", filler + 8) + b"free" + payload)
    return path


def wait_for_clip(base_url: str, token: str, *, ready: bool, timeout: float = 60) -> dict[str, Any]:
    """The volunteer's only clip, once it exists (and, with ``ready``, once it is processed)."""
    deadline = time.monotonic() + timeout
    while True:
        mine = httpx.get(
            f"{base_url}/api/v1/my-clips", headers={"Authorization": f"Bearer {token}"}
        ).json()
        if mine["clips"] and (not ready or mine["clips"][0]["state"] != "processing"):
            [clip] = mine["clips"]
            return clip  # type: ignore[no-any-return]
        if time.monotonic() > deadline:
            raise AssertionError(f"no {'ready ' if ready else ''}clip in time: {mine}")
        time.sleep(0.2)


@pytest.fixture
def server(tmp_path: Path, new_database: NewDatabase) -> Iterator[LiveServer]:
    data_dir = tmp_path / "var"
    live = LiveServer(data_dir, new_database(data_dir)).start()
    yield live
    live.stop()


def _node(*args: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        ["node", str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"node failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_an_upload_broken_off_resumes_in_a_new_client(server: LiveServer, tmp_path: Path) -> None:
    if shutil.which("node") is None:
        pytest.skip("Node.js is not installed")
    if not TUS_JS.is_dir():
        pytest.skip("tus-js-client is not installed: run `npm ci` (make test does)")
    kit = run_async(volunteer_with_slot(server.settings.database_url, server.url))
    video = padded_clip(tmp_path / "Interview with Rosa.mp4", 700_000)
    data = video.read_bytes()
    endpoint = f"{server.url}/api/v1/uploads"
    common = ["--chunk-size", "65536", "--slot", str(kit.slot_id)]

    first = _node(endpoint, kit.token, str(video), "--stop-after", "200000", *common)
    stopped = first[-1]
    assert stopped["event"] == "stopped", first
    assert next(e["method"] for e in first if e["event"] == "request") == "POST"
    assert 200_000 <= stopped["offset"] < len(data)

    # The server agrees on how much arrived, and the upload is listed as unfinished.
    auth = {"Authorization": f"Bearer {kit.token}"}
    head = httpx.head(stopped["url"], headers={**auth, "Tus-Resumable": "1.0.0"})
    assert head.status_code == 200
    assert int(head.headers["upload-offset"]) == stopped["offset"]
    mine = httpx.get(f"{server.url}/api/v1/my-clips", headers=auth).json()
    assert [(u["offset"], u["length"]) for u in mine["uploads"]] == [(stopped["offset"], len(data))]
    assert mine["clips"] == []

    second = _node(endpoint, kit.token, str(video), "--upload-url", stopped["url"], *common)
    assert second[-1]["event"] == "success", second
    requests = [e for e in second if e["event"] == "request"]
    assert [r["method"] for r in requests][:2] == ["HEAD", "PATCH"], "asks, then carries on"
    assert "POST" not in {r["method"] for r in requests}, "no new upload"
    assert int(requests[1]["offset"]) == stopped["offset"], "not from the start"

    clip = wait_for_clip(server.url, kit.token, ready=True)
    assert clip["original_sha256"] == hashlib.sha256(data).hexdigest()
    assert clip["original_size"] == len(data)
    assert clip["slot_id"] == kit.slot_id
    assert clip["title"] == "Interview with Rosa"
    assert clip["state"] == "ready", clip["failure_reason"]
