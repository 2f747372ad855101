"""Where media bytes live.

Everything the service keeps (originals, uploads in progress, renditions, posters,
captions) is an object named by a *key*: a relative POSIX path such as
``clips/3f2a/original.mp4``. :class:`Store` is the small protocol the rest of the code
uses; :class:`LocalStore` keeps objects as files under one folder, and an S3 store can
implement the same protocol later.

Two ways to write, for two kinds of object:

* **Finished objects** (``open_write``, ``put_file``, ``move``) appear at their key all at
  once or not at all. Bytes go to a temporary object first; only a clean finish makes
  them visible, so a reader never sees half a file and a crash leaves no half file.
* **Partial objects** (``append``, ``truncate``, ``lock``) grow in place. They hold tus
  uploads in progress, which must survive a dropped connection or a restart and carry
  on from the last byte that was synced. The caller takes ``lock(key)`` first so that
  two writers never interleave their bytes.

Keys are checked strictly (:func:`check_key`) and a bad key raises ``ValueError``:
keys often carry ids from URLs, and a key must never reach outside the store.
A missing object raises ``FileNotFoundError``, whichever store is in use.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import fcntl
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol

import anyio
import anyio.to_thread

__all__ = [
    "CHUNK_SIZE",
    "LocalStore",
    "ObjectLocked",
    "Store",
    "Writer",
    "check_key",
    "check_prefix",
]

CHUNK_SIZE = 64 * 1024
"""Size of the pieces ``read_range`` yields."""

_FLUSH_BYTES = 1024 * 1024
"""Writes are gathered up to this many bytes before one trip to a worker thread: big
enough that thread hand-offs cost little, small enough that memory stays flat."""

_MAX_BUFFERS = 256
"""At most this many pieces go into one ``writev`` (Linux allows 1024)."""

_MAX_KEY_LENGTH = 1024
_MAX_SEGMENT_LENGTH = 200  # leaves room for the temporary-name prefix and suffix
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_FILE_MODE = 0o644


class ObjectLocked(Exception):
    """Another writer, in this process or another, holds the lock on this key."""

    def __init__(self, key: str) -> None:
        super().__init__(f"{key} is locked by another writer")
        self.key = key


def check_key(key: str) -> str:
    """Return ``key`` if it is a safe object key, else raise ``ValueError``.

    A key is one or more segments joined by ``/``. Each segment uses only ASCII letters,
    digits, ``.``, ``_`` and ``-`` and does not start with a dot. That rules out
    absolute paths, ``..``, ``.``, empty segments, backslashes, NUL and any character
    a filesystem or URL might treat specially, and it keeps names starting with a dot
    free for the store's own temporary files.
    """
    if not isinstance(key, str):
        raise ValueError(f"object key must be a string, not {type(key).__name__}")
    if not key:
        raise ValueError("object key is empty")
    if len(key) > _MAX_KEY_LENGTH:
        raise ValueError(f"object key is longer than {_MAX_KEY_LENGTH} characters")
    for segment in key.split("/"):
        if not segment:
            raise ValueError(f"object key {key!r} has an empty segment (leading, trailing or //)")
        if len(segment) > _MAX_SEGMENT_LENGTH:
            raise ValueError(f"object key {key!r} has a segment over {_MAX_SEGMENT_LENGTH} chars")
        if not _SEGMENT.fullmatch(segment):
            raise ValueError(
                f"object key {key!r} has a bad segment {segment!r}: use A-Z a-z 0-9 . _ - "
                "and do not start a segment with a dot"
            )
    return key


def check_prefix(prefix: str) -> str:
    """Return a folder prefix without its optional trailing ``/``; ``""`` is the root.

    Prefixes name whole folders: ``clips/ab`` covers ``clips/ab/x`` but not ``clips/abc``.
    """
    if prefix in ("", "/"):
        return ""
    return check_key(prefix.removesuffix("/"))


class Writer(Protocol):
    """The sink handed out by :meth:`Store.open_write`."""

    @property
    def size(self) -> int:
        """Bytes written so far."""
        ...

    async def write(self, data: bytes) -> None:
        """Add ``data``; it may be buffered until the next write or the commit, so a
        mutable buffer passed in must not be changed afterwards."""
        ...


class Store(Protocol):
    """Object storage for media. Every method raises ``ValueError`` for a bad key."""

    def open_write(self, key: str) -> AbstractAsyncContextManager[Writer]:
        """Write a new object; it becomes visible at ``key`` (replacing any old one) only
        when the block ends without an exception. On an exception or cancellation the
        temporary object is deleted and ``key`` is left as it was."""
        ...

    async def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        """Store a local file at ``key`` atomically; with ``move`` the source is removed."""
        ...

    async def move(self, src: str, dst: str) -> None:
        """Rename an object atomically, replacing ``dst`` (how an upload becomes a clip)."""
        ...

    async def append(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        offset: int,
        observe: Callable[[Sequence[bytes]], None] | None = None,
    ) -> int:
        """Write ``chunks`` into the partial object ``key`` starting at ``offset`` and
        return its new size once the bytes are synced to stable storage.

        ``offset`` must equal the object's current size (0 creates the object). Chunks
        may be held until written, so they must not be changed once yielded. The
        caller must hold :meth:`lock` for ``key``; the store does not check it. If
        ``chunks`` raises, the bytes it yielded before that are still written and synced
        and the exception propagates: the caller asks :meth:`size` how far it got and
        keeps or :meth:`truncate`-s them.

        ``observe``, if given, is called with each batch of bytes once it is written, in
        order and off the event loop, so a caller can hash the bytes as they land instead
        of reading the object again.
        """
        ...

    async def truncate(self, key: str, length: int) -> None:
        """Cut a partial object back to ``length`` bytes and sync (never grows it).
        Callers only cut back to a size the object had after an earlier append, so a
        store that keeps partial objects as a list of parts can implement it."""
        ...

    def lock(self, key: str) -> AbstractAsyncContextManager[None]:
        """Hold the exclusive writer's lock on an existing partial object.

        Raises :class:`ObjectLocked` at once if anyone else holds it (this process or
        another sharing the store): callers answer "busy, retry" instead of queueing
        uploads behind one another. Raises ``FileNotFoundError`` if there is no object.
        """
        ...

    async def size(self, key: str) -> int | None:
        """Size in bytes, or ``None`` if there is no object at ``key``."""
        ...

    async def exists(self, key: str) -> bool: ...

    def read_range(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Yield bytes ``start`` up to (not including) ``end``, in pieces of at most
        :data:`CHUNK_SIZE`. ``end=None`` or an ``end`` past the object reads to its end.
        HTTP ranges are inclusive: ``bytes=0-99`` is ``read_range(key, 0, 100)``."""
        ...

    def open_path(self, key: str) -> AbstractAsyncContextManager[Path]:
        """A local file with the object's bytes, for tools that need a path (PyAV).
        Read only. A local store yields its own file; a remote store downloads to a
        temporary file that is removed when the block ends."""
        ...

    async def delete(self, key: str) -> None:
        """Remove an object; removing a missing object is not an error."""
        ...

    async def delete_prefix(self, prefix: str) -> None:
        """Remove every object under the folder ``prefix`` (which must not be empty)."""
        ...

    def list(self, prefix: str = "") -> AsyncIterator[str]:
        """Yield the keys under the folder ``prefix``, sorted."""
        ...

    async def url_for(self, key: str, *, expires_in: int = 3600) -> str | None:
        """A URL a client can fetch directly (a presigned S3 URL), or ``None`` when the
        application must stream the bytes itself, as with :class:`LocalStore`."""
        ...


class LocalStore:
    """A :class:`Store` over a folder on a local filesystem.

    Blocking file work runs in worker threads in pieces of up to a megabyte, so the
    event loop stays free and memory stays flat whatever the size of the object.
    Finished objects are written to ``.<name>.<random>.tmp`` in the same folder (created
    with ``O_EXCL``), synced, renamed over the key with ``os.replace`` and the folder is
    synced, so after a crash there is either the old object or the new one.
    Locks are ``flock`` locks on the object's file, so they hold between processes.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._held: set[str] = set()

    def path_for(self, key: str) -> Path:
        """The file that holds ``key`` (it may not exist)."""
        return self.root.joinpath(*check_key(key).split("/"))

    # -- finished objects ------------------------------------------------------------

    @asynccontextmanager
    async def open_write(self, key: str) -> AsyncIterator[Writer]:
        target = self.path_for(key)
        temp = await anyio.to_thread.run_sync(_TempFile.create, target, self.root)
        writer = _TempWriter(temp)
        try:
            yield writer
            await writer.flush()
            await anyio.to_thread.run_sync(temp.commit, target)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(temp.discard)
            raise

    async def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        target = self.path_for(key)
        await anyio.to_thread.run_sync(self._put_file, Path(path), target, move)

    def _put_file(self, source: Path, target: Path, move: bool) -> None:
        _ensure_dir(target.parent, self.root)
        if move and os.stat(source).st_dev == os.stat(target.parent).st_dev:
            _fsync_path(source)
            os.replace(source, target)
            _fsync_dir(target.parent)
            _fsync_dir(source.parent)
            return
        temp = _TempFile.create(target, self.root)
        try:
            with open(source, "rb") as reader:
                while block := reader.read(_FLUSH_BYTES):
                    temp.write_all([block])
            temp.commit(target)
        except BaseException:
            temp.discard()
            raise
        if move:
            source.unlink()
            _fsync_dir(source.parent)

    async def move(self, src: str, dst: str) -> None:
        source, target = self.path_for(src), self.path_for(dst)
        await anyio.to_thread.run_sync(self._move, source, target)

    def _move(self, source: Path, target: Path) -> None:
        if not source.is_file():
            raise FileNotFoundError(errno.ENOENT, "no such object", str(source))
        _ensure_dir(target.parent, self.root)
        os.replace(source, target)
        _fsync_dir(target.parent)
        if source.parent != target.parent:
            _fsync_dir(source.parent)

    # -- partial objects -------------------------------------------------------------

    async def append(
        self,
        key: str,
        chunks: AsyncIterable[bytes],
        *,
        offset: int,
        observe: Callable[[Sequence[bytes]], None] | None = None,
    ) -> int:
        if offset < 0:
            raise ValueError("offset must not be negative")
        path = self.path_for(key)
        fd = await anyio.to_thread.run_sync(self._open_partial, path, offset)
        position = offset
        pending: list[bytes] = []
        pending_bytes = 0
        # One batch is written (and observed) in a worker thread while the next one is
        # received, so the disk and the network work side by side.
        writing: asyncio.Future[int] | None = None
        loop = asyncio.get_running_loop()

        def write(batch: Sequence[bytes], at: int) -> int:
            written = _pwrite_all(fd, batch, at)
            if observe is not None:
                observe(batch)
            return written

        try:
            try:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    pending.append(chunk)
                    pending_bytes += len(chunk)
                    if pending_bytes >= _FLUSH_BYTES or len(pending) >= _MAX_BUFFERS:
                        batch, size = pending, pending_bytes
                        pending, pending_bytes = [], 0
                        if writing is not None:
                            await writing
                        writing = loop.run_in_executor(None, write, batch, position)
                        position += size
            finally:
                # Runs on success and when ``chunks`` fails alike: what was received is
                # written and synced, and the caller decides whether to keep it.
                with anyio.CancelScope(shield=True):
                    if writing is not None:
                        await writing
                    if pending:
                        await anyio.to_thread.run_sync(write, pending, position)
                        position += pending_bytes
                    await anyio.to_thread.run_sync(os.fsync, fd)
        finally:
            os.close(fd)
        return position

    def _open_partial(self, path: Path, offset: int) -> int:
        created = False
        if offset == 0:
            _ensure_dir(path.parent, self.root)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE)
                created = True
            except FileExistsError:
                fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        else:
            fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
        try:
            size = os.fstat(fd).st_size
            if size != offset:
                raise ValueError(f"cannot write at offset {offset}: the object holds {size} bytes")
            if created:
                _fsync_dir(path.parent)
        except BaseException:
            os.close(fd)
            raise
        return fd

    async def truncate(self, key: str, length: int) -> None:
        path = self.path_for(key)
        await anyio.to_thread.run_sync(_truncate, path, length)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        path = self.path_for(key)
        # The in-process set answers quickly and covers this process; flock covers
        # other processes (and other LocalStore objects over the same folder).
        if key in self._held:
            raise ObjectLocked(key)
        self._held.add(key)
        try:
            fd = _flock(path, key)  # non-blocking calls only: safe on the event loop
            try:
                yield
            finally:
                os.close(fd)  # closing the descriptor releases the flock
        finally:
            self._held.discard(key)

    # -- reading ---------------------------------------------------------------------

    async def size(self, key: str) -> int | None:
        path = self.path_for(key)
        return await anyio.to_thread.run_sync(_file_size, path)

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def read_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"bad range: start={start}, end={end}")
        path = self.path_for(key)
        fd = await anyio.to_thread.run_sync(_open_read, path)
        try:
            size = os.fstat(fd).st_size
            stop = size if end is None else min(end, size)
            position = start
            while position < stop:
                want = min(CHUNK_SIZE, stop - position)
                data = await anyio.to_thread.run_sync(os.pread, fd, want, position)
                if not data:  # the file shrank under us
                    break
                position += len(data)
                yield data
        finally:
            os.close(fd)

    @asynccontextmanager
    async def open_path(self, key: str) -> AsyncIterator[Path]:
        path = self.path_for(key)
        if await anyio.to_thread.run_sync(_file_size, path) is None:
            raise FileNotFoundError(errno.ENOENT, "no such object", key)
        yield path

    async def delete(self, key: str) -> None:
        path = self.path_for(key)
        await anyio.to_thread.run_sync(_unlink, path)

    async def delete_prefix(self, prefix: str) -> None:
        folder = check_prefix(prefix)
        if not folder:
            raise ValueError("refusing to delete every object: give a non-empty prefix")
        await anyio.to_thread.run_sync(_remove_tree, self.root.joinpath(*folder.split("/")))

    async def list(self, prefix: str = "") -> AsyncIterator[str]:
        folder = check_prefix(prefix)
        keys = await anyio.to_thread.run_sync(self._walk, folder)
        for key in keys:
            yield key

    def _walk(self, folder: str) -> builtins.list[str]:
        base = self.root.joinpath(*folder.split("/")) if folder else self.root
        found: builtins.list[str] = []
        for directory, subdirs, files in os.walk(base):
            subdirs[:] = [name for name in subdirs if not name.startswith(".")]
            relative = Path(directory).relative_to(self.root).as_posix()
            for name in files:
                if not name.startswith("."):
                    found.append(name if relative == "." else f"{relative}/{name}")
        found.sort()
        return found

    async def url_for(self, key: str, *, expires_in: int = 3600) -> str | None:
        check_key(key)
        return None

    async def sweep_temporaries(self, *, remove: bool = True) -> builtins.list[str]:
        """Find (and by default remove) temporary files whose writer died part-way, such
        as a process killed while writing; return their paths relative to the root.
        A temporary still being written is held by its writer's lock and is left alone."""
        return await anyio.to_thread.run_sync(_sweep_temporaries, self.root, remove)


# -- helpers, all blocking: called in worker threads unless noted ---------------------


class _TempFile:
    """A temporary file beside its target: written, then renamed into place or removed."""

    def __init__(self, fd: int, path: Path) -> None:
        self.fd: int | None = fd
        self.path = path
        self.written = 0

    @classmethod
    def create(cls, target: Path, root: Path) -> _TempFile:
        _ensure_dir(target.parent, root)
        for _ in range(10):
            path = target.with_name(f".{target.name}.{secrets.token_hex(8)}.tmp")
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, _FILE_MODE)
            except FileExistsError:
                continue
            # Held until the file is renamed or removed: a temporary nobody holds was
            # left by a writer that died, and sweep_temporaries may remove it.
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return cls(fd, path)
        raise FileExistsError(errno.EEXIST, "could not find a free temporary name", str(target))

    def write_all(self, buffers: Sequence[bytes]) -> None:
        assert self.fd is not None
        self.written = _pwrite_all(self.fd, buffers, self.written)

    def commit(self, target: Path) -> None:
        assert self.fd is not None
        os.fsync(self.fd)
        # Renamed while still held, so a sweep never mistakes it for a dead writer's.
        os.replace(self.path, target)
        os.close(self.fd)
        self.fd = None
        _fsync_dir(target.parent)

    def discard(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)


class _TempWriter:
    """The :class:`Writer` of :meth:`LocalStore.open_write`: gathers small writes into
    big ones before handing them to a thread."""

    def __init__(self, temp: _TempFile) -> None:
        self._temp = temp
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        if not data:
            return
        self._pending.append(data)
        self._pending_bytes += len(data)
        self._size += len(data)
        if self._pending_bytes >= _FLUSH_BYTES or len(self._pending) >= _MAX_BUFFERS:
            await self.flush()

    async def flush(self) -> None:
        if self._pending:
            batch = self._pending
            self._pending, self._pending_bytes = [], 0
            await anyio.to_thread.run_sync(self._temp.write_all, batch)


def _pwrite_all(fd: int, buffers: Sequence[bytes], position: int) -> int:
    """Write every buffer at ``position`` onward, retrying short writes; return the end."""
    views = [memoryview(buffer) for buffer in buffers]
    while views:
        written = os.pwritev(fd, views, position)
        position += written
        while views and written >= len(views[0]):
            written -= len(views[0])
            views.pop(0)
        if written:
            views[0] = views[0][written:]
    return position


def _ensure_dir(directory: Path, root: Path) -> None:
    """Create ``directory`` (inside ``root``) and sync each new folder's parent, so the
    new names survive a crash along with the files in them."""
    if directory.is_dir():
        return
    if directory != root:
        _ensure_dir(directory.parent, root)
    try:
        os.mkdir(directory)
    except FileExistsError:
        return
    _fsync_dir(directory.parent)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _truncate(path: Path, length: int) -> None:
    if length < 0:
        raise ValueError("length must not be negative")
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        size = os.fstat(fd).st_size
        if length > size:
            raise ValueError(f"cannot truncate {size} bytes to a larger {length}")
        os.ftruncate(fd, length)
        os.fsync(fd)
    finally:
        os.close(fd)


def _flock(path: Path, key: str) -> int:
    """Open ``path`` and take an exclusive, non-blocking flock on it; return the fd.

    If the file was deleted or replaced between our open and our flock, we would hold a
    lock on a file nobody else will open, so check that the path still names the same
    file and try again if not.
    """
    for _ in range(5):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise ObjectLocked(key) from None
        except BaseException:
            os.close(fd)
            raise
        held = os.fstat(fd)
        try:
            current = os.stat(path)
        except FileNotFoundError:
            os.close(fd)
            raise
        if (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino):
            return fd
        os.close(fd)
    raise ObjectLocked(key)


def _file_size(path: Path) -> int | None:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return None


def _open_read(path: Path) -> int:
    return os.open(path, os.O_RDONLY | os.O_CLOEXEC)


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    _fsync_dir(path.parent)


def _sweep_temporaries(root: Path, remove: bool) -> builtins.list[str]:
    found: builtins.list[str] = []
    for directory, _, files in os.walk(root):
        for name in files:
            if not (name.startswith(".") and name.endswith(".tmp")):
                continue
            path = Path(directory, name)
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:  # committed or discarded meanwhile
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live writer holds it
            else:
                # Renamed into place between our open and our lock: not a leftover.
                if not _same_file(fd, path):
                    continue
                found.append(path.relative_to(root).as_posix())
                if remove:
                    _unlink(path)
            finally:
                os.close(fd)
    return sorted(found)


def _same_file(fd: int, path: Path) -> bool:
    held = os.fstat(fd)
    try:
        current = os.stat(path)
    except FileNotFoundError:
        return False
    return (held.st_dev, held.st_ino) == (current.st_dev, current.st_ino)


def _remove_tree(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
        _fsync_dir(path.parent)
    elif path.exists():
        _unlink(path)
