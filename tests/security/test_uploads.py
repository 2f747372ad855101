"""Uploads are judged by their bytes, not their name or claimed type, and what is served
back carries a type we chose."""

from __future__ import annotations

from pathlib import Path

from litestar import Litestar

from tests.clips.helpers import Client, create, path_of, send
from tests.media import clips as make
from tests.security.helpers import World


async def _upload(
    client: Client, app: Litestar, auth: dict[str, str], data: bytes, **meta: str
) -> dict[str, object]:
    path = path_of(await create(client, auth, len(data), **meta))
    await send(client, auth, path, 0, data)
    await app.state.jobs.run_until_idle()
    clips = (await client.get("/api/v1/my-clips", headers=auth)).json()["clips"]
    newest: dict[str, object] = max(clips, key=lambda c: c["id"])
    return newest


async def test_a_real_video_named_as_text_is_taken_as_video(
    client: Client, app: Litestar, world: World, tmp_path: Path
) -> None:
    auth = world.volunteer["headers"]
    video = make.portrait_h264_mp4(tmp_path / "story.mp4").read_bytes()
    clip = await _upload(client, app, auth, video, filename="notes.txt", filetype="text/plain")
    assert clip["state"] == "ready", clip
    web = await client.get(f"/media/clips/{clip['id']}/web.mp4", headers=auth)
    assert web.status_code == 200
    assert web.headers["content-type"] == "video/mp4"
    assert web.content[4:8] == b"ftyp"


async def test_an_html_page_named_mp4_is_refused_and_nothing_is_kept(
    client: Client, app: Litestar, world: World, settings: object
) -> None:
    auth = world.volunteer["headers"]
    page = b"<!doctype html><html><script>alert(document.cookie)</script></html>" * 50
    clip = await _upload(client, app, auth, page, filename="interview.mp4", filetype="video/mp4")
    assert clip["state"] == "failed", clip
    assert "video" in str(clip.get("problem") or clip.get("state_reason") or clip), clip
    for name in ("original", "web.mp4", "poster.jpg"):
        response = await client.get(f"/media/clips/{clip['id']}/{name}", headers=auth)
        assert response.status_code == 404, (name, response.status_code)


async def test_the_original_is_served_as_a_download_whatever_type_was_claimed(
    client: Client, app: Litestar, world: World, tmp_path: Path, staff_headers: dict[str, str]
) -> None:
    auth = world.volunteer["headers"]
    video = make.portrait_h264_mp4(tmp_path / "story.mp4").read_bytes()
    clip = await _upload(
        client, app, auth, video, filename="page.html", filetype="text/html; charset=utf-8"
    )
    assert clip["state"] == "ready", clip
    original = await client.get(f"/media/clips/{clip['id']}/original", headers=staff_headers)
    assert original.status_code == 200
    assert original.content == video
    assert original.headers["content-type"] == "application/octet-stream"
    assert original.headers["content-disposition"].startswith("attachment;")
    assert original.headers["x-content-type-options"] == "nosniff"
