"""The tus 1.0.0 state machine: header rules and status codes, checksums, locking,
expiry, termination, completion and resuming after a restart, over a real LocalStore."""

from __future__ import annotations

import base64
import hashlib
import os
import tracemalloc
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import anyio
import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.storage import LocalStore
from media.tus import (
    CHECKSUM_ALGORITHMS,
    SUPPORTED_EXTENSIONS,
    TUS_VERSION,
    ChecksumVerifier,
    TusEngine,
    TusError,
    UploadState,
    check_creation,
    check_patch,
    check_version,
    effective_method,
    encode_metadata,
    http_date,
    options_headers,
    parse_checksum,
    parse_metadata,
    safe_filename,
    upload_headers,
)

MiB = 1024 * 1024
MAX_SIZE = 100 * MiB
OWNER = "volunteer:7"
META = {"filename": "interview.mp4", "filetype": "video/mp4"}
OCTETS = "application/offset+octet-stream"


class MemoryStates:
    """The StateStore the festival app keeps in its database, kept in a dict for tests.
    States go through JSON as they would through a database column."""

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}

    async def get(self, upload_id: str) -> UploadState | None:
        row = self.rows.get(upload_id)
        return None if row is None else msgspec.json.decode(row, type=UploadState)

    async def put(self, state: UploadState) -> None:
        self.rows[state.id] = msgspec.json.encode(state)

    async def delete(self, upload_id: str) -> None:
        self.rows.pop(upload_id, None)

    async def list_expired(self, now: datetime) -> Sequence[UploadState]:
        states = [msgspec.json.decode(row, type=UploadState) for row in self.rows.values()]
        return [s for s in states if not s.completed and s.expires_at <= now]


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 7, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    root: Path
    store: LocalStore
    states: MemoryStates
    clock: Clock
    engine: TusEngine

    def restarted(self) -> TusEngine:
        """A new engine over a new store object on the same folder and the same saved
        states: what the service has after a restart (or on another instance)."""
        return TusEngine(LocalStore(self.root), self.states, max_size=MAX_SIZE, clock=self.clock)

    def file(self, upload_id: str) -> Path:
        return self.store.path_for(self.engine.key_for(upload_id))


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    root = tmp_path / "media"
    store, states, clock = LocalStore(root), MemoryStates(), Clock()
    engine = TusEngine(store, states, max_size=MAX_SIZE, clock=clock)
    return Rig(root, store, states, clock, engine)


def creating(length: int | str, **extra: str) -> dict[str, str]:
    headers = {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Length": str(length),
        "Upload-Metadata": encode_metadata(META),
    }
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    return headers


def patching(offset: int | str, **extra: str) -> dict[str, str]:
    headers = {"Tus-Resumable": TUS_VERSION, "Content-Type": OCTETS, "Upload-Offset": str(offset)}
    headers.update({name.replace("_", "-"): value for name, value in extra.items()})
    return headers


def checksum(algorithm: str, data: bytes) -> str:
    return f"{algorithm} {base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


def status_of(error: pytest.ExceptionInfo[TusError]) -> int:
    return error.value.status


# -- Upload-Metadata -------------------------------------------------------------------


def test_metadata_is_decoded() -> None:
    header = encode_metadata({**META, "slot": "42", "title": "Ça va? 🎥"}) + ",is_confidential"
    assert parse_metadata(header) == {
        **META,
        "slot": "42",
        "title": "Ça va? 🎥",
        "is_confidential": "",
    }
    # Spaces around commas and an empty value with its space are tolerated.
    assert parse_metadata(f"filename {b64(b'a')}, filetype {b64(b'b')},consent ") == {
        "filename": "a",
        "filetype": "b",
        "consent": "",
    }


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (f"filename {b64(b'a.mp4')}", "must include filetype"),
        (f"filename {b64(b'a.mp4')},filetype ", "filetype is empty"),
        ("", "must include filename"),
        (f"filename !!!!,filetype {b64(b'v')}", "filename: the value is not valid padded base64"),
        (f"filename YQ,filetype {b64(b'v')}", "filename: the value is not valid padded base64"),
        (
            f"filename {b64(b'a')},filetype {b64(bytes([0xFF, 0xFE]))}",
            "filetype: the value is not valid UTF-8",
        ),
        (f"filename {b64(b'a')},filename {b64(b'b')},filetype {b64(b'v')}", "filename twice"),
        (f"filename  {b64(b'a')},filetype {b64(b'v')}", "separated by one space"),
        (f"filename {b64(b'a')},,filetype {b64(b'v')}", "pair 2 is empty"),
        ("fïlename YQ==", "must be ASCII"),
        ("filename " + b64(b"x" * 4000) + ",filetype dg==", "at most 4096"),
    ],
)
def test_bad_metadata_is_a_400_naming_the_problem(header: str, words: str) -> None:
    with pytest.raises(TusError) as error:
        parse_metadata(header)
    assert status_of(error) == 400
    assert words in error.value.reason


@given(
    st.dictionaries(
        st.from_regex(r"[a-z_]{1,12}", fullmatch=True), st.text(max_size=30), max_size=6
    )
)
def test_metadata_round_trips(metadata: dict[str, str]) -> None:
    assert parse_metadata(encode_metadata(metadata), required=()) == metadata


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("interview.mp4", "interview.mp4"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\clip.mov", "clip.mov"),
        ("evil\u202emp4.exe", "evilmp4.exe"),
        ("two\nlines\t.mp4", "twolines.mp4"),
        ("  .hidden.mp4 ", "hidden.mp4"),
        ("..", "upload"),
        ("", "upload"),
    ],
)
def test_safe_filename_is_fit_for_display(raw: str, shown: str) -> None:
    assert safe_filename(raw) == shown


# -- Upload-Checksum ----------------------------------------------------------------------


def test_checksums_in_sha1_and_sha256_are_read() -> None:
    assert CHECKSUM_ALGORITHMS == ("sha1", "sha256")
    assert parse_checksum(checksum("sha1", b"hello world")) == (
        "sha1",
        hashlib.sha1(b"hello world").digest(),
    )
    # The protocol's own example.
    assert (
        parse_checksum("sha1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=")[1]
        == hashlib.sha1(b"hello world").digest()
    )
    assert parse_checksum(checksum("sha256", b""))[0] == "sha256"


@pytest.mark.parametrize(
    ("header", "words"),
    [
        ("md5 XrY7u+Ae7tCTyyK7j1rNww==", "'md5' is not supported"),
        ("SHA1 Kq5sNclPz7QV2+lfQIuc6R7oRu0=", "'SHA1' is not supported"),
        ("crc32 AAAAAA==", "not supported"),
        ("sha1", "an algorithm and a base64 digest"),
        ("sha1 ", "an algorithm and a base64 digest"),
        ("sha1 not*base64", "not valid padded base64"),
        ("sha1 " + b64(b"short"), "20 bytes, not 5"),
    ],
)
def test_bad_or_unsupported_checksums_are_400(header: str, words: str) -> None:
    with pytest.raises(TusError) as error:
        parse_checksum(header)
    assert status_of(error) == 400
    assert words in error.value.reason


def test_checksum_verifier_hashes_as_bytes_stream() -> None:
    verifier = ChecksumVerifier("sha256", hashlib.sha256(b"abcdef").digest())
    verifier.update(b"abc")
    verifier.update(b"def")
    verifier.verify()
    verifier.update(b"!")
    with pytest.raises(TusError) as error:
        verifier.verify()
    assert status_of(error) == 460


# -- version, discovery and response headers -----------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Tus-Resumable": "0.2.2"}, {"Tus-Resumable": "1.0"}])
def test_other_versions_get_412_with_tus_version(headers: dict[str, str]) -> None:
    with pytest.raises(TusError) as error:
        check_version(headers)
    assert status_of(error) == 412
    assert error.value.headers == {"Tus-Version": "1.0.0"}


def test_version_header_is_matched_without_regard_to_case() -> None:
    check_version({"tus-resumable": "1.0.0"})
    check_version({"TUS-RESUMABLE": "1.0.0"})


def test_options_headers_advertise_what_is_supported() -> None:
    assert SUPPORTED_EXTENSIONS == (
        "creation",
        "creation-with-upload",
        "termination",
        "checksum",
        "expiration",
    )
    assert options_headers(1024) == {
        "Tus-Resumable": "1.0.0",
        "Tus-Version": "1.0.0",
        "Tus-Extension": "creation,creation-with-upload,termination,checksum,expiration",
        "Tus-Max-Size": "1024",
        "Tus-Checksum-Algorithm": "sha1,sha256",
    }


def test_upload_expires_is_an_http_date() -> None:
    assert (
        http_date(datetime(2014, 6, 25, 16, 0, 0, 123, tzinfo=UTC))
        == "Wed, 25 Jun 2014 16:00:00 GMT"
    )
    in_paris = datetime(2014, 6, 25, 18, 0, tzinfo=timezone(timedelta(hours=2)))
    assert http_date(in_paris) == "Wed, 25 Jun 2014 16:00:00 GMT"


def test_method_override_is_honoured() -> None:
    assert effective_method("POST", {"X-HTTP-Method-Override": "PATCH"}) == "PATCH"
    assert effective_method("post", {}) == "POST"


# -- creation ------------------------------------------------------------------------------


@pytest.mark.parametrize("length", ["-1", "+5", " 5", "5 ", "5.0", "1e3", "0x10", "abc", "", "١٢"])
def test_upload_length_must_be_plain_digits(length: str) -> None:
    with pytest.raises(TusError) as error:
        check_creation(creating(length), MAX_SIZE)
    assert status_of(error) == 400
    assert "Upload-Length" in error.value.reason


def test_upload_length_over_the_maximum_is_413() -> None:
    with pytest.raises(TusError) as error:
        check_creation(creating(MAX_SIZE + 1), MAX_SIZE)
    assert status_of(error) == 413
    assert error.value.headers == {"Tus-Max-Size": str(MAX_SIZE)}
    with pytest.raises(TusError) as error:
        check_creation(creating("9" * 30), MAX_SIZE)
    assert status_of(error) == 413
    assert check_creation(creating(MAX_SIZE), MAX_SIZE).length == MAX_SIZE


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"Upload-Defer-Length": "1"}, "not both"),
        ({"Upload-Length": None, "Upload-Defer-Length": "1"}, "deferred length is not supported"),
        ({"Upload-Length": None, "Upload-Defer-Length": "2"}, "must be 1"),
        ({"Upload-Length": None}, "Upload-Length is required"),
        ({"Upload-Concat": "partial"}, "concatenation is not supported"),
        ({"Content-Length": "-3"}, "Content-Length"),
        ({"Upload-Checksum": "md5 AAAA"}, "not supported"),
    ],
)
def test_contradictory_or_unsupported_creation_is_400(
    change: dict[str, str | None], words: str
) -> None:
    headers = creating(10)
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    with pytest.raises(TusError) as error:
        check_creation(headers, MAX_SIZE)
    assert status_of(error) == 400
    assert words in error.value.reason


def test_creation_with_data_needs_the_offset_content_type() -> None:
    for content_type in ("text/plain", "application/octet-stream", None):
        headers = creating(10, Content_Length="5")
        if content_type:
            headers["Content-Type"] = content_type
        with pytest.raises(TusError) as error:
            check_creation(headers, MAX_SIZE)
        assert status_of(error) == 415
    request = check_creation(creating(10, Content_Length="5", Content_Type=OCTETS), MAX_SIZE)
    assert request.has_body and request.content_length == 5
    assert not check_creation(creating(10, Content_Length="0"), MAX_SIZE).has_body
    with pytest.raises(TusError) as error:
        check_creation(creating(10, Content_Length="11", Content_Type=OCTETS), MAX_SIZE)
    assert status_of(error) == 413


async def test_create_then_head(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    assert (state.offset, state.length, state.completed) == (0, 10, False)
    assert state.metadata == META
    assert state.expires_at == rig.clock.now + timedelta(hours=24)
    assert rig.file(state.id).read_bytes() == b""
    head = await rig.engine.head(state.id, OWNER)
    assert upload_headers(head, head=True) == {
        "Tus-Resumable": "1.0.0",
        "Upload-Offset": "0",
        "Upload-Length": "10",
        "Upload-Metadata": encode_metadata(META),
        "Upload-Expires": "Sun, 05 Jul 2026 12:00:00 GMT",
        "Cache-Control": "no-store",
    }


async def test_creation_with_upload_takes_the_first_chunk(rig: Rig) -> None:
    headers = creating(11, Content_Type=OCTETS, Content_Length="5")
    state = await rig.engine.create(headers, OWNER, chunks_of(b"hello"))
    assert state.offset == 5
    assert upload_headers(state)["Upload-Offset"] == "5"
    whole = await rig.engine.create(
        creating(11, Content_Type=OCTETS, Upload_Checksum=checksum("sha1", b"hello world")),
        OWNER,
        chunks_of(b"hello", b" world"),
    )
    assert whole.completed and whole.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert "Upload-Expires" not in upload_headers(whole)


async def test_a_failed_first_chunk_leaves_no_upload_behind(rig: Rig) -> None:
    headers = creating(11, Content_Type=OCTETS, Upload_Checksum=checksum("sha1", b"something else"))
    with pytest.raises(TusError) as error:
        await rig.engine.create(headers, OWNER, chunks_of(b"hello world"))
    assert status_of(error) == 460
    assert rig.states.rows == {}
    assert [key async for key in rig.store.list()] == []


async def test_an_empty_upload_is_complete_at_once(rig: Rig) -> None:
    state = await rig.engine.create(creating(0), OWNER)
    assert state.completed and state.sha256 == hashlib.sha256(b"").hexdigest()


# -- PATCH -----------------------------------------------------------------------------------


async def test_patches_resume_to_completion_with_the_sha256_of_the_whole(rig: Rig) -> None:
    state = await rig.engine.create(creating(11), OWNER)
    state = await rig.engine.patch(state.id, patching(0), chunks_of(b"hel", b"lo"), OWNER)
    assert (state.offset, state.completed) == (5, False)
    assert upload_headers(state)["Upload-Offset"] == "5"
    state = await rig.engine.patch(state.id, patching(5), chunks_of(b" world"), OWNER)
    assert (state.offset, state.completed) == (11, True)
    assert state.sha256 == hashlib.sha256(b"hello world").hexdigest()
    assert rig.file(state.id).read_bytes() == b"hello world"
    assert (await rig.engine.head(state.id)).completed


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Content-Type": "application/octet-stream"}, 415),
        ({"Content-Type": None}, 415),
        ({"Upload-Offset": None}, 400),
        ({"Upload-Offset": "-5"}, 400),
        ({"Upload-Offset": "5 "}, 400),
        ({"Upload-Offset": "4"}, 409),
        ({"Upload-Offset": "6"}, 409),
        ({"Upload-Offset": "0"}, 409),
        ({"Content-Length": "6"}, 413),
        ({"Content-Length": "x"}, 400),
        ({"Upload-Length": "12"}, 400),
        ({"Upload-Checksum": "md5 XrY7u+Ae7tCTyyK7j1rNww=="}, 400),
    ],
)
async def test_bad_patches_are_refused_and_change_nothing(
    rig: Rig, headers: dict[str, str | None], status: int
) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    state = await rig.engine.patch(state.id, patching(0), chunks_of(b"hello"), OWNER)
    request = patching(5)
    for name, value in headers.items():
        if value is None:
            del request[name]
        else:
            request[name] = value
    with pytest.raises(TusError) as error:
        await rig.engine.patch(state.id, request, chunks_of(b"world"), OWNER)
    assert status_of(error) == status
    assert (await rig.engine.head(state.id)).offset == 5
    assert rig.file(state.id).read_bytes() == b"hello"


def test_check_patch_on_its_own() -> None:
    now = datetime(2026, 7, 4, tzinfo=UTC)
    state = UploadState(
        id="0" * 32, owner=OWNER, length=10, offset=3, created_at=now, expires_at=now + timedelta(1)
    )
    request = check_patch(
        patching(3, Content_Length="7", Upload_Checksum=checksum("sha1", b"x")), state, now
    )
    assert request.offset == 3 and request.content_length == 7
    assert request.checksum is not None and request.checksum[0] == "sha1"
    with pytest.raises(TusError) as error:
        check_patch(patching(3), state, now + timedelta(days=2))
    assert status_of(error) == 410
    with pytest.raises(TusError) as error:
        check_patch({**patching(3), "upload-offset": "4"}, state, now)
    assert status_of(error) == 400  # the same header twice with different values


async def test_a_body_longer_than_upload_length_is_413_and_nothing_is_kept(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    state = await rig.engine.patch(state.id, patching(0), chunks_of(b"abc"), OWNER)
    # No Content-Length (chunked), so the excess is only found while streaming.
    with pytest.raises(TusError) as error:
        await rig.engine.patch(state.id, patching(3), chunks_of(b"defg", b"hijk"), OWNER)
    assert status_of(error) == 413
    assert (await rig.engine.head(state.id)).offset == 3
    assert rig.file(state.id).read_bytes() == b"abc"


@pytest.mark.parametrize("algorithm", ["sha1", "sha256"])
async def test_checksums_are_verified(rig: Rig, algorithm: str) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    good = patching(0, Upload_Checksum=checksum(algorithm, b"hello"))
    state = await rig.engine.patch(state.id, good, chunks_of(b"he", b"llo"), OWNER)
    assert state.offset == 5

    bad = patching(5, Upload_Checksum=checksum(algorithm, b"world"))
    with pytest.raises(TusError) as error:
        await rig.engine.patch(state.id, bad, chunks_of(b"wor", b"1d"), OWNER)
    assert status_of(error) == 460
    assert (await rig.engine.head(state.id)).offset == 5
    assert rig.file(state.id).read_bytes() == b"hello"  # the bad chunk was rolled back

    state = await rig.engine.patch(state.id, bad, chunks_of(b"world"), OWNER)
    assert state.completed and state.sha256 == hashlib.sha256(b"helloworld").hexdigest()


async def test_a_dropped_connection_keeps_what_arrived(rig: Rig) -> None:
    async def dropped() -> AsyncIterator[bytes]:
        yield b"a" * 3000
        raise ConnectionResetError("wifi gone")

    state = await rig.engine.create(creating(10_000), OWNER)
    with pytest.raises(ConnectionResetError):
        await rig.engine.patch(state.id, patching(0), dropped(), OWNER)
    state = await rig.engine.head(state.id)
    assert state.offset == 3000
    state = await rig.engine.patch(state.id, patching(3000), chunks_of(b"b" * 7000), OWNER)
    assert state.completed
    assert state.sha256 == hashlib.sha256(b"a" * 3000 + b"b" * 7000).hexdigest()


async def test_a_dropped_connection_with_a_checksum_keeps_nothing(rig: Rig) -> None:
    async def dropped() -> AsyncIterator[bytes]:
        yield b"a" * 3000
        raise ConnectionResetError("wifi gone")

    state = await rig.engine.create(creating(10_000), OWNER)
    request = patching(0, Upload_Checksum=checksum("sha256", b"a" * 10_000))
    with pytest.raises(ConnectionResetError):
        await rig.engine.patch(state.id, request, dropped(), OWNER)
    assert (await rig.engine.head(state.id)).offset == 0
    assert rig.file(state.id).read_bytes() == b""


async def test_a_finished_upload_takes_no_more_bytes(rig: Rig) -> None:
    state = await rig.engine.create(creating(5), OWNER)
    state = await rig.engine.patch(state.id, patching(0), chunks_of(b"hello"), OWNER)
    assert state.completed
    same = await rig.engine.patch(state.id, patching(5, Content_Length="0"), chunks_of(), OWNER)
    assert same == state
    with pytest.raises(TusError) as error:
        await rig.engine.patch(state.id, patching(5, Content_Length="3"), chunks_of(b"abc"), OWNER)
    assert status_of(error) == 413
    with pytest.raises(TusError) as error:
        await rig.engine.patch(state.id, patching(0), chunks_of(b"hello"), OWNER)
    assert status_of(error) == 409


# -- who may see an upload ----------------------------------------------------------------------


async def test_unknown_ids_and_other_owners_get_404(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    for upload_id, owner in [
        ("f" * 32, OWNER),
        ("../../etc/passwd", OWNER),
        (state.id.upper(), OWNER),
        (state.id, "volunteer:8"),
    ]:
        with pytest.raises(TusError) as error:
            await rig.engine.head(upload_id, owner)
        assert status_of(error) == 404
        with pytest.raises(TusError) as error:
            await rig.engine.patch(upload_id, patching(0), chunks_of(b"x"), owner)
        assert status_of(error) == 404
        with pytest.raises(TusError) as error:
            await rig.engine.terminate(upload_id, owner)
        assert status_of(error) == 404
    assert (await rig.engine.head(state.id, None)).id == state.id  # staff see every upload


# -- concurrency --------------------------------------------------------------------------------


async def test_concurrent_patches_one_wins_and_bytes_never_interleave(rig: Rig) -> None:
    state = await rig.engine.create(creating(2000), OWNER)
    halfway, release = anyio.Event(), anyio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"A" * 1000
        halfway.set()
        await release.wait()
        yield b"A" * 1000

    finished: list[UploadState] = []

    async def first() -> None:
        finished.append(await rig.engine.patch(state.id, patching(0), slow(), OWNER))

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(first)
        await halfway.wait()
        with pytest.raises(TusError) as error:
            await rig.engine.patch(state.id, patching(0), chunks_of(b"B" * 2000), OWNER)
        assert status_of(error) == 423
        # Another instance (its own store object, so only the file lock stands in the way).
        with pytest.raises(TusError) as error:
            await rig.restarted().patch(state.id, patching(0), chunks_of(b"C" * 2000), OWNER)
        assert status_of(error) == 423
        with pytest.raises(TusError) as error:
            await rig.engine.terminate(state.id, OWNER)
        assert status_of(error) == 423
        release.set()

    assert finished[0].completed
    assert rig.file(state.id).read_bytes() == b"A" * 2000


async def test_many_racing_patches_leave_exactly_one_writer(rig: Rig) -> None:
    state = await rig.engine.create(creating(64 * 1024), OWNER)
    outcomes: list[str] = []

    async def attempt(letter: bytes) -> None:
        engine = rig.restarted()
        try:
            await engine.patch(
                state.id, patching(0), chunks_of(letter * 32 * 1024, letter * 32 * 1024)
            )
            outcomes.append(letter.decode())
        except TusError as error:
            outcomes.append(str(error.status))

    async with anyio.create_task_group() as tasks:
        for letter in b"ABCDEFGH":
            tasks.start_soon(attempt, bytes([letter]))

    winners = [o for o in outcomes if o.isalpha()]
    assert len(winners) == 1
    assert set(outcomes) - set(winners) <= {"423", "409"}
    assert rig.file(state.id).read_bytes() == winners[0].encode() * 64 * 1024


# -- expiry and termination ---------------------------------------------------------------------


async def test_expired_uploads_get_410_then_404_after_cleanup(rig: Rig) -> None:
    stale = await rig.engine.create(creating(10), OWNER)
    stale = await rig.engine.patch(stale.id, patching(0), chunks_of(b"abc"), OWNER)
    done = await rig.engine.create(creating(3), OWNER)
    done = await rig.engine.patch(done.id, patching(0), chunks_of(b"xyz"), OWNER)

    rig.clock.now += timedelta(hours=23)
    fresh = await rig.engine.create(creating(10), OWNER)
    assert await rig.engine.expire() == []

    rig.clock.now += timedelta(hours=1, seconds=1)
    with pytest.raises(TusError) as error:
        await rig.engine.head(stale.id, OWNER)
    assert status_of(error) == 410
    with pytest.raises(TusError) as error:
        await rig.engine.patch(stale.id, patching(3), chunks_of(b"d"), OWNER)
    assert status_of(error) == 410

    assert await rig.engine.expire() == [stale.id]
    with pytest.raises(TusError) as error:
        await rig.engine.head(stale.id, OWNER)
    assert status_of(error) == 404
    assert not rig.file(stale.id).exists()
    assert (await rig.engine.head(done.id)).completed  # finished uploads do not expire
    assert (await rig.engine.head(fresh.id)).offset == 0


async def test_each_patch_pushes_expiry_forward(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    rig.clock.now += timedelta(hours=20)
    state = await rig.engine.patch(state.id, patching(0), chunks_of(b"abc"), OWNER)
    assert state.expires_at == rig.clock.now + timedelta(hours=24)
    rig.clock.now += timedelta(hours=20)
    assert await rig.engine.expire() == []
    assert (await rig.engine.head(state.id)).offset == 3


async def test_expiry_leaves_an_upload_being_written_to_for_next_time(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    rig.clock.now += timedelta(days=2)
    async with rig.store.lock(rig.engine.key_for(state.id)):
        assert await rig.engine.expire() == []
    assert await rig.engine.expire() == [state.id]


async def test_termination_removes_bytes_and_state(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    await rig.engine.patch(state.id, patching(0), chunks_of(b"abc"), OWNER)
    await rig.engine.terminate(state.id, OWNER)
    assert not rig.file(state.id).exists()
    assert rig.states.rows == {}
    for call in (rig.engine.head(state.id), rig.engine.terminate(state.id)):
        with pytest.raises(TusError) as error:
            await call
        assert status_of(error) == 404


# -- restarts ------------------------------------------------------------------------------------


async def test_an_upload_resumes_after_a_restart(rig: Rig) -> None:
    data = os.urandom(300_000)
    state = await rig.engine.create(creating(len(data)), OWNER)
    await rig.engine.patch(state.id, patching(0), chunks_of(data[:100_000]), OWNER)

    engine = rig.restarted()
    state = await engine.head(state.id, OWNER)
    assert state.offset == 100_000
    state = await engine.patch(state.id, patching(100_000), chunks_of(data[100_000:]), OWNER)
    assert state.completed and state.sha256 == hashlib.sha256(data).hexdigest()


async def test_bytes_synced_but_never_acknowledged_are_dropped_after_a_crash(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    await rig.engine.patch(state.id, patching(0), chunks_of(b"hello"), OWNER)
    with rig.file(state.id).open("ab") as file:  # a crash after the sync, before the record
        file.write(b"XX")

    engine = rig.restarted()
    assert (await engine.head(state.id)).offset == 5
    state = await engine.patch(state.id, patching(5), chunks_of(b"world"), OWNER)
    assert state.completed and rig.file(state.id).read_bytes() == b"helloworld"


async def test_a_file_shorter_than_the_record_lowers_the_offset(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    await rig.engine.patch(state.id, patching(0), chunks_of(b"hello"), OWNER)
    os.truncate(rig.file(state.id), 3)  # restored from an older backup, say

    engine = rig.restarted()
    assert (await engine.head(state.id)).offset == 3
    with pytest.raises(TusError) as error:
        await engine.patch(state.id, patching(5), chunks_of(b"world"), OWNER)
    assert status_of(error) == 409
    state = await engine.patch(state.id, patching(3), chunks_of(b"loworld"), OWNER)
    assert state.completed and rig.file(state.id).read_bytes() == b"helloworld"


async def test_an_upload_whose_bytes_vanished_is_gone(rig: Rig) -> None:
    state = await rig.engine.create(creating(10), OWNER)
    rig.file(state.id).unlink()
    for call in (
        rig.engine.head(state.id),
        rig.engine.patch(state.id, patching(0), chunks_of(b"x")),
    ):
        with pytest.raises(TusError) as error:
            await call
        assert status_of(error) == 404
    await rig.engine.terminate(state.id)
    assert rig.states.rows == {}


# -- memory --------------------------------------------------------------------------------------


async def test_a_50_mb_patch_streams_in_flat_memory(rig: Rig) -> None:
    piece = os.urandom(64 * 1024)
    piece_buffer = bytearray(piece)
    count = 50 * MiB // len(piece)
    whole = hashlib.sha256()
    for _ in range(count):
        whole.update(piece)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield bytes(piece_buffer)  # a new object each time, as a server would give

    state = await rig.engine.create(creating(count * len(piece)), OWNER)
    request = patching(0, Upload_Checksum=f"sha256 {b64(whole.digest())}")
    tracemalloc.start()
    try:
        state = await rig.engine.patch(state.id, request, body(), OWNER)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert state.completed and state.sha256 == whole.hexdigest()
    # One 1 MiB batch is written while the next fills, plus thread start-up: a few MiB
    # whatever the upload's size (50 MiB here).
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB"
