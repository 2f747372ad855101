"""What a crash (kill -9) can leave half-done is finished or cleared on the next start:
a finished upload whose clip was never recorded, a clip whose processing was never
queued, and the scratch folder of a rendition cut off part-way."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import sqlalchemy as sa

from festival.app import create_app
from festival.clips.service import sweep_scratch
from festival.db.tables import clips, jobs
from festival.settings import Settings
from tests.app_client import AppClient
from tests.clips.helpers import TUS, create, path_of, send
from tests.crew.helpers import Crew
from tests.media import clips as make

BASE = "http://festival.test"


@pytest.fixture
def video(tmp_path: Path) -> bytes:
    return make.portrait_h264_mp4(tmp_path / "phone.mp4", seconds=1).read_bytes()


@pytest.mark.parametrize("lost", ["the clip row", "the processing job"])
async def test_head_after_a_crash_at_the_last_byte_makes_and_processes_the_clip(
    settings: Settings, staff_headers: dict[str, str], video: bytes, lost: str
) -> None:
    app = create_app(settings)
    async with AppClient(app, base_url=BASE) as client:
        crew = await Crew(client, staff_headers).setup()
        auth = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
        path = path_of(await create(client, auth, len(video)))
        await send(client, auth, path, 0, video)
        # The crash: the upload was recorded as finished, and then the process died
        # before the clip's row (or its processing job) was written.
        async with app.state.db.write() as conn:
            await conn.execute(sa.delete(jobs))
            if lost == "the clip row":
                await conn.execute(sa.delete(clips))
        head = await client.head(path, headers={**auth, **TUS})
        assert head.status_code == 200
        assert head.headers["upload-offset"] == str(len(video))
        await app.state.jobs.run_until_idle()
        [clip] = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
        assert clip["state"] == "ready", clip
        assert clip["original_sha256"] == hashlib.sha256(video).hexdigest()
        # Asking again changes nothing and queues nothing more.
        await client.head(path, headers={**auth, **TUS})
        async with app.state.db.read() as conn:
            kinds = [r.kind for r in await conn.execute(sa.select(jobs.c.kind))]
        assert kinds.count("process-clip") == 1


async def test_a_killed_renditions_scratch_folder_is_swept_at_start(
    settings: Settings, staff_headers: dict[str, str], video: bytes
) -> None:
    work = settings.data_dir / "work"
    dead = work / "clip-x1y2z3"
    dead.mkdir(parents=True)
    (dead / "web.mp4").write_bytes(b"half a rendition")
    app = create_app(settings)
    async with AppClient(app, base_url=BASE) as client:
        crew = await Crew(client, staff_headers).setup()
        auth = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
        path = path_of(await create(client, auth, len(video)))
        await send(client, auth, path, 0, video)
        # The start-up sweep (the upload expiry job the app queues when it starts).
        await app.state.jobs.enqueue("expire-uploads", {})
        await app.state.jobs.run_until_idle()
        [clip] = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
        assert clip["state"] == "ready"
    assert not dead.exists()
    assert list(work.iterdir()) == [], "nothing is left in the work folder"
    assert sweep_scratch(work) == []
