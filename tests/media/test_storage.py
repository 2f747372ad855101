"""The media stores: atomic finished objects, partial objects written at an offset,
exclusive locks, strict keys, ranges and flat memory, each checked against LocalStore
and against S3Store over a real S3 server (SeaweedFS); then what only one of them has
(flock between processes, temporary files; parts in the bucket, a second instance)."""

from __future__ import annotations

import asyncio
import functools
import os
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio
import obstore
import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.locks import FileLocks
from media.s3 import S3Store
from media.storage import CHUNK_SIZE, LocalStore, ObjectLocked, Store, check_key
from tests.s3_server import SeaweedS3

MiB = 1024 * 1024
PREFIX = "media"

# The S3 store in these tests cuts partial objects into 1 MiB parts (5 MiB in service),
# so that every test of partial objects crosses part boundaries.
TEST_PART_SIZE = MiB

AnyStore = LocalStore | S3Store
Listing = Callable[[], Awaitable[list[str]]]


def make_s3_store(
    server: SeaweedS3, bucket: str, tmp_path: Path, *, part_size: int = TEST_PART_SIZE
) -> S3Store:
    return S3Store(
        bucket,
        PREFIX,
        locks=FileLocks(tmp_path / "locks"),
        endpoint=server.endpoint,
        region=server.region,
        access_key_id=server.access_key,
        secret_access_key=server.secret_key,
        scratch_dir=tmp_path / "downloads",
        part_size=part_size,
    )


# SeaweedFS tests are marked slow: each is quick, but together they add about ten
# seconds (a bucket per test), which `make test-fast` leaves out.
slow = pytest.mark.slow


@pytest.fixture(params=["local", pytest.param("s3", marks=slow)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> AnyStore:
    if request.param == "local":
        return LocalStore(tmp_path / "media")
    # Asked for only here, so a run of the local tests alone never starts SeaweedFS.
    server: SeaweedS3 = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    return make_s3_store(server, bucket, tmp_path)


@pytest.fixture
def twin(store: AnyStore, request: pytest.FixtureRequest, tmp_path: Path) -> AnyStore:
    """A second store over the same objects, as another process or instance has."""
    if isinstance(store, LocalStore):
        return LocalStore(store.root)
    server: SeaweedS3 = request.getfixturevalue("s3_server")
    return make_s3_store(server, store.bucket, tmp_path)


@pytest.fixture
def stored(store: AnyStore, request: pytest.FixtureRequest) -> Listing:
    """Everything the store keeps, looked at from behind its back: every file (hidden
    temporaries too) or every S3 object under the prefix (staged parts too)."""
    if isinstance(store, LocalStore):

        async def files() -> list[str]:
            return all_files(store.root)

        return files
    server: SeaweedS3 = request.getfixturevalue("s3_server")
    raw = server.client(store.bucket)

    async def objects() -> list[str]:
        listed = await obstore.list(raw, f"{PREFIX}/").collect_async()
        return sorted(meta["path"].removeprefix(f"{PREFIX}/") for meta in listed)

    return objects


def all_files(root: Path) -> list[str]:
    """Every file under root, hidden ones included (temporary files start with a dot)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def collect(store: Store, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([piece async for piece in store.read_range(key, start, end)])


# -- finished objects ------------------------------------------------------------------


async def test_an_object_appears_only_when_its_write_commits(
    store: AnyStore, stored: Listing
) -> None:
    async with store.open_write("clips/a/original.mp4") as writer:
        await writer.write(b"hello ")
        await writer.write(b"world")
        assert writer.size == 11
        assert not await store.exists("clips/a/original.mp4")
    assert await collect(store, "clips/a/original.mp4") == b"hello world"
    assert await stored() == ["clips/a/original.mp4"]


async def test_an_exception_mid_write_leaves_no_object_and_no_temporary_file(
    store: AnyStore, stored: Listing
) -> None:
    with pytest.raises(RuntimeError, match="camera fell in the river"):
        async with store.open_write("clips/a/original.mp4") as writer:
            await writer.write(b"x" * (3 * MiB))  # enough to have reached the disk
            raise RuntimeError("camera fell in the river")
    assert not await store.exists("clips/a/original.mp4")
    assert await stored() == []


async def test_a_failed_rewrite_keeps_the_old_object(store: AnyStore, stored: Listing) -> None:
    async with store.open_write("captions/a.vtt") as writer:
        await writer.write(b"old")
    with pytest.raises(ValueError):
        async with store.open_write("captions/a.vtt") as writer:
            await writer.write(b"new and broken")
            raise ValueError("bad cue")
    assert await collect(store, "captions/a.vtt") == b"old"
    assert await stored() == ["captions/a.vtt"]


async def test_a_cancelled_write_leaves_nothing(store: AnyStore, stored: Listing) -> None:
    with anyio.move_on_after(0.05):
        async with store.open_write("clips/b.mp4") as writer:
            await writer.write(b"x" * MiB)
            await anyio.sleep(10)
    assert await stored() == []


async def test_put_file_copies_or_moves_a_local_file_in(
    store: AnyStore, stored: Listing, tmp_path: Path
) -> None:
    source = tmp_path / "rendition.mp4"
    source.write_bytes(b"r" * 100_000)
    await store.put_file("clips/a/web.mp4", source)
    assert source.exists()
    await store.put_file("clips/a/web2.mp4", source, move=True)
    assert not source.exists()
    assert await collect(store, "clips/a/web.mp4") == b"r" * 100_000
    assert await collect(store, "clips/a/web2.mp4") == b"r" * 100_000
    assert await stored() == ["clips/a/web.mp4", "clips/a/web2.mp4"]


async def test_move_renames_and_missing_objects_are_reported(store: AnyStore) -> None:
    async with store.open_write("uploads/u1") as writer:
        await writer.write(b"data")
    await store.move("uploads/u1", "clips/c1/original.mp4")
    assert not await store.exists("uploads/u1")
    assert await collect(store, "clips/c1/original.mp4") == b"data"
    with pytest.raises(FileNotFoundError):
        await store.move("uploads/u1", "clips/c2/original.mp4")


async def test_a_partial_object_moves_into_a_finished_one(store: AnyStore, stored: Listing) -> None:
    data = os.urandom(TEST_PART_SIZE * 2 + 12_345)  # three parts in S3
    assert await store.append("uploads/u", chunks_of(data[:1000]), offset=0) == 1000
    assert await store.append("uploads/u", chunks_of(data[1000:]), offset=1000) == len(data)
    await store.move("uploads/u", "clips/c/original.mp4")
    assert not await store.exists("uploads/u")
    assert await store.size("clips/c/original.mp4") == len(data)
    assert await collect(store, "clips/c/original.mp4") == data
    assert await stored() == ["clips/c/original.mp4"]


async def test_delete_list_prefix_and_paths(store: AnyStore) -> None:
    for key in ("clips/a/original.mp4", "clips/a/poster.jpg", "clips/ab/x", "other/y"):
        async with store.open_write(key) as writer:
            await writer.write(key.encode())
    if isinstance(store, LocalStore):  # a write in progress: never listed
        (store.root / "clips" / "a" / ".original.mp4.deadbeef.tmp").write_bytes(b"in progress")

    assert [k async for k in store.list("clips/a")] == [
        "clips/a/original.mp4",
        "clips/a/poster.jpg",
    ]
    assert [k async for k in store.list("clips/")] == [
        "clips/a/original.mp4",
        "clips/a/poster.jpg",
        "clips/ab/x",
    ]
    assert len([k async for k in store.list()]) == 4
    assert [k async for k in store.list("nothing/here")] == []

    async with store.open_path("other/y") as path:
        assert path.read_bytes() == b"other/y"
    with pytest.raises(FileNotFoundError):
        async with store.open_path("other/z"):
            pass
    assert await store.url_for("other/y") is None

    await store.delete("other/y")
    await store.delete("other/y")  # deleting twice is fine
    assert not await store.exists("other/y")
    await store.delete_prefix("clips/a")
    assert [k async for k in store.list()] == ["clips/ab/x"]
    with pytest.raises(ValueError):
        await store.delete_prefix("")


async def test_partial_objects_are_listed_once_and_deleted_whole(
    store: AnyStore, stored: Listing
) -> None:
    big = b"p" * (TEST_PART_SIZE + 10)
    await store.append("uploads/u1", chunks_of(big), offset=0)
    await store.append("uploads/u2", chunks_of(), offset=0)  # created, still empty
    async with store.open_write("uploads/u3") as writer:
        await writer.write(b"finished")
    assert [k async for k in store.list("uploads")] == ["uploads/u1", "uploads/u2", "uploads/u3"]
    assert [k async for k in store.list()] == ["uploads/u1", "uploads/u2", "uploads/u3"]
    assert await store.size("uploads/u2") == 0
    await store.delete("uploads/u1")
    assert [k async for k in store.list()] == ["uploads/u2", "uploads/u3"]
    await store.delete_prefix("uploads")
    assert await stored() == []


# -- keys ------------------------------------------------------------------------------


BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "clips/../../outside",
    "clips/./a",
    "clips//a",
    "clips/a/",
    "clips\\a",
    "clips/a\x00b",
    ".hidden",
    "clips/.a.tmp",
    "clips/a b",
    "clips/é.mp4",
    "clips/a?b",
    "clips/a:b",
    "~/x",
    "x" * 2000,
    ".partial/clips/a/00000000000000000000",  # the S3 store's staging folder
]


async def test_bad_keys_are_refused_everywhere(store: AnyStore, stored: Listing) -> None:
    # One test per store, not per key: each S3 test pays for a fresh bucket.
    for key in BAD_KEYS:
        with pytest.raises(ValueError):
            check_key(key)
        with pytest.raises(ValueError):
            await store.size(key)
        with pytest.raises(ValueError):
            async with store.open_write(key):
                pass
        with pytest.raises(ValueError):
            await store.append(key, chunks_of(b"x"), offset=0)
        with pytest.raises(ValueError):
            await store.truncate(key, 0)
        with pytest.raises(ValueError):
            await store.delete(key)
        with pytest.raises(ValueError):
            await store.move(key, "clips/fine")
        with pytest.raises(ValueError):
            await store.move("clips/fine", key)
        with pytest.raises(ValueError):
            async with store.lock(key):
                pass
        with pytest.raises(ValueError):
            async with store.open_path(key):
                pass
        with pytest.raises(ValueError):
            await collect(store, key)
        with pytest.raises(ValueError):
            await store.url_for(key)
    assert await stored() == []


def test_good_keys_are_accepted() -> None:
    for key in ("a", "clips/3f2a/original.mp4", "uploads/0123abcd", "x/y_z-1.2.vtt"):
        assert check_key(key) == key


@given(st.text(max_size=40))
def test_no_key_reaches_outside_the_root(
    tmp_path_factory: pytest.TempPathFactory, key: str
) -> None:
    store = LocalStore(tmp_path_factory.getbasetemp() / "keys")
    try:
        path = store.path_for(key)
    except ValueError:
        return
    assert path.resolve().is_relative_to(store.root)
    assert path != store.root


# -- ranges ----------------------------------------------------------------------------


async def test_read_range_streams_bounded_pieces(store: AnyStore) -> None:
    data = bytes(range(256)) * 1000  # 256 000 bytes
    async with store.open_write("clips/r") as writer:
        await writer.write(data)
    pieces = [piece async for piece in store.read_range("clips/r")]
    assert b"".join(pieces) == data
    assert max(len(piece) for piece in pieces) == CHUNK_SIZE
    assert await collect(store, "clips/r", 0, 100) == data[:100]
    assert await collect(store, "clips/r", 100_000, 200_001) == data[100_000:200_001]
    assert await collect(store, "clips/r", 255_990) == data[255_990:]
    assert await collect(store, "clips/r", 5, 5) == b""
    assert await collect(store, "clips/r", 250_000, 999_999) == data[250_000:]  # clamped
    assert await collect(store, "clips/r", 300_000) == b""
    with pytest.raises(ValueError):
        await collect(store, "clips/r", 10, 5)
    with pytest.raises(ValueError):
        await collect(store, "clips/r", -1)
    with pytest.raises(FileNotFoundError):
        await collect(store, "clips/missing")
    with pytest.raises(FileNotFoundError):
        await collect(store, "clips/missing", 5, 5)


async def test_an_empty_object_reads_as_nothing(store: AnyStore) -> None:
    async with store.open_write("captions/empty.vtt"):
        pass
    assert await store.size("captions/empty.vtt") == 0
    assert await collect(store, "captions/empty.vtt") == b""
    assert await collect(store, "captions/empty.vtt", 0, 10) == b""
    async with store.open_path("captions/empty.vtt") as path:
        assert path.read_bytes() == b""


# -- partial objects -------------------------------------------------------------------


async def test_append_writes_at_the_offset_and_returns_the_new_size(store: AnyStore) -> None:
    assert await store.append("uploads/u", chunks_of(b"abc", b"", b"def"), offset=0) == 6
    assert await store.append("uploads/u", chunks_of(b"gh"), offset=6) == 8
    assert await collect(store, "uploads/u") == b"abcdefgh"
    with pytest.raises(ValueError, match="holds 8 bytes"):
        await store.append("uploads/u", chunks_of(b"zz"), offset=4)
    with pytest.raises(ValueError, match="holds 8 bytes"):
        await store.append("uploads/u", chunks_of(b"zz"), offset=0)
    with pytest.raises(FileNotFoundError):
        await store.append("uploads/missing", chunks_of(b"zz"), offset=3)
    with pytest.raises(FileNotFoundError):
        await store.truncate("uploads/missing", 0)
    await store.truncate("uploads/u", 3)
    assert await store.size("uploads/u") == 3
    with pytest.raises(ValueError):
        await store.truncate("uploads/u", 10)
    assert await store.append("uploads/u", chunks_of(b"XYZ"), offset=3) == 6
    assert await collect(store, "uploads/u") == b"abcXYZ"
    await store.truncate("uploads/u", 0)
    assert await store.exists("uploads/u")
    assert await store.size("uploads/u") == 0
    assert await store.append("uploads/u", chunks_of(b"again"), offset=0) == 5
    assert await collect(store, "uploads/u") == b"again"


async def test_append_observes_each_batch_in_order(store: AnyStore) -> None:
    seen: list[bytes] = []
    data = os.urandom(3 * TEST_PART_SIZE + 999)
    pieces = [data[at : at + 50_000] for at in range(0, len(data), 50_000)]
    end = await store.append(
        "uploads/u", chunks_of(*pieces), offset=0, observe=lambda b: seen.extend(b)
    )
    assert end == len(data)
    assert b"".join(seen) == data
    async with store.open_path("uploads/u") as path:
        assert path.read_bytes() == data


async def test_append_keeps_what_arrived_before_the_source_failed(store: AnyStore) -> None:
    async def dropped() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        yield b"b" * 1000
        raise ConnectionResetError("wifi gone")

    await store.append("uploads/u", chunks_of(), offset=0)
    with pytest.raises(ConnectionResetError):
        await store.append("uploads/u", dropped(), offset=0)
    assert await store.size("uploads/u") == 2000


async def test_a_lock_is_exclusive_within_the_process(store: AnyStore, twin: AnyStore) -> None:
    await store.append("uploads/u", chunks_of(b"x"), offset=0)
    async with store.lock("uploads/u"):
        with pytest.raises(ObjectLocked):
            async with store.lock("uploads/u"):
                pass
        with pytest.raises(ObjectLocked):  # flock, not just the in-process set
            async with twin.lock("uploads/u"):
                pass
    async with twin.lock("uploads/u"):
        pass
    with pytest.raises(FileNotFoundError):
        async with store.lock("uploads/none"):
            pass


HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
"""


def test_a_lock_held_by_another_process_is_respected(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "media")

    async def try_lock() -> bool:
        try:
            async with store.lock("uploads/u"):
                return True
        except ObjectLocked:
            return False

    anyio.run(functools.partial(store.append, "uploads/u", chunks_of(b"x"), offset=0))
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(store.path_for("uploads/u"))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"
        assert anyio.run(try_lock) is False
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=10)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdin is not None:
            holder.stdin.close()
        if holder.stdout is not None:
            holder.stdout.close()
    assert anyio.run(try_lock) is True


async def test_an_object_deleted_under_its_lock_cannot_be_locked_again(store: AnyStore) -> None:
    await store.append("uploads/u", chunks_of(b"x"), offset=0)
    async with store.lock("uploads/u"):
        await store.delete("uploads/u")
    with pytest.raises(FileNotFoundError):
        async with store.lock("uploads/u"):
            pass


# -- memory --------------------------------------------------------------------------------


async def test_memory_stays_flat_while_streaming_50_mb(store: AnyStore) -> None:
    piece = os.urandom(CHUNK_SIZE)
    piece_buffer = bytearray(piece)
    count = 50 * MiB // CHUNK_SIZE

    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield bytes(piece_buffer)  # a new object each time, as a server would give

    tracemalloc.start()
    try:
        async with store.open_write("clips/big") as writer:
            async for chunk in body():
                await writer.write(chunk)
        await store.append("uploads/big", body(), offset=0)
        total = 0
        async for chunk in store.read_range("uploads/big"):
            total += len(chunk)
        async with store.open_path("clips/big") as path:
            assert path.stat().st_size == count * CHUNK_SIZE
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == count * CHUNK_SIZE
    assert await store.size("clips/big") == count * CHUNK_SIZE
    if isinstance(store, LocalStore):
        # append writes one 1 MiB batch while the next fills, plus worker-thread
        # start-up: a few MiB whatever the size streamed (50 MiB here).
        assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB"
    else:
        # open_write: obstore holds the bytes written until their 5 MiB part is sent
        # (one part filling, up to two in flight); append: one part sent, one filling.
        # About 10 MiB, whatever the size streamed.
        assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB"


async def test_a_sweep_removes_a_dead_writers_temporary_and_keeps_a_live_one(
    tmp_path: Path,
) -> None:
    store = LocalStore(tmp_path / "media")
    # A writer killed part-way (kill -9) leaves its temporary behind, held by nobody.
    dead = store.root / "clips" / "7" / ".web.mp4.0123456789abcdef.tmp"
    dead.parent.mkdir(parents=True)
    dead.write_bytes(b"half a rendition")
    async with store.open_write("clips/7/captions.vtt") as writer:
        await writer.write(b"WEBVTT\n")
        [live] = [p for p in dead.parent.iterdir() if p.name.startswith(".captions.vtt.")]
        assert await store.sweep_temporaries(remove=False) == ["clips/7/" + dead.name]
        assert await store.sweep_temporaries() == ["clips/7/" + dead.name]
        assert live.exists(), "the temporary being written is left alone"
    assert not dead.exists()
    assert sorted(p.name for p in dead.parent.iterdir()) == ["captions.vtt"]
    assert await collect(store, "clips/7/captions.vtt") == b"WEBVTT\n"
    assert await store.sweep_temporaries() == []


# -- S3 only ---------------------------------------------------------------------------


@pytest.fixture
def s3_store(s3_server: SeaweedS3, s3_bucket: str, tmp_path: Path) -> S3Store:
    return make_s3_store(s3_server, s3_bucket, tmp_path)


async def raw_objects(server: SeaweedS3, bucket: str) -> list[str]:
    listed = await obstore.list(server.client(bucket)).collect_async()
    return sorted(meta["path"] for meta in listed)


@slow
async def test_s3_an_upload_started_on_one_instance_is_resumed_on_another(
    s3_server: SeaweedS3, s3_bucket: str, tmp_path: Path
) -> None:
    # Two app instances: their own S3 clients, one bucket, one lock folder (one machine).
    first = make_s3_store(s3_server, s3_bucket, tmp_path)
    second = make_s3_store(s3_server, s3_bucket, tmp_path)
    data = os.urandom(2 * TEST_PART_SIZE + 77)
    await first.append("originals/u", chunks_of(), offset=0)
    async with first.lock("originals/u"):
        end = await first.append("originals/u", chunks_of(data[:1_500_000]), offset=0)
        with pytest.raises(ObjectLocked):  # the second instance must wait its turn
            async with second.lock("originals/u"):
                pass
    assert end == 1_500_000
    # The first instance goes away; the client carries on with the second.
    assert await second.size("originals/u") == 1_500_000
    async with second.lock("originals/u"):
        end = await second.append("originals/u", chunks_of(data[end:]), offset=end)
    assert end == len(data)
    assert await collect(second, "originals/u") == data
    assert await collect(first, "originals/u", 1_000_000, 1_600_000) == data[1_000_000:1_600_000]
    async with first.open_path("originals/u") as path:
        assert path.read_bytes() == data
    await first.move("originals/u", "clips/1/original.mp4")
    assert await collect(second, "clips/1/original.mp4") == data
    assert await raw_objects(s3_server, s3_bucket) == [f"{PREFIX}/clips/1/original.mp4"]


@slow
async def test_s3_an_aborted_write_leaves_no_object_and_no_upload(
    s3_server: SeaweedS3, s3_bucket: str, s3_store: S3Store
) -> None:
    async with s3_store.open_write("clips/1/web.mp4") as writer:
        await writer.write(b"old")
    with pytest.raises(RuntimeError):
        async with s3_store.open_write("clips/1/web.mp4") as writer:
            for _ in range(12):  # past one multipart part: a multipart upload is open
                await writer.write(b"n" * MiB)
            assert s3_server.incomplete_uploads(s3_bucket), "a multipart upload started"
            raise RuntimeError("transcoder crashed")
    # SeaweedFS answers the abort before it has removed the upload's folder: give it
    # a moment, but the upload must go.
    for _ in range(100):
        if not s3_server.incomplete_uploads(s3_bucket):
            break
        await asyncio.sleep(0.1)
    assert s3_server.incomplete_uploads(s3_bucket) == []
    assert await collect(s3_store, "clips/1/web.mp4") == b"old"
    assert await raw_objects(s3_server, s3_bucket) == [f"{PREFIX}/clips/1/web.mp4"]


@slow
async def test_s3_a_cancelled_big_write_aborts_its_upload(
    s3_server: SeaweedS3, s3_bucket: str, s3_store: S3Store
) -> None:
    with anyio.CancelScope() as scope:
        async with s3_store.open_write("clips/2/web.mp4") as writer:
            for _ in range(12):
                await writer.write(b"n" * MiB)
            scope.cancel()
            await anyio.sleep(10)
    assert scope.cancelled_caught
    assert s3_server.incomplete_uploads(s3_bucket) == []
    assert await raw_objects(s3_server, s3_bucket) == []


@slow
async def test_s3_range_reads_across_part_boundaries(
    s3_server: SeaweedS3, s3_bucket: str, tmp_path: Path
) -> None:
    store = make_s3_store(s3_server, s3_bucket, tmp_path, part_size=10)
    data = bytes(range(256)) * 2  # 512 bytes in parts of 10 or a little more
    end = 0
    for size in (1, 9, 10, 25, 3, 64, 400):
        body = data[end : end + size]
        sevens = [body[at : at + 7] for at in range(0, len(body), 7)]
        end = await store.append("originals/u", chunks_of(*sevens), offset=end)
    assert end == len(data)
    raw = await raw_objects(s3_server, s3_bucket)
    starts = [int(path.rsplit("/", 1)[1]) for path in raw]
    # Parts end where an append ends, or at the first chunk past 10 bytes.
    assert starts[:8] == [0, 1, 10, 20, 34, 45, 48, 62]
    assert len(starts) > 30
    edges = [0, 1, 9, 10, 11, 20, 33, 34, 35, 62, 511, 512, 600]
    for start in edges:
        for stop in edges:
            if stop >= start:
                got = await collect(store, "originals/u", start, stop)
                assert got == data[start:stop], (start, stop)
    assert await collect(store, "originals/u", 505) == data[505:]


@slow
async def test_s3_list_shows_keys_and_hides_the_staging_parts(
    s3_server: SeaweedS3, s3_bucket: str, s3_store: S3Store
) -> None:
    await s3_store.append("originals/u1", chunks_of(b"x" * TEST_PART_SIZE, b"y"), offset=0)
    await s3_store.append("originals/u1/more", chunks_of(b"a longer key"), offset=0)
    async with s3_store.open_write("clips/1/web.mp4") as writer:
        await writer.write(b"web")
    assert await raw_objects(s3_server, s3_bucket) == [
        f"{PREFIX}/.partial/originals/u1/00000000000000000000",
        f"{PREFIX}/.partial/originals/u1/00000000000001048576",
        f"{PREFIX}/.partial/originals/u1/more/00000000000000000000",
        f"{PREFIX}/clips/1/web.mp4",
    ]
    assert [k async for k in s3_store.list()] == [
        "clips/1/web.mp4",
        "originals/u1",
        "originals/u1/more",
    ]
    assert [k async for k in s3_store.list("originals/u1")] == ["originals/u1/more"]
    assert [k async for k in s3_store.list("originals")] == ["originals/u1", "originals/u1/more"]
    assert await s3_store.size("originals/u1") == TEST_PART_SIZE + 1
    assert await s3_store.size("originals/u1/more") == 12
    await s3_store.delete("originals/u1")  # the longer key's parts are its own
    assert [k async for k in s3_store.list()] == ["clips/1/web.mp4", "originals/u1/more"]


@slow
async def test_s3_leftover_parts_are_ignored_then_cleared(
    s3_server: SeaweedS3, s3_bucket: str, s3_store: S3Store
) -> None:
    # A truncate or delete cut short can leave a part after a gap: not part of the
    # object, and gone once someone writes to it again.
    await s3_store.append("originals/u", chunks_of(b"0123456789"), offset=0)
    raw = s3_server.client(s3_bucket)
    stray = f"{PREFIX}/.partial/originals/u/{20:020d}"
    await obstore.put_async(raw, stray, b"stale bytes")
    assert await s3_store.size("originals/u") == 10
    assert await collect(s3_store, "originals/u") == b"0123456789"
    assert await s3_store.append("originals/u", chunks_of(b"abcdefghij"), offset=10) == 20
    assert await s3_store.append("originals/u", chunks_of(b"!"), offset=20) == 21
    assert await collect(s3_store, "originals/u") == b"0123456789abcdefghij!"


@slow
async def test_s3_truncate_mid_part_and_appending_to_finished_objects(
    s3_store: S3Store,
) -> None:
    await s3_store.append("originals/u", chunks_of(b"0123456789"), offset=0)
    await s3_store.truncate("originals/u", 4)  # not a part boundary: shortened
    assert await collect(s3_store, "originals/u") == b"0123"
    async with s3_store.open_write("clips/done") as writer:
        await writer.write(b"whole")
    with pytest.raises(ValueError, match="finished object"):
        await s3_store.append("clips/done", chunks_of(b"more"), offset=5)
    with pytest.raises(ValueError, match="finished object"):
        await s3_store.truncate("clips/done", 0)


@slow
async def test_s3_a_finished_object_replaces_a_partial_one(
    s3_server: SeaweedS3, s3_bucket: str, s3_store: S3Store, tmp_path: Path
) -> None:
    await s3_store.append("clips/1/captions.vtt", chunks_of(b"partial"), offset=0)
    source = tmp_path / "captions.vtt"
    source.write_bytes(b"WEBVTT\n")
    await s3_store.put_file("clips/1/captions.vtt", source)
    assert await collect(s3_store, "clips/1/captions.vtt") == b"WEBVTT\n"
    assert await raw_objects(s3_server, s3_bucket) == [f"{PREFIX}/clips/1/captions.vtt"]


@slow
async def test_s3_modified_at_and_sweeping_dead_downloads(s3_store: S3Store) -> None:
    assert await s3_store.modified_at("clips/none") is None
    await s3_store.append("originals/u", chunks_of(b"x"), offset=0)
    async with s3_store.open_write("clips/1/web.mp4") as writer:
        await writer.write(b"web")
    assert await s3_store.modified_at("originals/u") is not None
    assert await s3_store.modified_at("clips/1/web.mp4") is not None

    dead = s3_store.scratch_dir / "s3-download-0123456789abcdef.mp4"
    dead.parent.mkdir(parents=True, exist_ok=True)
    dead.write_bytes(b"a download whose process was killed")
    async with s3_store.open_path("clips/1/web.mp4") as live:
        assert await s3_store.sweep_temporaries(remove=False) == [dead.name]
        assert await s3_store.sweep_temporaries() == [dead.name]
        assert live.read_bytes() == b"web", "the download in use is left alone"
    assert not live.exists()
    assert list(s3_store.scratch_dir.iterdir()) == []
    await s3_store.ping()
