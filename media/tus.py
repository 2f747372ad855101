"""The tus 1.0.0 upload state machine, independent of any web framework.

The protocol is https://tus.io/protocols/resumable-upload (version 1.0.0). This module
does everything but HTTP: it reads request headers (any ``Mapping[str, str]``; names are
matched without regard to case), checks them, moves bytes into a :class:`Store`, keeps
each upload's :class:`UploadState` in a :class:`StateStore`, and reports every refusal as
a :class:`TusError` carrying the protocol's status code, a plain reason and any headers
the response needs. A thin HTTP adapter then only has to:

* answer ``OPTIONS`` with :func:`options_headers`;
* call :func:`check_version` on every other request (412 unless ``Tus-Resumable: 1.0.0``);
* hand ``POST``/``HEAD``/``PATCH``/``DELETE`` to :class:`TusEngine` with the request's
  headers and body stream, answer with :func:`upload_headers` (201 for POST, 200 for
  HEAD, 204 for PATCH and DELETE), map :class:`TusError` to its status and headers, and
  add ``Tus-Resumable: 1.0.0`` to every response.

Supported extensions: creation, creation-with-upload, termination, checksum (sha1 and
sha256) and expiration. Choices the protocol leaves open:

* **No deferred length.** Phones know the size of the file they send, so
  ``Upload-Defer-Length`` is refused with 400 and ``creation-defer-length`` is not
  advertised. Concatenation is not offered either (``Upload-Concat`` gets 400).
* **A busy upload answers 423 Locked.** One PATCH at a time may write to an upload; a
  second PATCH (or DELETE) arriving meanwhile is refused at once rather than queued, so
  a phone that retried over a dead connection does not wait behind its own ghost.
  tus-js-client retries 423 by itself. 409 stays reserved for a wrong ``Upload-Offset``.
  The lock is :meth:`Store.lock`, which holds across processes.
* **Bytes past Upload-Length** (a PATCH body longer than what is left, or any bytes sent
  to a finished upload) get 413, and nothing of that PATCH is kept.
* **A dropped connection keeps what arrived**, as the protocol asks, unless the PATCH
  carried ``Upload-Checksum``: a partial body cannot be verified, so it is discarded.
* **Another owner's upload is "not found"** (404), so ids cannot be probed.
* **Expiry slides:** each accepted PATCH pushes ``Upload-Expires`` forward by the
  engine's ``ttl``. Past it, HEAD and PATCH answer 410 until :meth:`TusEngine.expire`
  removes the upload, and 404 after that. Completed uploads do not expire.
* **Whole-file SHA-256.** ``hashlib`` objects cannot be saved between requests (and the
  next PATCH may reach another process), so the SHA-256 of the finished upload is
  computed by reading the file once more, in a worker thread, when the last byte lands.

Restarts and crashes. The state store is the record of what was acknowledged; the
bytes are synced before the new offset is recorded. After a crash the file may hold
more than the recorded offset (bytes synced, offset not yet recorded, or a checksum not
yet verified): those were never acknowledged, so the next PATCH truncates them away and
the client resends them. If the file holds *less* (it was damaged or restored from an
older backup) the file is the truth and the offset is lowered to its size; a client at
the old offset gets 409 and asks HEAD again. HEAD reports the smaller of the two without
changing anything, because it runs without the lock while a PATCH may be writing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import anyio
import anyio.to_thread
import msgspec

from media.storage import ObjectLocked, Store

__all__ = [
    "CHECKSUM_ALGORITHMS",
    "OFFSET_OCTET_STREAM",
    "REQUIRED_METADATA",
    "SUPPORTED_EXTENSIONS",
    "TUS_VERSION",
    "ChecksumVerifier",
    "CreationRequest",
    "PatchRequest",
    "StateStore",
    "TusEngine",
    "TusError",
    "UploadState",
    "check_creation",
    "check_patch",
    "check_version",
    "effective_method",
    "encode_metadata",
    "http_date",
    "options_headers",
    "parse_checksum",
    "parse_metadata",
    "safe_filename",
    "upload_headers",
]

TUS_VERSION = "1.0.0"
SUPPORTED_VERSIONS = (TUS_VERSION,)
SUPPORTED_EXTENSIONS = ("creation", "creation-with-upload", "termination", "checksum", "expiration")
CHECKSUM_ALGORITHMS = ("sha1", "sha256")
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
REQUIRED_METADATA = ("filename", "filetype")
MAX_METADATA_LENGTH = 4096

_DIGEST_SIZES = {"sha1": 20, "sha256": 32}
_DIGITS = re.compile(r"[0-9]{1,40}")
_METADATA_KEY = re.compile(r"[\x21-\x2b\x2d-\x7e]+")  # visible ASCII except comma
_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_UPLOAD_ID = re.compile(r"[0-9a-f]{32}")
_BUSY = "another request is writing to this upload; retry in a moment"
_TUS_HEADERS = frozenset(
    {
        "tus-resumable",
        "upload-length",
        "upload-offset",
        "upload-metadata",
        "upload-checksum",
        "upload-defer-length",
        "upload-concat",
        "content-type",
        "content-length",
    }
)


class TusError(Exception):
    """A refusal the HTTP adapter turns into a response.

    ``status`` is one of 400, 403, 404, 409, 410, 412, 413, 415, 423 or 460; ``reason``
    says in plain words what was wrong and how to fix it; ``headers`` are extra
    response headers (``Tus-Version`` with 412, ``Tus-Max-Size`` with 413).
    """

    def __init__(self, status: int, reason: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason
        self.headers: dict[str, str] = dict(headers or {})


class UploadState(msgspec.Struct, frozen=True, kw_only=True):
    """What is known about one upload; the :class:`StateStore` persists it.

    ``offset`` counts the bytes received, synced and acknowledged. ``metadata`` is the
    decoded ``Upload-Metadata``; ``metadata_header`` is the header as the client sent
    it, which HEAD must echo. ``sha256`` (hex) is set once ``completed``.
    """

    id: str
    owner: str
    length: int
    offset: int = 0
    metadata: dict[str, str] = {}
    metadata_header: str = ""
    created_at: datetime
    expires_at: datetime
    completed: bool = False
    sha256: str | None = None


class CreationRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A checked creation (``POST``) request."""

    length: int
    metadata: dict[str, str]
    metadata_header: str
    has_body: bool
    content_length: int | None = None
    checksum: tuple[str, bytes] | None = None


class PatchRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A checked ``PATCH`` request."""

    offset: int
    content_length: int | None = None
    checksum: tuple[str, bytes] | None = None


class StateStore(Protocol):
    """Where upload states live between requests and across restarts (the festival
    app keeps them in its database). ``put`` inserts or replaces by ``state.id``."""

    async def get(self, upload_id: str) -> UploadState | None: ...

    async def put(self, state: UploadState) -> None: ...

    async def delete(self, upload_id: str) -> None: ...

    async def list_expired(self, now: datetime) -> Sequence[UploadState]:
        """Incomplete uploads whose ``expires_at`` is at or before ``now``."""
        ...


# -- header parsing --------------------------------------------------------------------


def _normalise(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Header names in lower case. A tus header given twice with different values is
    ambiguous and refused; other repeated headers keep their last value."""
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    result: dict[str, str] = {}
    for name, value in pairs:
        lower = name.lower()
        if lower in _TUS_HEADERS and lower in result and result[lower] != value:
            raise TusError(400, f"the {name} header is given twice with different values")
        result[lower] = value
    return result


def _parse_count(value: str, name: str) -> int:
    """A non-negative integer written with ASCII digits only: no sign, spaces or dots."""
    if not _DIGITS.fullmatch(value):
        raise TusError(
            400, f"{name} must be a non-negative whole number of bytes in digits, not {value!r}"
        )
    return int(value)


def _media_type(value: str) -> str:
    return value.split(";", 1)[0].strip().lower()


def _decode_base64(value: str) -> bytes:
    if len(value) % 4 or not _BASE64.fullmatch(value):
        raise ValueError("not base64")
    try:
        return base64.b64decode(value, validate=True)
    except binascii.Error as error:
        raise ValueError("not base64") from error


def parse_metadata(header: str, required: Sequence[str] = REQUIRED_METADATA) -> dict[str, str]:
    """Decode ``Upload-Metadata``: comma-separated ``key base64value`` pairs.

    Keys are visible ASCII without commas, unique; values are standard, padded base64
    of UTF-8 text, and may be empty (the space may then be left out). The header is at
    most 4 KiB. Every key in ``required`` must be present with a non-empty value.
    Anything else is a 400 naming the key and what is wrong with it.
    """
    if len(header) > MAX_METADATA_LENGTH:
        raise TusError(
            400, f"Upload-Metadata is {len(header)} characters; at most {MAX_METADATA_LENGTH}"
        )
    if not header.isascii():
        raise TusError(400, "Upload-Metadata must be ASCII: keys in ASCII, values in base64")
    metadata: dict[str, str] = {}
    if header.strip():
        for number, pair in enumerate(header.split(","), start=1):
            item = pair.strip(" \t")
            if not item:
                raise TusError(400, f"Upload-Metadata pair {number} is empty (stray comma)")
            key, _, encoded = item.partition(" ")
            if not _METADATA_KEY.fullmatch(key):
                raise TusError(400, f"Upload-Metadata key {key!r} has characters not allowed")
            if " " in encoded:
                raise TusError(
                    400, f"Upload-Metadata {key}: key and value must be separated by one space"
                )
            if key in metadata:
                raise TusError(400, f"Upload-Metadata has the key {key} twice; keys are unique")
            try:
                raw = _decode_base64(encoded)
            except ValueError:
                raise TusError(
                    400, f"Upload-Metadata {key}: the value is not valid padded base64"
                ) from None
            try:
                metadata[key] = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise TusError(
                    400, f"Upload-Metadata {key}: the value is not valid UTF-8 text"
                ) from None
    for key in required:
        if key not in metadata:
            raise TusError(400, f"Upload-Metadata must include {key}")
        if not metadata[key]:
            raise TusError(400, f"Upload-Metadata {key} is empty; give a value")
    return metadata


def encode_metadata(metadata: Mapping[str, str]) -> str:
    """The ``Upload-Metadata`` header for ``metadata`` (what a client sends)."""
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items()
    )


def safe_filename(name: str, fallback: str = "upload") -> str:
    """A file name fit for display and ``Content-Disposition``: the last path segment
    (``/`` or ``\\``), without control or format characters (which include bidi
    overrides used to disguise extensions), trimmed, at most 200 characters."""
    last = re.split(r"[/\\]", unicodedata.normalize("NFC", name))[-1]
    cleaned = "".join(ch for ch in last if unicodedata.category(ch) not in ("Cc", "Cf"))
    cleaned = cleaned.strip().strip(".").strip()
    return cleaned[:200] or fallback


def parse_checksum(header: str) -> tuple[str, bytes]:
    """Read ``Upload-Checksum: <algorithm> <base64 digest>``.

    An algorithm we do not support is a 400 (as the checksum extension says), as is a
    malformed header or a digest of the wrong length for its algorithm.
    """
    algorithm, space, encoded = header.partition(" ")
    if not space or not algorithm or not encoded:
        raise TusError(400, "Upload-Checksum must be an algorithm and a base64 digest, e.g. sha1 …")
    if algorithm not in _DIGEST_SIZES:
        supported = ", ".join(CHECKSUM_ALGORITHMS)
        raise TusError(400, f"checksum algorithm {algorithm!r} is not supported; use {supported}")
    try:
        digest = _decode_base64(encoded)
    except ValueError:
        raise TusError(400, "Upload-Checksum digest is not valid padded base64") from None
    if len(digest) != _DIGEST_SIZES[algorithm]:
        raise TusError(
            400, f"a {algorithm} digest is {_DIGEST_SIZES[algorithm]} bytes, not {len(digest)}"
        )
    return algorithm, digest


def check_version(headers: Mapping[str, str]) -> None:
    """Every request but OPTIONS must say ``Tus-Resumable: 1.0.0``; otherwise 412 with
    ``Tus-Version`` and the request must not be processed."""
    version = _normalise(headers).get("tus-resumable")
    if version not in SUPPORTED_VERSIONS:
        told = "no Tus-Resumable header" if version is None else f"Tus-Resumable {version!r}"
        raise TusError(
            412,
            f"{told}: this server speaks tus {TUS_VERSION}; send Tus-Resumable: {TUS_VERSION}",
            {"Tus-Version": ",".join(SUPPORTED_VERSIONS)},
        )


def effective_method(method: str, headers: Mapping[str, str]) -> str:
    """The request method, honouring ``X-HTTP-Method-Override`` as tus requires."""
    override = _normalise(headers).get("x-http-method-override")
    return (override or method).strip().upper()


def check_creation(
    headers: Mapping[str, str],
    max_size: int,
    required_metadata: Sequence[str] = REQUIRED_METADATA,
) -> CreationRequest:
    """Check a creation ``POST`` (with or without a first chunk of the upload)."""
    h = _normalise(headers)
    if "upload-concat" in h:
        raise TusError(400, "concatenation is not supported; upload the file as one upload")
    raw_length = h.get("upload-length")
    defer = h.get("upload-defer-length")
    if raw_length is not None and defer is not None:
        raise TusError(400, "send either Upload-Length or Upload-Defer-Length, not both")
    if defer is not None:
        if defer != "1":
            raise TusError(400, "Upload-Defer-Length must be 1")
        raise TusError(400, "deferred length is not supported; send Upload-Length")
    if raw_length is None:
        raise TusError(400, "Upload-Length is required: the size of the whole file in bytes")
    length = _parse_count(raw_length, "Upload-Length")
    if length > max_size:
        raise TusError(
            413,
            f"the upload is {length} bytes; this server takes at most {max_size}",
            {"Tus-Max-Size": str(max_size)},
        )
    metadata_header = h.get("upload-metadata", "")
    metadata = parse_metadata(metadata_header, required_metadata)
    content_length = _content_length(h)
    carries_offset_bytes = _media_type(h.get("content-type", "")) == OFFSET_OCTET_STREAM
    if content_length is not None:
        has_body = content_length > 0
    else:  # chunked HTTP/1.1, or HTTP/2 (which needs neither header)
        has_body = carries_offset_bytes or "transfer-encoding" in h
    if has_body and not carries_offset_bytes:
        raise TusError(
            415, f"a creation request with data must have Content-Type: {OFFSET_OCTET_STREAM}"
        )
    if content_length is not None and content_length > length:
        raise TusError(413, f"the body is {content_length} bytes but Upload-Length is {length}")
    checksum = _checksum(h)
    return CreationRequest(
        length=length,
        metadata=metadata,
        metadata_header=metadata_header,
        has_body=has_body,
        content_length=content_length,
        checksum=checksum,
    )


def check_patch(
    headers: Mapping[str, str], state: UploadState, now: datetime | None = None
) -> PatchRequest:
    """Check a ``PATCH`` against the upload's current state.

    410 if the upload has expired, 415 without ``Content-Type:
    application/offset+octet-stream``, 400 for a missing or malformed header, 409 if
    ``Upload-Offset`` is not the current offset, 413 if ``Content-Length`` is more than
    the bytes still expected (so any bytes to a finished upload are 413; an empty PATCH
    at the final offset is harmless and accepted).
    """
    now = now or datetime.now(UTC)
    if not state.completed and now >= state.expires_at:
        raise TusError(410, "this upload has expired; start a new upload")
    h = _normalise(headers)
    if _media_type(h.get("content-type", "")) != OFFSET_OCTET_STREAM:
        raise TusError(415, f"PATCH requests must have Content-Type: {OFFSET_OCTET_STREAM}")
    raw_offset = h.get("upload-offset")
    if raw_offset is None:
        raise TusError(400, "Upload-Offset is required; ask HEAD for the current offset")
    offset = _parse_count(raw_offset, "Upload-Offset")
    checksum = _checksum(h)
    content_length = _content_length(h)
    if "upload-length" in h and _parse_count(h["upload-length"], "Upload-Length") != state.length:
        raise TusError(400, f"Upload-Length was set to {state.length} and cannot change")
    if offset != state.offset:
        raise TusError(
            409, f"Upload-Offset is {offset} but the upload is at {state.offset}; ask HEAD"
        )
    remaining = state.length - state.offset
    if content_length is not None and content_length > remaining:
        raise TusError(
            413, f"the body is {content_length} bytes but only {remaining} remain of the upload"
        )
    return PatchRequest(offset=offset, content_length=content_length, checksum=checksum)


def _content_length(h: Mapping[str, str]) -> int | None:
    raw = h.get("content-length")
    return None if raw is None else _parse_count(raw, "Content-Length")


def _checksum(h: Mapping[str, str]) -> tuple[str, bytes] | None:
    raw = h.get("upload-checksum")
    return None if raw is None else parse_checksum(raw)


# -- response headers ------------------------------------------------------------------


def http_date(moment: datetime) -> str:
    """An RFC 9110 HTTP-date, e.g. ``Wed, 25 Jun 2014 16:00:00 GMT``."""
    return format_datetime(moment.astimezone(UTC).replace(microsecond=0), usegmt=True)


def options_headers(max_size: int) -> dict[str, str]:
    """Headers for the answer (204) to ``OPTIONS``: what this server supports."""
    return {
        "Tus-Resumable": TUS_VERSION,
        "Tus-Version": ",".join(SUPPORTED_VERSIONS),
        "Tus-Extension": ",".join(SUPPORTED_EXTENSIONS),
        "Tus-Max-Size": str(max_size),
        "Tus-Checksum-Algorithm": ",".join(CHECKSUM_ALGORITHMS),
    }


def upload_headers(state: UploadState, *, head: bool = False) -> dict[str, str]:
    """Headers describing ``state``: for POST and PATCH answers, or with ``head`` for
    HEAD answers (which add length, metadata and ``Cache-Control: no-store``)."""
    headers = {"Tus-Resumable": TUS_VERSION, "Upload-Offset": str(state.offset)}
    if not state.completed:
        headers["Upload-Expires"] = http_date(state.expires_at)
    if head:
        headers["Upload-Length"] = str(state.length)
        if state.metadata_header:
            headers["Upload-Metadata"] = state.metadata_header
        headers["Cache-Control"] = "no-store"
    return headers


# -- streaming ---------------------------------------------------------------------------


class ChecksumVerifier:
    """Hashes a request body as it streams past, to compare with ``Upload-Checksum``."""

    def __init__(self, algorithm: str, expected: bytes) -> None:
        if algorithm not in _DIGEST_SIZES:
            raise TusError(400, f"checksum algorithm {algorithm!r} is not supported")
        self.algorithm = algorithm
        self.expected = expected
        self._hash = hashlib.new(algorithm, usedforsecurity=False)

    def update(self, chunk: bytes) -> None:
        self._hash.update(chunk)

    def matches(self) -> bool:
        return secrets.compare_digest(self._hash.digest(), self.expected)

    def verify(self) -> None:
        """Raise 460 Checksum Mismatch unless the bytes seen match the digest."""
        if not self.matches():
            raise TusError(
                460, f"the {self.algorithm} checksum does not match the bytes received; resend"
            )


class _Body:
    """Passes a request body on to the store: stops it at ``limit`` bytes (413 rather
    than one byte too many reaches the store), feeds the checksum, and remembers whether
    it was the client's side (a dropped connection) that failed."""

    def __init__(
        self, source: AsyncIterable[bytes], limit: int, verifier: ChecksumVerifier | None
    ) -> None:
        self._source = aiter(source)
        self._limit = limit
        self._verifier = verifier
        self.received = 0
        self.source_failed = False

    def __aiter__(self) -> _Body:
        return self

    async def __anext__(self) -> bytes:
        try:
            chunk = await anext(self._source)
        except StopAsyncIteration:
            raise
        except BaseException:
            self.source_failed = True
            raise
        self.received += len(chunk)
        if self.received > self._limit:
            raise TusError(413, f"the body is longer than the {self._limit} bytes that remain")
        if self._verifier is not None:
            self._verifier.update(chunk)
        return chunk


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover - makes this an async generator


_MAX_RUNNING_HASHES = 10_000


def _hasher_of(running: Any) -> Callable[[Sequence[bytes]], None]:
    def observe(batch: Sequence[bytes]) -> None:
        for piece in batch:
            running.update(piece)

    return observe


def _sha256_file(path: Path) -> str:
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def _utc_now() -> datetime:
    return datetime.now(UTC)


# -- the engine --------------------------------------------------------------------------


class TusEngine:
    """Creates, resumes, inspects, terminates and expires uploads over a :class:`Store`
    (the bytes, at ``<key_prefix>/<id>``) and a :class:`StateStore` (the states).

    Every method that names an upload takes ``owner``: the owner's identity, or ``None``
    for a caller allowed to see every upload (staff). Another owner's upload is 404.
    ``clock`` exists for tests.
    """

    def __init__(
        self,
        store: Store,
        states: StateStore,
        *,
        max_size: int,
        ttl: timedelta = timedelta(hours=24),
        key_prefix: str = "uploads",
        required_metadata: Sequence[str] = REQUIRED_METADATA,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.store = store
        self.states = states
        self.max_size = max_size
        self.ttl = ttl
        self.key_prefix = key_prefix.strip("/")
        self.required_metadata = tuple(required_metadata)
        self._clock = clock
        # Upload id -> (bytes hashed, SHA-256 so far), so finishing needs no re-read.
        self._hashes: dict[str, tuple[int, Any]] = {}

    def key_for(self, upload_id: str) -> str:
        """The store key holding an upload's bytes (complete ones too, until the app
        moves them elsewhere)."""
        return f"{self.key_prefix}/{upload_id}"

    def options_headers(self) -> dict[str, str]:
        return options_headers(self.max_size)

    async def create(
        self,
        headers: Mapping[str, str],
        owner: str,
        body: AsyncIterable[bytes] | None = None,
    ) -> UploadState:
        """Create an upload (``POST``), taking a first chunk from ``body`` if the request
        has one (creation-with-upload). The state is recorded before any byte is stored,
        so nothing is ever stored without a state that expiry can find. If the first
        chunk fails (checksum, size, dropped connection) the upload is removed again,
        since the client never learnt its URL."""
        request = check_creation(headers, self.max_size, self.required_metadata)
        now = self._clock()
        state = UploadState(
            id=secrets.token_hex(16),
            owner=owner,
            length=request.length,
            metadata=request.metadata,
            metadata_header=request.metadata_header,
            created_at=now,
            expires_at=now + self.ttl,
        )
        key = self.key_for(state.id)
        await self.states.put(state)
        try:
            await self.store.append(key, _nothing(), offset=0)
            if state.length == 0:
                state = await self._advance(state, 0)
            elif request.has_body and body is not None:
                async with self.store.lock(key):
                    state = await self._receive(state, request.checksum, body)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self.store.delete(key)
                await self.states.delete(state.id)
            raise
        return state

    async def head(self, upload_id: str, owner: str | None = None) -> UploadState:
        """The upload's state for ``HEAD``: 404 if unknown (or not ``owner``'s), 410 if
        expired. The offset reported is the smaller of the recorded one and the bytes
        actually stored (see the module's note on crashes)."""
        state = await self._visible(upload_id, owner)
        if state.completed:
            return state
        self._check_alive(state)
        size = await self.store.size(self.key_for(upload_id))
        if size is None:
            raise TusError(404, "the bytes of this upload are gone; start a new upload")
        if size < state.offset:
            return msgspec.structs.replace(state, offset=size)
        return state

    async def patch(
        self,
        upload_id: str,
        headers: Mapping[str, str],
        body: AsyncIterable[bytes],
        owner: str | None = None,
    ) -> UploadState:
        """Apply a ``PATCH``: check it, stream ``body`` into the store at the upload's
        offset, verify any checksum, sync, record the new offset and, when the last byte
        lands, mark the upload complete with the SHA-256 of the whole file."""
        state = await self._visible(upload_id, owner)
        if state.completed:
            # Nothing can change a finished upload; check_patch gives the right refusal
            # (409 or 413) or accepts an empty PATCH at the end.
            check_patch(headers, state, self._clock())
            return state
        async with _UploadLock(self.store, self.key_for(upload_id)):
            state = await self._reconciled(upload_id)
            request = check_patch(headers, state, self._clock())
            if state.completed:  # finished by the PATCH that held the lock before us
                return state
            return await self._receive(state, request.checksum, body)

    async def terminate(self, upload_id: str, owner: str | None = None) -> None:
        """Remove an upload's bytes and state (``DELETE``); 423 while a PATCH is writing.
        Bytes go first: a crash in between leaves a state without bytes, which HEAD
        reports as gone and expiry removes, never bytes without a state."""
        await self._visible(upload_id, owner)
        key = self.key_for(upload_id)
        try:
            async with self.store.lock(key):
                await self.store.delete(key)
                await self.states.delete(upload_id)
        except ObjectLocked:
            raise TusError(423, _BUSY) from None
        except FileNotFoundError:  # no bytes (already moved or lost): forget the state
            await self.states.delete(upload_id)

    async def expire(self, now: datetime | None = None) -> list[str]:
        """Remove incomplete uploads whose time is up; return their ids. An upload that
        a PATCH is writing to right now is left for the next run."""
        now = now or self._clock()
        removed: list[str] = []
        for state in await self.states.list_expired(now):
            key = self.key_for(state.id)
            try:
                async with self.store.lock(key):
                    current = await self.states.get(state.id)
                    if current is None or current.completed or current.expires_at > now:
                        continue
                    await self.store.delete(key)
                    await self.states.delete(state.id)
            except ObjectLocked:
                continue
            except FileNotFoundError:
                await self.states.delete(state.id)
            removed.append(state.id)
        return removed

    # -- internals -------------------------------------------------------------------

    async def _visible(self, upload_id: str, owner: str | None) -> UploadState:
        state = None
        if _UPLOAD_ID.fullmatch(upload_id):
            state = await self.states.get(upload_id)
        if state is None or (owner is not None and state.owner != owner):
            raise TusError(404, "no such upload; it may have finished expiring; start a new one")
        return state

    def _check_alive(self, state: UploadState) -> None:
        if not state.completed and self._clock() >= state.expires_at:
            raise TusError(410, "this upload has expired; start a new upload")

    async def _reconciled(self, upload_id: str) -> UploadState:
        """Re-read the state under the lock and make the stored bytes agree with it."""
        state = await self.states.get(upload_id)
        if state is None:
            raise TusError(404, "this upload was just removed; start a new upload")
        if state.completed:
            return state
        key = self.key_for(upload_id)
        size = await self.store.size(key)
        if size is None:
            raise TusError(404, "the bytes of this upload are gone; start a new upload")
        if size > state.offset:
            await self.store.truncate(key, state.offset)
        elif size < state.offset:
            state = msgspec.structs.replace(state, offset=size)
            await self.states.put(state)
        return state

    async def _receive(
        self,
        state: UploadState,
        checksum: tuple[str, bytes] | None,
        body: AsyncIterable[bytes],
    ) -> UploadState:
        """Stream ``body`` in at ``state.offset``; the caller holds the lock."""
        key = self.key_for(state.id)
        start = state.offset
        verifier = None if checksum is None else ChecksumVerifier(*checksum)
        feed = _Body(body, state.length - start, verifier)
        running = self._running_hash(state.id, start)
        try:
            end = await self.store.append(
                key, feed, offset=start, observe=_hasher_of(running) if running else None
            )
        except BaseException:
            with anyio.CancelScope(shield=True):
                if feed.source_failed and verifier is None:
                    # The client went away: keep what arrived, as tus asks.
                    end = await self.store.size(key) or start
                    if end > start:
                        self._keep_hash(state.id, end, running)
                        await self._advance(state, end)
                else:
                    await self.store.truncate(key, start)
            raise
        if verifier is not None and not verifier.matches():
            await self.store.truncate(key, start)
            verifier.verify()
        if end == state.length and running is not None:
            return await self._advance(state, end, digest=running.hexdigest())
        self._keep_hash(state.id, end, running)
        return await self._advance(state, end)

    def _running_hash(self, upload_id: str, offset: int) -> Any:
        """The SHA-256 of the upload's first ``offset`` bytes, if this process has been
        hashing them as they arrived; a fresh one at offset 0; otherwise None, and the
        whole file is read once at the end (after a restart, or on another instance)."""
        kept = self._hashes.pop(upload_id, None)
        if kept is not None and kept[0] == offset:
            return kept[1]
        return hashlib.sha256() if offset == 0 else None

    def _keep_hash(self, upload_id: str, offset: int, running: Any) -> None:
        if running is None:
            return
        if len(self._hashes) >= _MAX_RUNNING_HASHES:
            self._hashes.pop(next(iter(self._hashes)))  # the oldest goes first
        self._hashes[upload_id] = (offset, running)

    async def _advance(
        self, state: UploadState, offset: int, *, digest: str | None = None
    ) -> UploadState:
        """Record a new offset (the bytes are already synced); complete the upload if
        this was the last byte."""
        now = self._clock()
        if offset == state.length:
            self._hashes.pop(state.id, None)
            if digest is None:
                digest = await self._sha256(self.key_for(state.id))
            state = msgspec.structs.replace(state, offset=offset, completed=True, sha256=digest)
        else:
            state = msgspec.structs.replace(state, offset=offset, expires_at=now + self.ttl)
        await self.states.put(state)
        return state

    async def _sha256(self, key: str) -> str:
        async with self.store.open_path(key) as path:
            return await anyio.to_thread.run_sync(_sha256_file, path)


class _UploadLock:
    """The store's lock on an upload, with refusals to take it turned into tus answers:
    423 when someone else holds it, 404 when the upload's bytes are gone. Only errors
    raised while taking the lock are translated, never those of the work done under it."""

    def __init__(self, store: Store, key: str) -> None:
        self._manager = store.lock(key)

    async def __aenter__(self) -> None:
        try:
            await self._manager.__aenter__()
        except ObjectLocked:
            raise TusError(423, _BUSY) from None
        except FileNotFoundError:
            raise TusError(404, "the bytes of this upload are gone; start a new upload") from None

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool | None:
        return await self._manager.__aexit__(exc_type, exc, traceback)
