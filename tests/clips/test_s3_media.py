"""The real app with its media in S3 (SeaweedFS): a tus upload in two PATCHes staged as
parts in the bucket, processing, ranges served from the rendition, and a withdrawal that
leaves nothing of the clip in the bucket."""

from __future__ import annotations

from pathlib import Path

import obstore
import pytest
from litestar import Litestar

from festival.db.engine import Database
from festival.db.locks import AdvisoryLocks
from festival.health import check
from festival.settings import Settings
from media.locks import FileLocks
from media.s3 import S3Store
from tests.clips.helpers import Client, create, path_of, send
from tests.conftest import NewDatabase, make_settings
from tests.consent.helpers import consent, token_of
from tests.crew.helpers import Crew
from tests.media import clips as make
from tests.s3_server import SeaweedS3

pytestmark = pytest.mark.slow  # starts SeaweedFS and processes a video: several seconds


@pytest.fixture
def settings(tmp_path: Path, new_database: NewDatabase, s3_media: dict[str, str]) -> Settings:
    """The usual test settings, with the media in a fresh bucket."""
    data_dir = tmp_path / "var"
    return make_settings(data_dir, database_url=new_database(data_dir), **s3_media)


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def bucket_keys(server: SeaweedS3, bucket: str) -> list[str]:
    listed = await obstore.list(server.client(bucket)).collect_async()
    return sorted(meta["path"] for meta in listed)


async def test_an_upload_lives_in_s3_from_first_byte_to_withdrawal(
    client: Client,
    app: Litestar,
    crew: Crew,
    settings: Settings,
    s3_server: SeaweedS3,
    s3_bucket: str,
    tmp_path: Path,
    engine: str,
) -> None:
    store = app.state.clips.store
    assert isinstance(store, S3Store) and store.url == f"s3://{s3_bucket}/media"
    # Writers on several machines agree through PostgreSQL; on one, through flock.
    assert isinstance(store.locks, AdvisoryLocks if engine == "postgresql" else FileLocks)
    assert (await client.get("/health")).json() == {
        "status": "ok",
        "database": "ok",
        "media": "ok",
    }
    ada = (await crew.volunteer("ada@crew.test"))["headers"]

    # A phone sends the video in two PATCHes; between them, the bytes that arrived are
    # staged in the bucket (where any instance can resume the upload), not on this disk.
    video = make.portrait_h264_mp4(tmp_path / "phone.mp4").read_bytes()
    half = len(video) // 2
    upload = path_of(await create(client, ada, len(video)))
    upload_id = upload.rsplit("/", 1)[1]
    await send(client, ada, upload, 0, video[:half])
    assert await bucket_keys(s3_server, s3_bucket) == [
        f"media/.partial/originals/{upload_id}/{0:020d}"
    ]
    head = await client.head(upload, headers={**ada, "Tus-Resumable": "1.0.0"})
    assert head.headers["upload-offset"] == str(half)
    await send(client, ada, upload, half, video[half:])
    assert not (settings.data_dir / "media").exists()

    await app.state.jobs.run_until_idle()
    [clip] = (await client.get("/api/v1/my-clips", headers=ada)).json()["clips"]
    assert clip["state"] == "ready", clip
    clip_id = clip["id"]
    keys = await bucket_keys(s3_server, s3_bucket)
    for name in ("web.mp4", "poster.jpg"):
        assert f"media/clips/{clip_id}/{name}" in keys, keys
    assert await store.size(f"originals/{upload_id}") == len(video)

    # The rendition is served by the app, in ranges, from the bucket.
    whole = await client.get(clip["video_url"], headers=ada)
    assert whole.status_code == 200
    rendition = whole.content
    assert len(rendition) == await store.size(f"clips/{clip_id}/web.mp4") > 1000
    part = await client.get(clip["video_url"], headers={**ada, "Range": "bytes=100-1099"})
    assert part.status_code == 206, part.text
    assert part.headers["content-range"] == f"bytes 100-1099/{len(rendition)}"
    assert part.content == rendition[100:1100]
    tail = await client.get(clip["video_url"], headers={**ada, "Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == rendition[-10:]
    original = await client.get(clip["original_url"], headers=ada)
    assert original.content == video

    # The interviewee withdraws: the job deletes every object of the clip.
    created = await consent(crew, ada, clip_id)
    withdrawn = await client.post(f"/api/v1/consent/{token_of(created)}/withdraw")
    assert withdrawn.status_code == 200, withdrawn.text
    await app.state.jobs.run_until_idle()
    assert await bucket_keys(s3_server, s3_bucket) == []
    assert [key async for key in store.list()] == []


async def test_health_says_when_the_bucket_does_not_answer(
    tmp_path: Path, new_database: NewDatabase, s3_server: SeaweedS3, s3_media: dict[str, str]
) -> None:
    data_dir = tmp_path / "var"
    database_url = new_database(data_dir)
    answering = make_settings(data_dir, database_url=database_url, **s3_media)
    gone = make_settings(
        data_dir,
        database_url=database_url,
        **{**s3_media, "media_url": "s3://no-such-bucket-here/media"},
    )
    db = Database.open(database_url)
    try:
        assert (await check(db, answering)).media == "ok"
        health = await check(db, gone)
        assert (health.status, health.media) == ("unavailable", "unreachable")
    finally:
        await db.close()
