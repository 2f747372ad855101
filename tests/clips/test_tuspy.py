"""tuspy, a tus client nobody here wrote, against the real app on a real port.

Each test starts the app with uvicorn in a thread (``LiveServer``), with its job worker
running, and a volunteer invited through the festival's own services. tuspy (PyPI
``tuspy``, imported as ``tusclient``) then uploads a generated portrait phone clip: in
one go, broken off part-way and resumed by a new client, and with its per-chunk
``Upload-Checksum`` (sha1).

tuspy opens the file itself when given a path and never closes it (``get_file_size`` and
``get_file_stream``), which shows up as ``ResourceWarning`` under warnings-as-errors. So
the tests hand tuspy an open file (``file_stream=``) they close themselves; the bytes
sent and the requests made are the same.
"""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from tusclient.client import TusClient
from tusclient.exceptions import TusUploadFailed
from tusclient.uploader import Uploader

from festival.crew.schemas import InviteIn
from festival.crew.service import invite
from festival.db.engine import Database
from festival.programme.schemas import FestivalIn
from festival.programme.service import create_festival
from tests.browser.conftest import LiveServer
from tests.conftest import NewDatabase, run_async
from tests.media import clips as make

pytestmark = pytest.mark.slow

SLUG = "tuspy-fest"
CHUNK = 64 * 1024
METADATA = {"filename": "Interview on the stairs.mp4", "filetype": "video/mp4"}
TUS = {"Tus-Resumable": "1.0.0"}


@pytest.fixture
def server(tmp_path: Path, new_database: NewDatabase) -> Iterator[LiveServer]:
    data_dir = tmp_path / "var"
    live = LiveServer(data_dir, new_database(data_dir)).start()
    yield live
    live.stop()


@pytest.fixture
def auth(server: LiveServer) -> dict[str, str]:
    """A volunteer of a festival happening now, signed in with their invite token."""

    async def setup() -> str:
        db = Database.open(server.settings.database_url)
        try:
            today = datetime.now(UTC).date()
            await create_festival(
                db,
                FestivalIn(
                    slug=SLUG,
                    name="Tuspy Festival",
                    starts_on=today - timedelta(days=1),
                    ends_on=today + timedelta(days=2),
                    timezone="UTC",
                ),
            )
            invitation = await invite(
                db, SLUG, InviteIn(email="ada@crew.test", name="Ada"), server.settings.base_url
            )
            return invitation.token
        finally:
            await db.close()

    return {"Authorization": f"Bearer {run_async(setup())}"}


@pytest.fixture(scope="module")
def phone_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """About 400 KB of portrait H.264: several 64 KB chunks."""
    path = make.portrait_h264_mp4(tmp_path_factory.mktemp("tuspy") / "phone.mp4", seconds=6)
    assert path.stat().st_size > 6 * CHUNK
    return path


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _head_offset(url: str, auth: dict[str, str]) -> int:
    response = httpx.head(url, headers={**auth, **TUS})
    assert response.status_code == 200, response.text
    return int(response.headers["upload-offset"])


def _my_clips(server: LiveServer, auth: dict[str, str]) -> dict[str, Any]:
    response = httpx.get(f"{server.url}/api/v1/my-clips", headers=auth)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _wait_until_ready(server: LiveServer, auth: dict[str, str], clip_id: int) -> dict[str, Any]:
    """The live server's job worker probes the clip and makes its poster and rendition."""
    deadline = time.monotonic() + 60
    while True:
        response = httpx.get(f"{server.url}/api/v1/clips/{clip_id}", headers=auth)
        assert response.status_code == 200, response.text
        clip: dict[str, Any] = response.json()
        if clip["state"] != "processing" or time.monotonic() > deadline:
            return clip
        time.sleep(0.2)


def _finished_clip(server: LiveServer, auth: dict[str, str], source: Path) -> dict[str, Any]:
    mine = _my_clips(server, auth)
    assert mine["uploads"] == [], "a finished upload is no longer listed as in progress"
    [clip] = mine["clips"]
    assert clip["original_sha256"] == _sha256(source)
    assert clip["original_size"] == source.stat().st_size
    assert clip["original_filename"] == METADATA["filename"]
    ready = _wait_until_ready(server, auth, clip["id"])
    assert ready["state"] == "ready", ready
    assert ready["width"] < ready["height"], "the portrait clip stays portrait"
    return ready


def test_tuspy_uploads_a_phone_clip_that_becomes_ready(
    server: LiveServer, auth: dict[str, str], phone_clip: Path
) -> None:
    client = TusClient(f"{server.url}/api/v1/uploads", headers=auth)
    with phone_clip.open("rb") as stream:
        uploader = client.uploader(file_stream=stream, chunk_size=CHUNK, metadata=METADATA)
        uploader.upload()
    assert uploader.url is not None
    assert uploader.url.startswith(f"{server.url}/api/v1/uploads/")
    assert uploader.offset == phone_clip.stat().st_size
    _finished_clip(server, auth, phone_clip)


def _drop_mid_request(url: str, auth: dict[str, str], offset: int, sent: bytes) -> None:
    """A PATCH whose connection dies part-way: it announces a whole chunk, sends only
    ``sent``, stalls and hangs up, as a phone does when the wifi goes.

    The stall matters: uvicorn drops body bytes the app has not read yet when it sees
    the connection close, so the server can only keep what it had read by then."""
    target = urlsplit(url)
    assert target.hostname is not None and target.port is not None
    head = (
        f"PATCH {target.path} HTTP/1.1\r\nHost: {target.netloc}\r\n"
        f"Authorization: {auth['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
        f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
        f"Content-Length: {CHUNK}\r\n\r\n"
    ).encode()
    with socket.create_connection((target.hostname, target.port), timeout=10) as sock:
        sock.sendall(head + sent)
        time.sleep(0.5)


def test_tuspy_resumes_a_broken_off_upload_with_a_new_client(
    server: LiveServer, auth: dict[str, str], phone_clip: Path
) -> None:
    data = phone_clip.read_bytes()
    first = TusClient(f"{server.url}/api/v1/uploads", headers=auth)
    with phone_clip.open("rb") as stream:
        uploader = first.uploader(file_stream=stream, chunk_size=CHUNK, metadata=METADATA)
        for _ in range(3):
            uploader.upload_chunk()
        url, client_offset = uploader.url, uploader.offset
    assert url is not None
    assert client_offset == 3 * CHUNK
    del uploader, first  # the phone's app is closed

    # The next chunk is under way when the connection drops: the server keeps what
    # arrived, so the upload now stands where no client was told it stands.
    partial = 20_000
    _drop_mid_request(url, auth, client_offset, data[client_offset : client_offset + partial])
    expected = client_offset + partial
    deadline = time.monotonic() + 10
    while _head_offset(url, auth) != expected:
        assert time.monotonic() < deadline, "the server never recorded the bytes that arrived"
        time.sleep(0.05)
    pending = _my_clips(server, auth)["uploads"]
    assert [(u["url"], u["offset"]) for u in pending] == [(url, expected)]

    # A new client, given only the upload's URL, asks HEAD where to go on from.
    second = TusClient(f"{server.url}/api/v1/uploads", headers=auth)
    with phone_clip.open("rb") as stream:
        resumed = second.uploader(file_stream=stream, url=url, chunk_size=CHUNK)
        assert resumed.offset == expected, "the resume starts at the server's offset, not 0"
        resumed.upload()
    assert resumed.offset == len(data)

    ready = _finished_clip(server, auth, phone_clip)
    original = httpx.get(f"{server.url}{ready['original_url']}", headers=auth)
    assert original.status_code == 200
    assert original.content == data, "no byte was lost or sent twice across the break"


class _WrongChecksumUploader(Uploader):
    """tuspy with a broken digest: the sha1 of other bytes than those it sends."""

    CHECKSUM_ALGORITHM_PAIR = ("sha1", lambda chunk: hashlib.sha1(b"not " + chunk))


def test_tuspy_checksums_are_verified(
    server: LiveServer, auth: dict[str, str], phone_clip: Path
) -> None:
    # tuspy's checksum support: upload_checksum=True sends Upload-Checksum (sha1) with
    # every PATCH, which the server checks before it accepts the chunk.
    client = TusClient(f"{server.url}/api/v1/uploads", headers=auth)
    with phone_clip.open("rb") as stream:
        bad = _WrongChecksumUploader(
            file_stream=stream,
            client=client,
            chunk_size=CHUNK,
            metadata=METADATA,
            upload_checksum=True,
        )
        with pytest.raises(TusUploadFailed) as refused:
            bad.upload_chunk()  # creates the upload, then sends a chunk that fails
    assert refused.value.status_code == 460
    assert bad.url is not None
    assert _head_offset(bad.url, auth) == 0, "a chunk failing its checksum is not kept"

    with phone_clip.open("rb") as stream:
        good = client.uploader(
            file_stream=stream, url=bad.url, chunk_size=CHUNK, upload_checksum=True
        )
        assert good.offset == 0
        good.upload()
    assert good.offset == phone_clip.stat().st_size
    _finished_clip(server, auth, phone_clip)
