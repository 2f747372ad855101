"""Hostile files and names sent through tus as a volunteer's phone would send them.

The tus protocol accepts the bytes (it cannot know what they are); processing then refuses
the file. "Nothing stored" means: the original is deleted, no poster, rendition or scratch
file is left in the media store or the work directory, and no upload row remains. The clip
row stays, in state "failed" with a reason the volunteer can read on "Your clips", because
that is how the volunteer learns what went wrong; it holds no media.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar

from festival.db.engine import Database
from festival.db.tables import uploads
from tests.clips.helpers import TUS, Client, create, metadata, path_of, send
from tests.crew.helpers import Crew
from tests.hostile import corpus

SECONDS_TO_REFUSE = 30.0
"""Each refusal takes milliseconds; a trap that worked would take minutes."""


@pytest.fixture
async def crew(client: Client, staff_headers: dict[str, str]) -> Crew:
    return await Crew(client, staff_headers).setup()


@pytest.fixture
async def ada(crew: Crew) -> dict[str, str]:
    volunteer = await crew.volunteer("ada@crew.test", name="Ada")
    return volunteer["headers"]  # type: ignore[no-any-return]


def files_in(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


async def upload(client: Client, auth: dict[str, str], data: bytes, filename: str) -> None:
    created = await create(client, auth, len(data), filename=filename)
    if data:
        await send(client, auth, path_of(created), 0, data)


async def assert_nothing_kept(app: Litestar, db: Database) -> None:
    clips = app.state.clips
    assert files_in(clips.store.root) == [], "no original, poster or rendition is kept"
    assert files_in(clips.work_dir) == [], "no scratch file is left behind"
    async with db.read() as conn:
        left = (await conn.execute(sa.select(sa.func.count()).select_from(uploads))).scalar()
    assert left == 0, "no upload row is left"


async def assert_healthy(client: Client, auth: dict[str, str]) -> None:
    assert (await client.get("/health")).status_code == 200
    assert (await client.get("/api/v1/my-clips", headers=auth)).status_code == 200
    options = await client.options("/api/v1/uploads")
    assert options.status_code == 204


def _kept(name: str) -> Callable[[Path], bytes]:
    return lambda folder: corpus.kept(name)


def _made(make: Callable[[Path], Path], name: str) -> Callable[[Path], bytes]:
    return lambda folder: make(folder / name).read_bytes()


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (_made(corpus.empty, "empty.mp4"), "This file is empty"),
        (_made(corpus.truncated, "cut.mp4"), "incomplete"),
        (_kept("questions.mp4"), "text document, not a video"),
        (_kept("download-page.mp4"), "web page saved under a video's name"),
        (_made(corpus.zip_named_mp4, "archive.mp4"), "zip archive, not a video"),
        (_made(corpus.claims_100k_square, "huge.mp4"), "picture size"),
        (_made(corpus.png_bomb, "bomb.mp4"), "upload the video again"),
        (_made(corpus.thousand_frames_a_second, "fast.mp4"), "1000 pictures a second"),
    ],
    ids=["zero-byte", "truncated", "text", "html", "zip", "100k-pixels", "png-bomb", "1000fps"],
)
async def test_a_hostile_file_is_refused_with_a_reason_and_nothing_of_it_is_kept(
    client: Client,
    app: Litestar,
    db: Database,
    ada: dict[str, str],
    tmp_path: Path,
    make: Callable[[Path], bytes],
    words: str,
) -> None:
    await upload(client, ada, make(tmp_path), "interview.mp4")
    started = time.monotonic()
    await app.state.jobs.run_until_idle()
    assert time.monotonic() - started < SECONDS_TO_REFUSE

    [clip] = (await client.get("/api/v1/my-clips", headers=ada)).json()["clips"]
    assert clip["state"] == "failed"
    assert words in clip["failure_reason"]
    assert "av." not in clip["failure_reason"] and "Errno" not in clip["failure_reason"]
    for url in ("video_url", "poster_url", "original_url"):
        assert clip.get(url) is None, url
    for name in ("original", "web.mp4", "poster.jpg"):
        gone = await client.get(f"/media/clips/{clip['id']}/{name}", headers=ada)
        assert gone.status_code == 404, (name, gone.text)
    await assert_nothing_kept(app, db)
    await assert_healthy(client, ada)


@pytest.mark.parametrize(
    ("filename", "shown"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("/etc/cron.d/festival.mp4", "festival.mp4"),
        ("C:\\Users\\sam\\interview.mp4", "interview.mp4"),
        ("inter\x00view.mp4", "interview.mp4"),
        ("\u202eexe.mp4", "exe.mp4"),
        ("..", "upload"),
        ("x" * 1000 + ".mp4", "x" * 200),
    ],
    ids=["dot-dot", "backslashes", "absolute", "windows", "nul", "bidi", "only-dots", "long"],
)
async def test_path_tricks_in_the_file_name_write_nothing_outside_the_store(
    client: Client,
    app: Litestar,
    settings: Any,
    ada: dict[str, str],
    tmp_path: Path,
    filename: str,
    shown: str,
) -> None:
    before = {p for p in tmp_path.rglob("*") if p.is_file()}
    await upload(client, ada, corpus.kept("questions.mp4"), filename)
    [clip] = (await client.get("/api/v1/my-clips", headers=ada)).json()["clips"]
    assert clip["original_filename"] == shown
    assert "/" not in clip["title"] and "\\" not in clip["title"] and "\x00" not in clip["title"]
    assert len(clip["title"]) <= 200
    stored = files_in(app.state.clips.store.root)
    assert [p.parent.name for p in stored] == ["originals"], stored
    assert shown not in str(stored[0]), "the stored file is named by id, never by the upload"
    after = {p for p in tmp_path.rglob("*") if p.is_file()}
    data_dir = Path(settings.data_dir)
    assert all(data_dir in p.parents for p in after - before), after - before
    staff_list = await client.get("/api/v1/clips", headers=ada)
    assert filename not in staff_list.text
    await app.state.jobs.run_until_idle()
    await assert_healthy(client, ada)


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({"Upload-Length": "10", "Upload-Defer-Length": "1"}, 400, "not both"),
        ({"Upload-Length": "+10"}, 400, "Upload-Length"),
        ({"Upload-Length": "1e3"}, 400, "Upload-Length"),
        ({"Upload-Length": "9" * 5000}, 400, "Upload-Length"),
        ({"Upload-Length": " 10"}, 400, "Upload-Length"),
        ({"Tus-Resumable": "1.0.0, 0.2.2"}, 412, "Tus-Resumable"),
        ({"Tus-Resumable": ""}, 412, "Tus-Resumable"),
        ({"Upload-Metadata": "filename YS5tcDQ=,filename Yi5tcDQ=,filetype dg=="}, 400, "twice"),
        ({"Upload-Metadata": "filename YS5tcDQ"}, 400, "base64"),
        ({"Upload-Metadata": "filename YS5tcDQ="}, 400, "filetype"),
        ({"Upload-Metadata": "filename YS5tcDQ=,filetype"}, 400, "filetype is empty"),
        ({"Upload-Metadata": "filename  YS5tcDQ=,filetype dg=="}, 400, "one space"),
        ({"Upload-Metadata": "x " + "QUFB" * 2000}, 400, "at most 4096"),
        ({"Upload-Metadata": "fïlename YQ==,filetype dg==".encode()}, 400, "ASCII"),
        ({"Upload-Checksum": "md5 kAFQmDzST7DWlj99KOF/cg=="}, 400, "not supported"),
        ({"Upload-Checksum": "sha1 not*base64"}, 400, "base64"),
        ({"Upload-Checksum": "sha1 " + "A" * 8000}, 400, "digest"),
        ({"Upload-Concat": "final;/a /b"}, 400, "concatenation"),
    ],
)
async def test_malformed_or_contradictory_creation_headers_are_refused(
    client: Client,
    app: Litestar,
    db: Database,
    ada: dict[str, str],
    headers: dict[str, str | bytes],
    status: int,
    words: str,
) -> None:
    full: dict[str, str | bytes] = {
        **ada,
        **TUS,
        "Upload-Length": "10",
        "Upload-Metadata": metadata(filename="a.mp4", filetype="video/mp4"),
        **headers,
    }
    raw = {k.encode(): v if isinstance(v, bytes) else v.encode() for k, v in full.items()}
    response = await client.post("/api/v1/uploads", headers=raw)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert words in problem["detail"], problem
    assert problem["fix"]
    await assert_nothing_kept(app, db)
    await assert_healthy(client, ada)


@pytest.mark.parametrize(
    ("headers", "status", "words"),
    [
        ({"Upload-Offset": "-1"}, 400, "Upload-Offset"),
        ({"Upload-Offset": "abc"}, 400, "Upload-Offset"),
        ({"Upload-Offset": "9" * 5000}, 400, "Upload-Offset"),
        ({"Upload-Offset": "4"}, 409, "ask HEAD"),
        ({"Upload-Length": "11"}, 400, "cannot change"),
        ({"Content-Type": "application/octet-stream"}, 415, "Content-Type"),
        ({"Content-Type": "multipart/form-data; boundary=x"}, 415, "Content-Type"),
        ({"Tus-Resumable": "2.0.0"}, 412, "Tus-Resumable"),
        ({"Upload-Checksum": "sha256 " + "A" * 8000}, 400, "digest"),
        ({"Upload-Checksum": "sha1"}, 400, "algorithm and a base64 digest"),
    ],
)
async def test_malformed_or_contradictory_patch_headers_are_refused_and_nothing_moves(
    client: Client,
    ada: dict[str, str],
    headers: dict[str, str],
    status: int,
    words: str,
) -> None:
    path = path_of(await create(client, ada, 10))
    await send(client, ada, path, 0, b"abc")
    response = await client.patch(
        path,
        content=b"defg",
        headers={
            **ada,
            **TUS,
            "Upload-Offset": "3",
            "Content-Type": "application/offset+octet-stream",
            **headers,
        },
    )
    assert response.status_code == status, response.text
    assert words in response.json()["detail"]
    head = await client.head(path, headers={**ada, **TUS})
    assert head.headers["upload-offset"] == "3", "nothing of a refused PATCH is kept"
    await send(client, ada, path, 3, b"defghij")
    await assert_healthy(client, ada)
