"""Clips for their owners and staff: captions, titles, slots, deletion, and concurrent sends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from tests.clips.helpers import Client, create, path_of, send, sign_in_as_staff
from tests.crew.helpers import Crew
from tests.media import clips as make

SRT = b"""1
00:00:00,000 --> 00:00:01,000
Hello, I am <b>Sam</b>.

2
00:00:01,000 --> 00:00:01,900
This is my story.
"""


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


async def _ready_clip(client: Client, app: Litestar, auth: dict[str, str], tmp_path: Path) -> Any:
    video = make.portrait_h264_mp4(tmp_path / "phone.mp4").read_bytes()
    path = path_of(await create(client, auth, len(video)))
    await send(client, auth, path, 0, video)
    await app.state.jobs.run_until_idle()
    [clip] = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
    assert clip["state"] == "ready"
    return clip


async def test_srt_captions_are_stored_as_webvtt(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = (await crew.volunteer("ada@crew.test"))["headers"]
    clip = await _ready_clip(client, app, ada, tmp_path)
    response = await client.put(f"/api/v1/clips/{clip['id']}/captions", content=SRT, headers=ada)
    assert response.status_code == 200, response.text
    url = response.json()["captions_url"]
    vtt = await client.get(url, headers=ada)
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT")
    assert "00:00:01.000 --> 00:00:01.900" in vtt.text
    assert "This is my story." in vtt.text


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"just some words", ""),
        (b"WEBVTT\n\n00:00:02.000 --> 00:00:01.000\nbackwards\n", ""),
        (b"WEBVTT\n\n00:00:00.000 --> 00:09:00.000\nlonger than the clip\n", ""),
        (b"\xff\xfe\x00bad", ""),
        (b"", ""),
    ],
)
async def test_bad_captions_are_refused_with_a_reason(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path, body: bytes, words: str
) -> None:
    ada = (await crew.volunteer("ada@crew.test"))["headers"]
    clip = await _ready_clip(client, app, ada, tmp_path)
    response = await client.put(f"/api/v1/clips/{clip['id']}/captions", content=body, headers=ada)
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "captions"
    assert problem["errors"][0]["message"]
    after = (await client.get(f"/api/v1/clips/{clip['id']}", headers=ada)).json()
    assert after["captions_url"] is None


async def test_clips_are_private_to_their_owner_and_staff(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = (await crew.volunteer("ada@crew.test"))["headers"]
    bo = (await crew.volunteer("bo@crew.test"))["headers"]
    clip = await _ready_clip(client, app, ada, tmp_path)
    for url in (f"/api/v1/clips/{clip['id']}", clip["video_url"], clip["poster_url"]):
        assert (await client.get(url, headers=bo)).status_code == 404
        assert (await client.get(url)).status_code in (401, 404)
        assert (await client.get(url, headers=crew.staff)).status_code == 200
    staff_list = (await client.get("/api/v1/clips", headers=crew.staff)).json()
    assert [c["id"] for c in staff_list] == [clip["id"]]
    assert (await client.get("/api/v1/clips", headers=bo)).json() == []


async def test_owner_renames_links_and_deletes_a_clip(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    volunteer = await crew.volunteer("ada@crew.test")
    ada = volunteer["headers"]
    slot = await crew.slot(2, 3)
    await crew.assign(slot["id"], volunteer["id"])
    clip = await _ready_clip(client, app, ada, tmp_path)
    renamed = await client.patch(
        f"/api/v1/clips/{clip['id']}",
        json={"title": "Sam on peer support", "slot_id": slot["id"]},
        headers=ada,
    )
    assert renamed.json()["title"] == "Sam on peer support"
    assert renamed.json()["slot_id"] == slot["id"]
    assert (await client.delete(f"/api/v1/clips/{clip['id']}", headers=ada)).status_code == 204
    assert (await client.get(f"/api/v1/clips/{clip['id']}", headers=ada)).status_code == 404
    media_root = app.state.clips.store.root
    assert [p for p in media_root.rglob("*") if p.is_file()] == []


async def test_range_requests_cover_the_whole_file_and_refuse_past_the_end(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = (await crew.volunteer("ada@crew.test"))["headers"]
    clip = await _ready_clip(client, app, ada, tmp_path)
    whole = await client.get(clip["video_url"], headers=ada)
    assert whole.status_code == 200
    assert whole.headers["accept-ranges"] == "bytes"
    size = len(whole.content)
    tail = await client.get(clip["video_url"], headers={**ada, "Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, whole.content[-10:])
    middle = await client.get(clip["video_url"], headers={**ada, "Range": "bytes=10-"})
    assert middle.content == whole.content[10:]
    past = await client.get(clip["video_url"], headers={**ada, "Range": f"bytes={size}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{size}"


async def test_staff_see_every_clip_with_its_state_on_a_page(
    client: Client, app: Litestar, crew: Crew, tmp_path: Path
) -> None:
    ada = (await crew.volunteer("ada@crew.test", name="Ada"))["headers"]
    await _ready_clip(client, app, ada, tmp_path)
    fake = make.text_as_mp4(tmp_path / "notes.mp4").read_bytes()
    path = path_of(await create(client, ada, len(fake), filename="notes.mp4"))
    await send(client, ada, path, 0, fake)
    await app.state.jobs.run_until_idle()
    await sign_in_as_staff(client)
    page = await client.get("/staff/festivals/now-fest/clips")
    assert page.status_code == 200
    assert "Ready" in page.text and "Could not be used" in page.text
    assert "Filmed by" in page.text and "Ada" in page.text
