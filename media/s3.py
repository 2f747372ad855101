"""Media in an S3-compatible object store (AWS S3, SeaweedFS, MinIO, R2, ...).

:class:`S3Store` implements :class:`media.storage.Store` over one bucket and a prefix,
through obstore, so every app instance that shares the bucket sees the same media.

**Finished objects** are plain S3 objects at ``<prefix>/<key>``. S3 makes a PUT, a copy
and a completed multipart upload visible all at once, so ``open_write``, ``put_file``
and ``move`` need no temporary object: ``open_write`` streams into obstore's buffered
writer (one PUT for a small object, a multipart upload of
:data:`MULTIPART_SIZE` parts for a big one) and aborts the upload on an exception or a
cancellation, leaving ``key`` as it was.

**Partial objects** (tus uploads in progress) cannot grow in place: an S3 object is
written whole. They are kept as numbered *part objects*, staged in the bucket itself
so that any instance can resume an upload another one started::

    <prefix>/.partial/<key>/00000000000000000000   bytes 0 ..
    <prefix>/.partial/<key>/00000000000005242880   bytes 5242880 ..

Each part is named by the offset of its first byte (20 digits, so names sort as
numbers). ``append`` gathers up to :data:`PART_SIZE` bytes and PUTs them as one part
while the next part fills; each PUT is atomic, so after a crash the object is exactly
the parts that landed. The object's size is where the run of parts from offset 0 stops
(one LIST). A part after a gap, or overlapping the run, is left over from an
interrupted truncate or delete: readers ignore it, and the next writer removes it.
``truncate`` deletes the parts past the new length (and shortens the part straddling
it, though callers only cut back to a size the object had after an ``append``, which is
a part boundary). ``move`` turns a partial object into a finished one with a server-side
copy (one part) or a streamed multipart upload of its parts, then deletes the parts.
Key segments never start with a dot (:func:`media.storage.check_key`), so ``.partial``
cannot collide with a key, and ``list`` shows each partial object as its key.

**Locks**: S3 has none. ``lock`` takes a named lock from the :class:`media.locks.Locks`
the store is given: ``flock`` files for instances on one machine, PostgreSQL advisory
locks for instances on several.

**Reading** goes in windows: ``read_range`` fetches :data:`READ_WINDOW` bytes per GET and
hands them out in :data:`media.storage.CHUNK_SIZE` pieces. A GET whose body is read at
the pace of a phone on festival wifi would hit the client's request timeout (or the
server's patience); a window is fetched at the store's own speed, and memory per reader
stays at one window. Later windows are fetched with ``If-Match`` on the first one's
ETag, so a reader never stitches together two versions of an object.

**No direct URLs**: :meth:`S3Store.url_for` returns ``None``, as :class:`LocalStore`'s
does, so the app streams media itself. A presigned URL would bypass the app's checks:
who may see a clip, and whether it was withdrawn since (a presigned URL stays valid for
its whole lifetime). Streaming also works when the S3 endpoint is private, reachable
only by the app, which is the safer way to deploy it.

**Leftovers**: a process killed during a multipart upload leaves an incomplete upload in
the bucket: invisible, but stored. obstore cannot list those, so give the bucket a
lifecycle rule that aborts incomplete multipart uploads after a day (AWS:
``AbortIncompleteMultipartUpload``). :meth:`S3Store.sweep_temporaries` removes local
download files (``open_path``) whose process died.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import errno
import fcntl
import os
import secrets
import tempfile
from collections.abc import AsyncIterable, AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
import obstore
import obstore.store

from media.locks import Locks
from media.storage import CHUNK_SIZE, ObjectLocked, Writer, check_key, check_prefix

if TYPE_CHECKING:
    from obstore import AsyncWritableFile, Bytes, GetOptions, ObjectMeta
    from obstore.store import ClientConfig, RetryConfig, S3Config

__all__ = ["MULTIPART_SIZE", "PART_SIZE", "READ_WINDOW", "S3Store"]

MiB = 1024 * 1024

PART_SIZE = 5 * MiB
"""Bytes gathered into one part object of a partial object. Big enough that a 4 GiB
upload is under a thousand parts (one LIST page), small enough that an upload in
progress holds about two parts in memory."""

MULTIPART_SIZE = 5 * MiB
"""Part size of the multipart uploads of finished objects: S3's smallest allowed part,
to keep the memory per writer low."""

MULTIPART_CONCURRENCY = 2
"""Parts of one multipart upload sent at once. More would go faster on a fast link and
hold more memory; two keep the link busy while the next part fills."""

READ_WINDOW = 1 * MiB
"""Bytes fetched per GET by ``read_range`` (memory per reader)."""

DOWNLOAD_WINDOW = 8 * MiB
"""Bytes fetched per GET when copying an object whole (``open_path``, ``move``)."""

COPY_LIMIT = 1024**3
"""The largest object ``move`` copies inside S3 (CopyObject); bigger ones are streamed
through in parts. S3 copies up to 5 GiB in one call, but that call must also finish
within the client's request timeout."""

STAGING = ".partial"
"""The folder, under the store's prefix, holding the parts of partial objects."""

_PART_DIGITS = 20
_DOWNLOAD_PREFIX = "s3-download-"


@dataclass(frozen=True)
class _Part:
    start: int
    size: int
    path: str
    modified: datetime

    @property
    def end(self) -> int:
        return self.start + self.size


@dataclass(frozen=True)
class _Segment:
    """A stretch of a logical object: bytes ``[start, end)`` of the S3 object ``path``."""

    path: str
    start: int
    end: int
    etag: str | None


class S3Store:
    """A :class:`media.storage.Store` over ``s3://bucket/prefix``.

    ``endpoint`` is the S3 API's address (empty for AWS itself); ``access_key_id`` and
    ``secret_access_key`` may be empty to use AWS's usual credential chain (environment,
    instance role). ``scratch_dir`` holds the downloads of ``open_path`` (the system's
    temporary folder by default). ``part_size`` exists for tests.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        locks: Locks,
        endpoint: str = "",
        region: str = "us-east-1",
        access_key_id: str = "",
        secret_access_key: str = "",
        scratch_dir: Path | None = None,
        part_size: int = PART_SIZE,
    ) -> None:
        if part_size < 1:
            raise ValueError("part_size must be positive")
        self.bucket = bucket
        self.prefix = check_prefix(prefix)
        self.locks = locks
        self.part_size = part_size
        self.scratch_dir = Path(scratch_dir) if scratch_dir else Path(tempfile.gettempdir())
        config: S3Config = {"region": region}
        if endpoint:
            config["endpoint"] = endpoint
        if access_key_id:
            config["access_key_id"] = access_key_id
            config["secret_access_key"] = secret_access_key
        # The overall timeout covers one request: one part, or one read window, never a
        # whole object, so a generous minute or two is plenty even on a slow link.
        client: ClientConfig = {"timeout": "120s", "connect_timeout": "5s"}
        if endpoint.startswith("http://"):
            client["allow_http"] = True
        # obstore retries failed requests for up to 3 minutes by default; a phone waiting
        # on a PATCH does better with an error after 30 s, and its tus client retries.
        retry: RetryConfig = {"max_retries": 5, "retry_timeout": timedelta(seconds=30)}
        self._s3 = obstore.store.S3Store(
            bucket,
            prefix=self.prefix or None,
            config=config,
            client_options=client,
            retry_config=retry,
        )

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # -- finished objects ------------------------------------------------------------

    @asynccontextmanager
    async def open_write(self, key: str) -> AsyncIterator[Writer]:
        check_key(key)
        file = obstore.open_writer_async(
            self._s3,
            key,
            buffer_size=MULTIPART_SIZE,
            max_concurrency=MULTIPART_CONCURRENCY,
        )
        writer = _ObjectWriter(file)
        try:
            yield writer
        except BaseException as error:
            # Leaving the writer with an exception aborts its multipart upload, if it
            # started one; nothing becomes visible at ``key``.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                await file.__aexit__(type(error), error, error.__traceback__)
            raise
        # Shielded, as LocalStore's rename is in effect: finishing sends what is still
        # buffered (under one part) and completes the upload; cut off part-way, it would
        # leave an incomplete upload behind and the caller unsure whether ``key`` changed.
        with anyio.CancelScope(shield=True):
            await file.close()
        await self._drop_parts(key)

    async def put_file(self, key: str, path: Path, *, move: bool = False) -> None:
        check_key(key)
        source = Path(path)
        # obstore reads the file itself, in parts, and aborts the upload on failure.
        await obstore.put_async(
            self._s3,
            key,
            source,
            chunk_size=MULTIPART_SIZE,
            max_concurrency=MULTIPART_CONCURRENCY,
        )
        await self._drop_parts(key)
        if move:
            await anyio.to_thread.run_sync(source.unlink)

    async def move(self, src: str, dst: str) -> None:
        """Copy ``src`` to ``dst`` (which appears all at once), then delete ``src``.
        In between both exist; a crash there leaves ``src`` for the caller to retry."""
        check_key(src)
        check_key(dst)
        segments = await self._segments(src)
        if src == dst:
            return
        size = segments[-1].end
        if len(segments) == 1 and size <= COPY_LIMIT:
            await obstore.copy_async(self._s3, segments[0].path, dst)  # inside S3
            await self._drop_parts(dst)
        else:
            # Parts in order, through a multipart upload that completes (and appears)
            # only after the last one; open_write also drops any parts of ``dst``.
            async with self.open_write(dst) as writer:
                async for data in self._fetch(segments, 0, size, DOWNLOAD_WINDOW):
                    await writer.write(data)  # type: ignore[arg-type]  # any buffer will do
        await self.delete(src)

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
        check_key(key)
        parts, stale = await self._parts(key)
        if parts:
            size = parts[-1].end
            if offset != size:
                raise ValueError(f"cannot write at offset {offset}: the object holds {size} bytes")
        else:
            if await self._head(key) is not None:
                raise ValueError(f"{key} is a finished object; only partial objects grow")
            if offset != 0:
                raise FileNotFoundError(errno.ENOENT, "no such object", key)
        # Leftovers past the end would join the object once new parts reach them.
        await self._delete_paths([part.path for part in stale])
        if not parts:
            # An empty first part makes the object exist before any byte arrives (tus
            # creates an upload, then sends its bytes), and whatever ``chunks`` does.
            await obstore.put_async(self._s3, self._part_path(key, 0), b"")

        position = offset
        pending: builtins.list[bytes] = []
        pending_bytes = 0
        # One part is sent (and observed) while the next one fills, so the network
        # upstream and downstream work side by side. Sending runs in its own task,
        # awaited through a shield: a cancelled append must still see each part it
        # started either land and be observed, or be removed (see _send_part).
        sending: asyncio.Task[None] | None = None
        try:
            async for chunk in chunks:
                if not chunk:
                    continue
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes >= self.part_size:
                    if sending is not None:
                        await asyncio.shield(sending)  # before joining: two parts at most
                    data, pending, pending_bytes = b"".join(pending), [], 0
                    sending = asyncio.ensure_future(self._send_part(key, position, data, observe))
                    position += len(data)
        finally:
            # Runs on success and when ``chunks`` fails alike: what was received is
            # stored, and the caller decides whether to keep it. A part that failed
            # raises here, before anything after it is sent, so there is never a gap.
            with anyio.CancelScope(shield=True):
                if sending is not None:
                    await sending
                if pending:
                    await self._send_part(key, position, b"".join(pending), observe)
                    position += pending_bytes
        return position

    async def _send_part(
        self,
        key: str,
        start: int,
        data: bytes,
        observe: Callable[[Sequence[bytes]], None] | None,
    ) -> None:
        """PUT one part (atomic), then tell ``observe`` about its bytes."""
        path = self._part_path(key, start)
        try:
            # A part is at most part_size plus one chunk: one plain PUT.
            await obstore.put_async(self._s3, path, data, use_multipart=False)
        except BaseException:
            # The PUT may have landed even though we saw an error (a reply lost on the
            # way back). Take it out again, so the object never holds bytes the caller
            # was not told about; the first part goes back to the empty part that makes
            # the object exist.
            with anyio.CancelScope(shield=True), contextlib.suppress(Exception):
                if start == 0:
                    await obstore.put_async(self._s3, path, b"")
                else:
                    await obstore.delete_async(self._s3, path)
            raise
        if observe is not None:
            await anyio.to_thread.run_sync(observe, [data])

    async def truncate(self, key: str, length: int) -> None:
        if length < 0:
            raise ValueError("length must not be negative")
        check_key(key)
        parts, stale = await self._parts(key)
        if not parts:
            if await self._head(key) is not None:
                raise ValueError(f"{key} is a finished object; only partial objects shrink")
            raise FileNotFoundError(errno.ENOENT, "no such object", key)
        size = parts[-1].end
        if length > size:
            raise ValueError(f"cannot truncate {size} bytes to a larger {length}")
        doomed = [part.path for part in stale]
        doomed += [part.path for part in parts if part.start >= length and part.start > 0]
        # Readers ignore parts after a gap, so whatever order the deletes land in, the
        # object only ever looks shorter, never holds someone else's bytes.
        await self._delete_paths(doomed)
        for part in parts:
            if part.start < length < part.end or part.start == length == 0 < part.end:
                keep = length - part.start
                data = b""
                if keep:
                    data = bytes(
                        await obstore.get_range_async(self._s3, part.path, start=0, end=keep)
                    )
                await obstore.put_async(self._s3, part.path, data, use_multipart=False)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        check_key(key)
        async with AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(self.locks.hold(f"{self.url}:{key}"))
            except ObjectLocked:
                raise ObjectLocked(key) from None
            # Checked under the lock: a holder that deleted the object has finished.
            if await self.size(key) is None:
                raise FileNotFoundError(errno.ENOENT, "no such object", key)
            yield

    # -- reading ---------------------------------------------------------------------

    async def size(self, key: str) -> int | None:
        check_key(key)
        meta = await self._head(key)
        if meta is not None:
            return meta["size"]
        parts, _ = await self._parts(key)
        return parts[-1].end if parts else None

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def modified_at(self, key: str) -> datetime | None:
        """When the object last changed (its newest part, for a partial object), or
        ``None`` if there is none; fsck leaves young unreferenced objects alone."""
        check_key(key)
        meta = await self._head(key)
        if meta is not None:
            return meta["last_modified"]
        parts, _ = await self._parts(key)
        return max((part.modified for part in parts), default=None)

    async def read_range(
        self, key: str, start: int = 0, end: int | None = None
    ) -> AsyncIterator[bytes]:
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"bad range: start={start}, end={end}")
        check_key(key)
        segments = await self._segments(key)
        size = segments[-1].end if segments else 0
        stop = size if end is None else min(end, size)
        async for window in self._fetch(segments, start, stop, READ_WINDOW):
            view = memoryview(window)
            for at in range(0, len(view), CHUNK_SIZE):
                yield bytes(view[at : at + CHUNK_SIZE])

    @asynccontextmanager
    async def open_path(self, key: str) -> AsyncIterator[Path]:
        check_key(key)
        segments = await self._segments(key)
        suffix = PurePosixPath(key).suffix
        fd, path = await anyio.to_thread.run_sync(_scratch_file, self.scratch_dir, suffix)
        try:
            size = segments[-1].end if segments else 0
            async for window in self._fetch(segments, 0, size, DOWNLOAD_WINDOW):
                await anyio.to_thread.run_sync(_write_all, fd, window)
            yield path
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(_discard, fd, path)

    async def delete(self, key: str) -> None:
        check_key(key)
        await obstore.delete_async(self._s3, key)
        await self._drop_parts(key)

    async def delete_prefix(self, prefix: str) -> None:
        folder = check_prefix(prefix)
        if not folder:
            raise ValueError("refusing to delete every object: give a non-empty prefix")
        paths = [meta["path"] for meta in await self._list_all(folder)]
        paths += [meta["path"] for meta in await self._list_all(f"{STAGING}/{folder}")]
        await self._delete_paths(paths)

    async def list(self, prefix: str = "") -> AsyncIterator[str]:
        folder = check_prefix(prefix)
        listed = await self._list_all(folder)
        # Listing the root lists the staging folder too; any other folder has its own.
        staged = listed if not folder else await self._list_all(f"{STAGING}/{folder}")
        keys: set[str] = set()
        for meta in listed:
            path = meta["path"]
            if not path.startswith(f"{STAGING}/"):
                with contextlib.suppress(ValueError):  # names no key has: not objects
                    keys.add(check_key(path))
        for meta in staged:
            path = meta["path"]
            if path.startswith(f"{STAGING}/"):
                key, _, name = path[len(STAGING) + 1 :].rpartition("/")
                # The folder's own name is not in the folder, even when it is a key.
                inside = not folder or key.startswith(f"{folder}/")
                if inside and len(name) == _PART_DIGITS and name.isdigit():
                    with contextlib.suppress(ValueError):
                        keys.add(check_key(key))
        for key in sorted(keys):
            yield key

    async def url_for(self, key: str, *, expires_in: int = 3600) -> str | None:
        """Always ``None``: the app streams media itself (see the module's notes)."""
        check_key(key)
        return None

    # -- upkeep ----------------------------------------------------------------------

    async def ping(self) -> None:
        """One cheap request that fails unless the bucket answers with these keys."""
        await obstore.list_with_delimiter_async(self._s3, None)

    async def sweep_temporaries(self, *, remove: bool = True) -> builtins.list[str]:
        """Find (and by default remove) downloads of ``open_path`` whose process died;
        return their paths relative to the scratch folder. Downloads in use are locked
        by their reader and left alone. Incomplete multipart uploads are the bucket's
        lifecycle rule's to abort (see the module's notes)."""
        return await anyio.to_thread.run_sync(_sweep_downloads, self.scratch_dir, remove)

    # -- internals -------------------------------------------------------------------

    def _part_path(self, key: str, start: int) -> str:
        return f"{STAGING}/{key}/{start:0{_PART_DIGITS}d}"

    async def _head(self, key: str) -> ObjectMeta | None:
        try:
            return await obstore.head_async(self._s3, key)
        except FileNotFoundError:
            return None

    async def _list_all(self, folder: str) -> builtins.list[ObjectMeta]:
        """Every object under the folder ``folder`` ("" for all), unsorted."""
        listed: Sequence[ObjectMeta] = await obstore.list(
            self._s3, f"{folder}/" if folder else None, chunk_size=1000
        ).collect_async()
        return builtins.list(listed)

    async def _parts(self, key: str) -> tuple[builtins.list[_Part], builtins.list[_Part]]:
        """The run of parts from offset 0 that make up ``key``, in order, and the parts
        that are not in it (after a gap, or overlapping it)."""
        folder = f"{STAGING}/{key}"
        found: builtins.list[_Part] = []
        for meta in await self._list_all(folder):
            parent, _, name = meta["path"].rpartition("/")
            # Parts of a longer key (``key/more``) sit deeper under the same folder.
            if parent != folder or len(name) != _PART_DIGITS or not name.isdigit():
                continue
            found.append(_Part(int(name), meta["size"], meta["path"], meta["last_modified"]))
        found.sort(key=lambda part: part.start)
        run: builtins.list[_Part] = []
        stale: builtins.list[_Part] = []
        end = 0
        for part in found:
            if part.start == end:
                run.append(part)
                end = part.end
            else:
                stale.append(part)
        return run, stale

    async def _segments(self, key: str) -> builtins.list[_Segment]:
        """Where the bytes of ``key`` are: the object itself, or its parts in order.
        Raises ``FileNotFoundError`` if it has neither."""
        meta = await self._head(key)
        if meta is not None:
            return [_Segment(key, 0, meta["size"], meta["e_tag"])]
        parts, _ = await self._parts(key)
        if not parts:
            raise FileNotFoundError(errno.ENOENT, "no such object", key)
        return [_Segment(p.path, p.start, p.end, None) for p in parts]

    async def _fetch(
        self, segments: Sequence[_Segment], start: int, stop: int, window: int
    ) -> AsyncIterator[Bytes]:
        """Bytes ``[start, stop)`` of the object made of ``segments``, one GET per
        ``window`` bytes at most, each GET read whole before the next starts."""
        for segment in segments:
            low, high = max(start, segment.start), min(stop, segment.end)
            position = low
            while position < high:
                upto = min(high, position + window)
                options: GetOptions = {"range": (position - segment.start, upto - segment.start)}
                if segment.etag:
                    options["if_match"] = segment.etag
                result = await obstore.get_async(self._s3, segment.path, options=options)
                data = await result.bytes_async()
                if not len(data):  # the object shrank under us
                    return
                position += len(data)
                yield data

    async def _delete_paths(self, paths: Sequence[str]) -> None:
        if paths:
            await obstore.delete_async(self._s3, builtins.list(paths))

    async def _drop_parts(self, key: str) -> None:
        """Delete every part of ``key``: a finished object written there replaces a
        partial one, as a file written over another replaces it."""
        parts, stale = await self._parts(key)
        await self._delete_paths([part.path for part in parts + stale])


class _ObjectWriter:
    """The :class:`media.storage.Writer` of :meth:`S3Store.open_write`."""

    def __init__(self, file: AsyncWritableFile) -> None:
        self._file = file
        self._size = 0

    @property
    def size(self) -> int:
        return self._size

    async def write(self, data: bytes) -> None:
        if not data:
            return
        # obstore keeps a reference to ``data`` until its part is sent, not a copy.
        await self._file.write(data)
        self._size += len(data)


# -- local scratch files, all blocking: called in worker threads ----------------------


def _scratch_file(folder: Path, suffix: str) -> tuple[int, Path]:
    """A new download file in ``folder``, locked for as long as it is in use, so a sweep
    can tell a live download from one whose process died."""
    folder.mkdir(parents=True, exist_ok=True)
    safe_suffix = suffix if suffix[1:].isalnum() else ""
    for _ in range(10):
        path = folder / f"{_DOWNLOAD_PREFIX}{secrets.token_hex(8)}{safe_suffix}"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except FileExistsError:
            continue
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return fd, path
    raise FileExistsError(errno.EEXIST, "could not find a free download name", str(folder))


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _discard(fd: int, path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    os.close(fd)


def _sweep_downloads(folder: Path, remove: bool) -> builtins.list[str]:
    if not folder.is_dir():
        return []
    found: builtins.list[str] = []
    for path in sorted(folder.glob(f"{_DOWNLOAD_PREFIX}*")):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a live reader holds it
            found.append(path.name)
            if remove:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(path)
        finally:
            os.close(fd)
    return found
