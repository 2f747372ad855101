"""Uploads survive a restart: half an upload arrives, the app stops, a new app built
over the same data directory (SQLite file and media folder) answers HEAD with the same
offset and takes the rest. Bytes a crash left past the recorded offset are cut back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import anyio
import pytest

from festival.app import create_app
from festival.settings import Settings
from tests.app_client import AppClient
from tests.clips.helpers import TUS, Client, create, path_of, send
from tests.crew.helpers import Crew
from tests.media import clips as make

BASE = "http://festival.test"


@pytest.fixture
def video(tmp_path: Path) -> bytes:
    return make.portrait_h264_mp4(tmp_path / "phone.mp4", seconds=4).read_bytes()


async def _offset(client: Client, auth: dict[str, str], path: str) -> int:
    response = await client.head(path, headers={**auth, **TUS})
    assert response.status_code == 200, response.text
    return int(response.headers["upload-offset"])


async def _half_sent(
    settings: Settings, staff: dict[str, str], video: bytes
) -> tuple[dict[str, str], str, Path]:
    """The first app: a volunteer starts an upload and sends its first half; then the
    app shuts down. Returns the volunteer's headers, the upload's path and its file."""
    first = create_app(settings)
    async with AppClient(first, base_url=BASE) as client:
        crew = await Crew(client, staff).setup()
        auth = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
        path = path_of(await create(client, auth, len(video)))
        half = len(video) // 2
        await send(client, auth, path, 0, video[:half])
        assert await _offset(client, auth, path) == half
        clips = first.state.clips
        partial: Path = clips.store.path_for(clips.engine.key_for(path.rsplit("/", 1)[1]))
        assert (await anyio.Path(partial).stat()).st_size == half
    return auth, path, partial


async def _finish_on_a_new_app(
    settings: Settings,
    auth: dict[str, str],
    path: str,
    video: bytes,
    partial: Path,
    *,
    left_over: int = 0,
) -> None:
    """The second app over the same data: HEAD, the rest of the upload, then the clip.
    ``left_over`` is how many unacknowledged bytes a crash left in the partial file."""
    half = len(video) // 2
    second = create_app(settings)
    async with AppClient(second, base_url=BASE) as client:
        assert await _offset(client, auth, path) == half, "HEAD after the restart"
        on_disk = (await anyio.Path(partial).stat()).st_size
        assert on_disk == half + left_over, "HEAD changes nothing on disk"
        done = await send(client, auth, path, half, video[half:])
        assert done.headers["upload-offset"] == str(len(video))
        assert await anyio.Path(partial).read_bytes() == video, (
            "the finished original is exactly the file"
        )
        [clip] = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
        assert clip["original_sha256"] == hashlib.sha256(video).hexdigest()
        assert clip["original_size"] == len(video)
        await second.state.jobs.run_until_idle()
        ready = (await client.get(f"/api/v1/clips/{clip['id']}", headers=auth)).json()
        assert ready["state"] == "ready", ready
        original = await client.get(ready["original_url"], headers=auth)
        assert original.content == video


async def test_an_upload_resumes_on_a_new_app_after_a_restart(
    settings: Settings, staff_headers: dict[str, str], video: bytes
) -> None:
    auth, path, partial = await _half_sent(settings, staff_headers, video)
    await _finish_on_a_new_app(settings, auth, path, video, partial)


async def test_bytes_past_the_recorded_offset_are_cut_back_after_a_crash(
    settings: Settings, staff_headers: dict[str, str], video: bytes
) -> None:
    auth, path, partial = await _half_sent(settings, staff_headers, video)
    # A crash after bytes were written but before their offset was recorded (or their
    # checksum verified): the file holds more than was ever acknowledged.
    async with await anyio.open_file(partial, "ab") as file:
        await file.write(b"\xde\xad" * 5000)
    await _finish_on_a_new_app(settings, auth, path, video, partial, left_over=10_000)
