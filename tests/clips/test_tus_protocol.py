"""Uploads from phones over tus 1.0.0: every status code the protocol names, over HTTP."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from litestar import Litestar

from festival.db.engine import Database
from festival.db.tables import uploads
from tests.clips.helpers import OCTETS, TUS, Client, checksum, create, metadata, path_of, send
from tests.crew.helpers import Crew
from tests.media import clips as make


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def ada(crew: Crew) -> dict[str, str]:
    volunteer = await crew.volunteer("ada@crew.test", name="Ada")
    return volunteer["headers"]  # type: ignore[no-any-return]


async def test_discovery_lists_version_extensions_and_limits(client: Client) -> None:
    response = await client.options("/api/v1/uploads")
    assert response.status_code == 204
    assert response.headers["tus-resumable"] == "1.0.0"
    assert response.headers["tus-version"] == "1.0.0"
    extensions = set(response.headers["tus-extension"].split(","))
    assert {
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    } <= extensions
    assert int(response.headers["tus-max-size"]) == 4 * 1024**3
    assert set(response.headers["tus-checksum-algorithm"].split(",")) == {"sha1", "sha256"}


async def test_anonymous_upload_is_401(client: Client) -> None:
    response = await create(client, {}, 10, status=401)
    assert "signed-in volunteer or staff" in response.json()["detail"]


async def test_upload_in_chunks_becomes_a_clip(
    client: Client, app: Litestar, ada: dict[str, str], tmp_path: Path
) -> None:
    video = make.portrait_h264_mp4(tmp_path / "phone.mp4").read_bytes()
    created = await create(client, ada, len(video), filename="Interview with Sam.mp4")
    path = path_of(created)
    assert created.headers["upload-offset"] == "0"
    assert "upload-expires" in created.headers
    head = await client.head(path, headers={**ada, **TUS})
    assert (head.status_code, head.headers["upload-offset"]) == (200, "0")
    assert head.headers["upload-length"] == str(len(video))
    assert head.headers["cache-control"] == "no-store"

    middle = len(video) // 2
    await send(
        client, ada, path, 0, video[:middle], Upload_Checksum=checksum("sha1", video[:middle])
    )
    resumed = await client.head(path, headers={**ada, **TUS})
    assert resumed.headers["upload-offset"] == str(middle)
    done = await send(
        client,
        ada,
        path,
        middle,
        video[middle:],
        Upload_Checksum=checksum("sha256", video[middle:]),
    )
    assert done.headers["upload-offset"] == str(len(video))

    mine = (await client.get("/api/v1/my-clips", headers=ada)).json()
    assert mine["uploads"] == []
    [clip] = mine["clips"]
    assert clip["state"] == "processing"
    assert clip["title"] == "Interview with Sam"
    assert clip["original_sha256"] == hashlib.sha256(video).hexdigest()
    assert clip["original_size"] == len(video)

    await app.state.jobs.run_until_idle()
    ready = (await client.get(f"/api/v1/clips/{clip['id']}", headers=ada)).json()
    assert ready["state"] == "ready"
    assert ready["width"] < ready["height"], "a portrait phone clip stays portrait"
    assert ready["video_url"] == f"/media/clips/{clip['id']}/web.mp4"
    poster = await client.get(ready["poster_url"], headers=ada)
    assert (poster.status_code, poster.headers["content-type"]) == (200, "image/jpeg")
    first_bytes = await client.get(ready["video_url"], headers={**ada, "Range": "bytes=0-99"})
    assert first_bytes.status_code == 206
    assert len(first_bytes.content) == 100
    assert first_bytes.headers["content-range"].startswith("bytes 0-99/")
    assert first_bytes.headers["cache-control"] == "private, no-store"


async def test_creation_with_upload_takes_the_whole_file_at_once(
    client: Client, ada: dict[str, str]
) -> None:
    body = b"x" * 1000
    response = await client.post(
        "/api/v1/uploads",
        content=body,
        headers={
            **ada,
            **TUS,
            "Upload-Length": "1000",
            "Upload-Metadata": metadata(filename="a.mp4", filetype="video/mp4"),
            "Content-Type": OCTETS,
        },
    )
    assert response.status_code == 201
    assert response.headers["upload-offset"] == "1000"
    assert len((await client.get("/api/v1/my-clips", headers=ada)).json()["clips"]) == 1


async def test_wrong_version_is_412(client: Client, ada: dict[str, str]) -> None:
    response = await client.post(
        "/api/v1/uploads",
        headers={
            **ada,
            "Tus-Resumable": "0.2.2",
            "Upload-Length": "10",
            "Upload-Metadata": metadata(filename="a.mp4", filetype="video/mp4"),
        },
    )
    assert response.status_code == 412
    assert response.headers["tus-version"] == "1.0.0"


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({"Upload-Length": "-5"}, 400, "Upload-Length"),
        ({"Upload-Length": "ten"}, 400, "Upload-Length"),
        ({"Upload-Length": str(5 * 1024**3)}, 413, ""),
        ({"Upload-Metadata": metadata(filetype="video/mp4")}, 400, "filename"),
        ({"Upload-Metadata": "filename %%%,filetype dmlkZW8vbXA0"}, 400, "filename"),
        ({"Upload-Metadata": "filename /w==,filetype dmlkZW8vbXA0"}, 400, "UTF-8"),
        ({"Upload-Metadata": metadata(filename="a", filetype="v", slot="abc")}, 400, "slot"),
        ({"Upload-Metadata": metadata(filename="a", filetype="v", slot="999")}, 400, "no slot 999"),
    ],
)
async def test_bad_creation_headers_are_refused_and_nothing_is_kept(
    client: Client,
    ada: dict[str, str],
    db: Database,
    headers: dict[str, str],
    status: int,
    words: str,
) -> None:
    full = {
        **ada,
        **TUS,
        "Upload-Length": "10",
        "Upload-Metadata": metadata(filename="a.mp4", filetype="video/mp4"),
    }
    full.update(headers)
    response = await client.post("/api/v1/uploads", headers=full)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert words in response.json()["detail"]
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(uploads))).scalar() == 0


async def test_patch_rules_offset_409_type_415_checksum_460(
    client: Client, ada: dict[str, str]
) -> None:
    path = path_of(await create(client, ada, 10))
    wrong_offset = await send(client, ada, path, 3, b"abc", status=409)
    assert "offset" in wrong_offset.json()["detail"].lower()
    wrong_type = await client.patch(
        path,
        content=b"abc",
        headers={**ada, **TUS, "Upload-Offset": "0", "Content-Type": "text/plain"},
    )
    assert wrong_type.status_code == 415
    bad_sum = await send(
        client, ada, path, 0, b"abc", status=460, Upload_Checksum=checksum("sha1", b"xyz")
    )
    assert bad_sum.headers["tus-resumable"] == "1.0.0"
    unknown_algorithm = await send(
        client, ada, path, 0, b"abc", status=400, Upload_Checksum="md5 kAFQmDzST7DWlj99KOF/cg=="
    )
    assert unknown_algorithm.status_code == 400
    head = await client.head(path, headers={**ada, **TUS})
    assert head.headers["upload-offset"] == "0", "refused bytes are not kept"
    too_much = await send(client, ada, path, 0, b"x" * 11, status=413)
    assert too_much.status_code == 413


async def test_another_volunteer_cannot_see_or_touch_an_upload(
    client: Client, crew: Crew, ada: dict[str, str]
) -> None:
    bo = (await crew.volunteer("bo@crew.test"))["headers"]
    path = path_of(await create(client, ada, 10))
    assert (await client.head(path, headers={**bo, **TUS})).status_code == 404
    await send(client, bo, path, 0, b"abc", status=404)
    assert (await client.delete(path, headers={**bo, **TUS})).status_code == 404
    staff_view = await client.head(path, headers={**crew.staff, **TUS})
    assert staff_view.status_code == 200


async def test_terminated_upload_is_gone(client: Client, ada: dict[str, str]) -> None:
    path = path_of(await create(client, ada, 10))
    await send(client, ada, path, 0, b"abc")
    assert (await client.delete(path, headers={**ada, **TUS})).status_code == 204
    assert (await client.head(path, headers={**ada, **TUS})).status_code == 404


async def test_expired_upload_is_410_then_cleaned_away(
    client: Client, app: Litestar, ada: dict[str, str], db: Database
) -> None:
    path = path_of(await create(client, ada, 10))
    await send(client, ada, path, 0, b"abc")
    async with db.write() as conn:
        an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
        await conn.execute(sa.update(uploads).values(expires_at=an_hour_ago))
    assert (await client.head(path, headers={**ada, **TUS})).status_code == 410
    await send(client, ada, path, 3, b"def", status=410)
    await app.state.jobs.enqueue("expire-uploads", {})
    await app.state.jobs.run_one()
    assert (await client.head(path, headers={**ada, **TUS})).status_code == 404
    media_root = app.state.clips.store.root
    assert list((media_root / "originals").iterdir()) == []


async def test_a_file_that_is_not_video_is_refused_with_a_reason_and_not_kept(
    client: Client, app: Litestar, ada: dict[str, str], tmp_path: Path
) -> None:
    fake = make.text_as_mp4(tmp_path / "notes.mp4").read_bytes()
    path = path_of(await create(client, ada, len(fake)))
    await send(client, ada, path, 0, fake)
    await app.state.jobs.run_until_idle()
    [clip] = (await client.get("/api/v1/my-clips", headers=ada)).json()["clips"]
    assert clip["state"] == "failed"
    assert clip["failure_reason"]
    assert clip["video_url"] is None and clip["original_url"] is None
    media_root = app.state.clips.store.root
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


async def test_slot_in_metadata_must_be_one_of_the_volunteers(
    client: Client, crew: Crew, ada: dict[str, str]
) -> None:
    ada_id = (await client.get("/api/v1/volunteer/me", headers=ada)).json()["id"]
    mine = await crew.slot(2, 3)
    theirs = await crew.slot(4, 5)
    await crew.assign(mine["id"], ada_id)
    await create(client, ada, 10, slot=str(mine["id"]))
    refused = await create(client, ada, 10, status=403, slot=str(theirs["id"]))
    assert f"slot {theirs['id']}" in refused.json()["detail"]
