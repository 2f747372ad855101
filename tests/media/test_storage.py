"""LocalStore: atomic finished objects, partial objects written at an offset, locks that
hold between processes, strict keys, ranges, and flat memory."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tracemalloc
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from media.storage import CHUNK_SIZE, LocalStore, ObjectLocked, check_key

MiB = 1024 * 1024


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "media")


def all_files(root: Path) -> list[str]:
    """Every file under root, hidden ones included (temporary files start with a dot)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


async def chunks_of(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def collect(store: LocalStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([piece async for piece in store.read_range(key, start, end)])


# -- finished objects ------------------------------------------------------------------


async def test_an_object_appears_only_when_its_write_commits(store: LocalStore) -> None:
    async with store.open_write("clips/a/original.mp4") as writer:
        await writer.write(b"hello ")
        await writer.write(b"world")
        assert writer.size == 11
        assert not await store.exists("clips/a/original.mp4")
    assert await collect(store, "clips/a/original.mp4") == b"hello world"
    assert all_files(store.root) == ["clips/a/original.mp4"]


async def test_an_exception_mid_write_leaves_no_object_and_no_temporary_file(
    store: LocalStore,
) -> None:
    with pytest.raises(RuntimeError, match="camera fell in the river"):
        async with store.open_write("clips/a/original.mp4") as writer:
            await writer.write(b"x" * (3 * MiB))  # enough to have reached the disk
            raise RuntimeError("camera fell in the river")
    assert not await store.exists("clips/a/original.mp4")
    assert all_files(store.root) == []


async def test_a_failed_rewrite_keeps_the_old_object(store: LocalStore) -> None:
    async with store.open_write("captions/a.vtt") as writer:
        await writer.write(b"old")
    with pytest.raises(ValueError):
        async with store.open_write("captions/a.vtt") as writer:
            await writer.write(b"new and broken")
            raise ValueError("bad cue")
    assert await collect(store, "captions/a.vtt") == b"old"
    assert all_files(store.root) == ["captions/a.vtt"]


async def test_a_cancelled_write_leaves_nothing(store: LocalStore) -> None:
    with anyio.move_on_after(0.05):
        async with store.open_write("clips/b.mp4") as writer:
            await writer.write(b"x" * MiB)
            await anyio.sleep(10)
    assert all_files(store.root) == []


async def test_put_file_copies_or_moves_a_local_file_in(store: LocalStore, tmp_path: Path) -> None:
    source = tmp_path / "rendition.mp4"
    source.write_bytes(b"r" * 100_000)
    await store.put_file("clips/a/web.mp4", source)
    assert source.exists()
    await store.put_file("clips/a/web2.mp4", source, move=True)
    assert not source.exists()
    assert await collect(store, "clips/a/web.mp4") == b"r" * 100_000
    assert await collect(store, "clips/a/web2.mp4") == b"r" * 100_000
    assert all_files(store.root) == ["clips/a/web.mp4", "clips/a/web2.mp4"]


async def test_move_renames_and_missing_objects_are_reported(store: LocalStore) -> None:
    async with store.open_write("uploads/u1") as writer:
        await writer.write(b"data")
    await store.move("uploads/u1", "clips/c1/original.mp4")
    assert not await store.exists("uploads/u1")
    assert await collect(store, "clips/c1/original.mp4") == b"data"
    with pytest.raises(FileNotFoundError):
        await store.move("uploads/u1", "clips/c2/original.mp4")


async def test_delete_list_prefix_and_paths(store: LocalStore) -> None:
    for key in ("clips/a/original.mp4", "clips/a/poster.jpg", "clips/ab/x", "other/y"):
        async with store.open_write(key) as writer:
            await writer.write(key.encode())
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
]


@pytest.mark.parametrize("key", BAD_KEYS)
async def test_bad_keys_are_refused_everywhere(store: LocalStore, key: str) -> None:
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
        await store.delete(key)
    with pytest.raises(ValueError):
        async with store.lock(key):
            pass
    with pytest.raises(ValueError):
        await collect(store, key)
    assert all_files(store.root) == []


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


async def test_read_range_streams_bounded_pieces(store: LocalStore) -> None:
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


# -- partial objects -------------------------------------------------------------------


async def test_append_writes_at_the_offset_and_returns_the_new_size(store: LocalStore) -> None:
    assert await store.append("uploads/u", chunks_of(b"abc", b"", b"def"), offset=0) == 6
    assert await store.append("uploads/u", chunks_of(b"gh"), offset=6) == 8
    assert await collect(store, "uploads/u") == b"abcdefgh"
    with pytest.raises(ValueError, match="holds 8 bytes"):
        await store.append("uploads/u", chunks_of(b"zz"), offset=4)
    with pytest.raises(ValueError, match="holds 8 bytes"):
        await store.append("uploads/u", chunks_of(b"zz"), offset=0)
    with pytest.raises(FileNotFoundError):
        await store.append("uploads/missing", chunks_of(b"zz"), offset=3)
    await store.truncate("uploads/u", 3)
    assert await store.size("uploads/u") == 3
    with pytest.raises(ValueError):
        await store.truncate("uploads/u", 10)
    assert await store.append("uploads/u", chunks_of(b"XYZ"), offset=3) == 6
    assert await collect(store, "uploads/u") == b"abcXYZ"


async def test_append_keeps_what_arrived_before_the_source_failed(store: LocalStore) -> None:
    async def dropped() -> AsyncIterator[bytes]:
        yield b"a" * 1000
        yield b"b" * 1000
        raise ConnectionResetError("wifi gone")

    await store.append("uploads/u", chunks_of(), offset=0)
    with pytest.raises(ConnectionResetError):
        await store.append("uploads/u", dropped(), offset=0)
    assert await store.size("uploads/u") == 2000


async def test_a_lock_is_exclusive_within_the_process(store: LocalStore, tmp_path: Path) -> None:
    await store.append("uploads/u", chunks_of(b"x"), offset=0)
    other = LocalStore(tmp_path / "media")  # another store over the same folder
    async with store.lock("uploads/u"):
        with pytest.raises(ObjectLocked):
            async with store.lock("uploads/u"):
                pass
        with pytest.raises(ObjectLocked):  # flock, not just the in-process set
            async with other.lock("uploads/u"):
                pass
    async with other.lock("uploads/u"):
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


async def test_an_object_deleted_under_its_lock_cannot_be_locked_again(store: LocalStore) -> None:
    await store.append("uploads/u", chunks_of(b"x"), offset=0)
    async with store.lock("uploads/u"):
        await store.delete("uploads/u")
    with pytest.raises(FileNotFoundError):
        async with store.lock("uploads/u"):
            pass


# -- memory --------------------------------------------------------------------------------


async def test_memory_stays_flat_while_streaming_50_mb(store: LocalStore) -> None:
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
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == count * CHUNK_SIZE
    assert await store.size("clips/big") == count * CHUNK_SIZE
    # append writes one 1 MiB batch while the next fills, plus worker-thread start-up:
    # a few MiB whatever the size streamed (50 MiB here).
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB"


async def test_a_sweep_removes_a_dead_writers_temporary_and_keeps_a_live_one(
    store: LocalStore,
) -> None:
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
