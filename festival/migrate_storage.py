"""``festival migrate-storage``: move a festival to another database and media store.

The usual move is from one machine (SQLite and a media folder) to PostgreSQL and an
S3-compatible bucket, but any source settings go to any target settings: only the
media (``file://`` to ``s3://``), only the database (SQLite to PostgreSQL), or back.
The source is the service's own settings (the environment); the target is a
deployment's env file (``--to``), or the source with ``--to-database`` and
``--to-media`` changed. Stop the service first. Then the command:

1. brings the target database to the newest schema (its own ``migrate``), and refuses
   unless it holds no data: a festival is moved into an empty database, never merged
   into another one;
2. copies every media object, streaming, and reads each copy back from the target to
   check its size and SHA-256. Uploads still in progress (``uploads`` rows not
   completed) are copied as *partial* objects, appended in two pieces split at the
   acknowledged offset (on S3 a part boundary falls there, where tus may cut back to),
   so phones resume them against the target; everything else becomes a finished object;
3. copies every row of every table, parents before children, in batches, inside one
   transaction of the target, then sets the public-change counter above the source's,
   makes ids continue past the highest the source ever handed out, checks that every
   table (and the search index) holds as many rows as in the source, and only then
   commits.

Media goes first so that the database, once committed, never names an object the
target lacks. If anything fails the command stops with a plain message: the target
database is left without the copied rows (one transaction) and a run again starts
afresh, writing the objects again. The source is only ever read.

Decisions, beyond the design:

* A target sharing the source's database copies only the media (and the other way
  round). Both the same is refused, as is a media store inside the other one (a folder
  in the other's folder, or overlapping prefixes of one bucket): the copy would write
  into the source. Settings can hide that a store is the source (another spelling of
  the endpoint, a folder mounted twice), so before copying, a marker object written to
  the target must not show in the source.
* ``--to FILE`` is the target deployment's whole environment: a setting it leaves out
  takes its default there, as the deployment will, except ``FESTIVAL_DATA_DIR``, which
  defaults to the source's. Without a file the target is the source's environment with
  the database or media changed (a new ``file://`` media URL drops the source's S3
  settings, which only a bucket uses). Lines that are not ``FESTIVAL_NAME=value`` are
  refused by number, never echoed, since they may hold a secret; a value may be wrapped
  in one pair of quotes, as docker compose and systemd allow.
* The source must be at the newest schema (the tables are copied as this version
  describes them); the command never migrates the source, since that would write to it.
* The search index is copied as it is rather than rebuilt, so transcripts need not be
  read back from the captions files. The counter is set, not copied: the target's own
  triggers bump it while rows go in.
* Into PostgreSQL, text longer than its column's declared length (which SQLite keeps)
  is looked for first, and named, before anything is copied.
* The target's media store may already hold objects the source does not have (left by
  an earlier run, say); they are counted in the report and left alone.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import msgspec
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from festival.db import copy_queries
from festival.db.engine import Database
from festival.settings import PREFIX, Settings, SettingsError, load_settings
from media.storage import Store

__all__ = [
    "MigrationFailed",
    "MigrationRefused",
    "StorageReport",
    "TableRows",
    "migrate_storage",
    "read_env_file",
    "target_settings",
]

BATCH_ROWS = 500
"""Rows per read and per insert: a few hundred keeps each INSERT's parameters (about 40
per row at most) well inside the limits of both drivers, and memory at one batch."""

OBJECT_WORKERS = 4
"""Media objects copied at once: enough to hide the round trips of many small objects
(posters, captions) to S3, few enough that memory stays at a few multipart buffers."""

PROGRESS_EVERY = 100
"""A progress line every this many media objects."""

_S3_NAMES = tuple(
    f"{PREFIX}{name}"
    for name in ("S3_ENDPOINT", "S3_REGION", "S3_ACCESS_KEY_ID", "S3_SECRET_ACCESS_KEY")
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class MigrationRefused(Exception):
    """The command was asked for something it will not do: bad target settings, or a
    target that is the source. Nothing was read or written; the CLI exits with 2."""


class MigrationFailed(Exception):
    """The move could not be made: the target is not empty, a store or database does
    not answer, a copy differs. The target database holds no copied rows; the CLI exits
    with 1."""


class TableRows(msgspec.Struct, frozen=True):
    table: str
    rows: int


class StorageReport(msgspec.Struct, frozen=True, kw_only=True):
    """What was moved; :meth:`lines` is what the command prints."""

    source: str
    target: str
    database_copied: bool
    media_copied: bool
    #: Rows per table, in copying order, the search index last.
    tables: tuple[TableRows, ...] = ()
    objects: int = 0
    #: Of ``objects``, the uploads in progress (copied as partial objects).
    partial_objects: int = 0
    bytes: int = 0
    #: Objects the target store held that the source does not (left alone).
    other_objects: int = 0

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    def lines(self) -> list[str]:
        said = [f"source: {self.source}", f"target: {self.target}"]
        if self.media_copied:
            partial = f", {_count(self.partial_objects, 'upload')} in progress"
            said.append(
                f"media: copied {_count(self.objects, 'object')}{partial}, "
                f"{_count(self.bytes, 'byte')}; every copy read back with the same size "
                "and SHA-256"
            )
            if self.other_objects:
                said.append(
                    f"media: the target also holds {_count(self.other_objects, 'object')} "
                    "the source does not have; left alone"
                )
        else:
            said.append("media: source and target share the media store; nothing to copy")
        if self.database_copied:
            said.append(
                f"database: copied {_count(self.rows, 'row')} in one transaction; every "
                "table holds as many rows as in the source, and new ids continue past "
                "the source's highest"
            )
            said += [f"table {t.table}: {_count(t.rows, 'row')}" for t in self.tables]
        else:
            said.append("database: source and target share the database; nothing to copy")
        said.append("The source was only read.")
        return said


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --- the target's settings -------------------------------------------------------------


def read_env_file(path: Path) -> tuple[dict[str, str], dict[str, int]]:
    """The ``FESTIVAL_NAME=value`` lines of a deployment's env file, and the line each
    name is on. Blank lines and ``#`` comments are skipped; anything else that is not
    such a line raises :class:`MigrationRefused` naming its number."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise MigrationRefused(f"The target settings file {path} is not UTF-8 text.") from None
    except OSError as error:
        raise MigrationRefused(
            f"Cannot read the target settings file {path}: {error.strerror}."
        ) from None
    values: dict[str, str] = {}
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        name = name.strip()
        if not equals or not _NAME.fullmatch(name):
            raise MigrationRefused(
                f"Line {number} of {path} is not a setting: write FESTIVAL_NAME=value."
            )
        if not name.startswith(PREFIX):
            raise MigrationRefused(
                f"Line {number} of {path} sets {name}, which is not a festival setting "
                f"(they start with {PREFIX})."
            )
        if name in lines:
            raise MigrationRefused(
                f"Line {number} of {path} sets {name} again (line {lines[name]} set it first)."
            )
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[name] = value
        lines[name] = number
    return values, lines


def target_settings(
    source: Settings,
    environ: Mapping[str, str],
    *,
    env_file: Path | None = None,
    database_url: str | None = None,
    media_url: str | None = None,
) -> Settings:
    """The settings to move to: ``env_file`` (a deployment's whole environment) or else
    the source's ``environ``, with ``database_url`` and ``media_url`` put over it, and
    the source's data directory unless a data directory is given."""
    lines: dict[str, int] = {}
    if env_file is not None:
        values, lines = read_env_file(env_file)
    else:
        values = {name: value for name, value in environ.items() if name.startswith(PREFIX)}
        if media_url is not None and not media_url.startswith("s3://"):
            for name in _S3_NAMES:
                values.pop(name, None)
    if database_url is not None:
        values[f"{PREFIX}DATABASE_URL"] = database_url
    if media_url is not None:
        values[f"{PREFIX}MEDIA_URL"] = media_url
    values.setdefault(f"{PREFIX}DATA_DIR", str(source.data_dir))
    try:
        return load_settings(values)
    except SettingsError as error:
        message = str(error)
        # Settings errors start with the variable's name; name the line that set it.
        named = re.match(r"[A-Z0-9_]+", message)
        line = lines.get(named.group(0)) if named else None
        where = f" (line {line} of {env_file})" if line else ""
        raise MigrationRefused(f"The target settings are wrong{where}: {message}") from None


# --- where things live -----------------------------------------------------------------


def _database_place(url: str) -> tuple[str, ...]:
    parts = make_url(url)
    if parts.get_backend_name() == "sqlite":
        return ("sqlite", str(Path(parts.database or "").resolve()))
    host = (parts.host or "localhost").lower()
    return ("postgresql", host, str(parts.port or 5432), parts.database or parts.username or "")


def _media_overlap(source: Settings, target: Settings) -> str | None:
    """``"same"`` for one media store, ``"nested"`` when one lies inside the other (a
    copy would write into the source), else ``None``."""
    if source.media_in_s3 != target.media_in_s3:
        return None
    if source.media_in_s3:
        if (source.s3_endpoint.lower(), source.s3_bucket) != (
            target.s3_endpoint.lower(),
            target.s3_bucket,
        ):
            return None
        a, b = source.s3_prefix, target.s3_prefix
        if a == b:
            return "same"
        if not a or not b or a.startswith(f"{b}/") or b.startswith(f"{a}/"):
            return "nested"
        return None
    first, second = source.media_root.resolve(), target.media_root.resolve()
    if first == second:
        return "same"
    if first in second.parents or second in first.parents:
        return "nested"
    return None


def describe(settings: Settings) -> str:
    """The database and media store, without the database password."""
    database = make_url(settings.database_url).render_as_string(hide_password=True)
    return f"{database} and {settings.media_url}"


def plan(source: Settings, target: Settings) -> tuple[bool, bool]:
    """Whether the database and whether the media are copied; refuses a target that
    is the source, or media stores one inside the other."""
    same_database = _database_place(source.database_url) == _database_place(target.database_url)
    overlap = _media_overlap(source, target)
    if same_database and overlap == "same":
        raise MigrationRefused(
            "The target is the source: the same database and the same media store, so "
            "there is nothing to move."
        )
    if overlap == "nested":
        raise MigrationRefused(
            f"The target media store {target.media_url} and the source's "
            f"{source.media_url} lie one inside the other; give the target a folder or "
            "prefix of its own."
        )
    return not same_database, overlap is None


# --- running it -------------------------------------------------------------------------


def _quiet(_: str) -> None:
    return None


def _plain(error: BaseException) -> str:
    """One line about an error, without the SQL and parameters SQLAlchemy adds."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    # asyncpg's errors come through SQLAlchemy's adapter as "<class '...Error'>: text".
    text = re.sub(r"^<class '[\w.]+'>: ", "", text)
    return text or type(error).__name__


@contextmanager
def _failing_as(what: str) -> Iterator[None]:
    """Turn any unexpected error into :class:`MigrationFailed` saying what was being done."""
    try:
        yield
    except (MigrationFailed, MigrationRefused):
        raise
    except Exception as error:
        raise MigrationFailed(f"{what} failed: {_plain(error).rstrip('.')}.") from error


async def migrate_storage(
    source: Settings, target: Settings, *, say: Callable[[str], None] = _quiet
) -> StorageReport:
    """Move the festival from ``source`` to ``target`` (see the module's notes); ``say``
    hears a line as each step starts. Raises :class:`MigrationRefused` or
    :class:`MigrationFailed`."""
    copy_database, copy_media = plan(source, target)
    _check_source_exists(source)
    with _failing_as("Checking the source database's schema"):
        await _check_source_schema(source.database_url)
    source_db = Database.open(source.database_url)
    target_db = Database.open(target.database_url)
    try:
        if copy_database:
            await _prepare_target_database(source_db, target_db, target, say)
        media = _MediaTally()
        if copy_media:
            stores = _Stores(source, source_db, target, target_db)
            # Before any object is copied: a target store that cannot be reached, or that
            # is the source under another name, stops the move with the media untouched.
            await stores.check()
            media = await _copy_media(stores, source_db, target, say)
        tables: tuple[TableRows, ...] = ()
        if copy_database:
            tables = await _copy_database(source_db, target_db, say)
    finally:
        await target_db.close()
        await source_db.close()
    return StorageReport(
        source=describe(source),
        target=describe(target),
        database_copied=copy_database,
        media_copied=copy_media,
        tables=tables,
        objects=media.objects,
        partial_objects=media.partial,
        bytes=media.bytes,
        other_objects=media.others,
    )


def _check_source_exists(source: Settings) -> None:
    """Refuse settings that point at nothing: opening a missing SQLite file would create
    an empty one (a write), and the service always makes its media folder."""
    if source.is_sqlite:
        path = Path(make_url(source.database_url).database or "")
        if not path.is_file():
            raise MigrationRefused(
                f"There is no source database at {path}: run this with the settings the "
                "service runs with."
            )
    if not source.media_in_s3 and not source.media_root.is_dir():
        raise MigrationRefused(
            f"There is no source media folder at {source.media_root}: run this with the "
            "settings the service runs with."
        )


async def _check_source_schema(url: str) -> None:
    from alembic.script import ScriptDirectory

    from festival.db.migrate import alembic_config, current_revision

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    current = await current_revision(url)
    if current != head:
        raise MigrationFailed(
            f"The source database is at schema {current or 'none'}, not the newest ({head}). "
            "Run festival migrate (or start the service once) with the source settings, "
            "stop it, then run this again."
        )


async def _prepare_target_database(
    source_db: Database, target_db: Database, target: Settings, say: Callable[[str], None]
) -> None:
    from festival.db.migrate import migrate

    say("Bringing the target database to the newest schema.")
    with _failing_as("Migrating the target database"):
        await migrate(target.database_url)
    with _failing_as("Reading the target database"):
        async with target_db.read() as conn:
            filled = await copy_queries.first_filled_table(conn)
    if filled is not None:
        raise _not_empty(*filled)
    if target_db.dialect == "postgresql":
        with _failing_as("Checking the source's text against PostgreSQL's column lengths"):
            async with source_db.read() as conn:
                overlong = await copy_queries.overlong_values(conn)
        if overlong:
            named = "; ".join(
                f"{table}.{column} holds {_count(rows, 'value')} longer than {length} characters"
                for table, column, length, rows in overlong
            )
            raise MigrationFailed(
                f"PostgreSQL would refuse some of the source's text: {named}. Shorten them "
                "in the source (the service allows no longer), then run this again."
            )


class _TargetNotEmpty(MigrationFailed):
    """The target holds data: said as it is, the target being untouched."""


def _not_empty(table: str, rows: int) -> MigrationFailed:
    return _TargetNotEmpty(
        f"The target database already holds data ({_count(rows, 'row')} in table {table}); "
        "migrate into an empty database."
    )


# --- media ----------------------------------------------------------------------------


class _MediaTally:
    def __init__(self) -> None:
        self.objects = 0
        self.partial = 0
        self.bytes = 0
        self.others = 0


class _Stores:
    """The source's and the target's media stores.

    The source's comes with its clip services, for the tus engine's own rule of which
    key holds an upload's bytes; both stores are :func:`festival.storage.open_store`'s.
    """

    def __init__(
        self, source: Settings, source_db: Database, target: Settings, target_db: Database
    ) -> None:
        from festival.app import build_clip_services
        from festival.jobs import Jobs
        from festival.storage import open_store

        services = build_clip_services(source, source_db, Jobs(source_db))
        self.source = services.store
        self.upload_key = services.engine.key_for
        self.target = open_store(target, target_db)
        self.target_url = target.media_url

    async def check(self) -> None:
        """The target answers, and is not the source under another name (another
        endpoint for the same bucket, a folder mounted twice): a marker object written
        to the target must not show in the source. Copying a store onto itself would
        delete uploads in progress before reading them."""
        from media.s3 import S3Store

        if isinstance(self.target, S3Store):
            with _failing_as(f"Reaching the target media store {self.target.url}"):
                await self.target.ping()
        marker = f"migrate-storage-check-{secrets.token_hex(8)}"
        with _failing_as(f"Writing to the target media store {self.target_url}"):
            async with self.target.open_write(marker) as writer:
                await writer.write(b"festival migrate-storage was here")
        try:
            with _failing_as("Reading the source media store"):
                aliased = await self.source.exists(marker)
        finally:
            with _failing_as(f"Writing to the target media store {self.target_url}"):
                await self.target.delete(marker)
        if aliased:
            raise MigrationRefused(
                f"The target media store {self.target_url} is the source's under another "
                "name: an object written there shows in the source."
            )


async def _copy_media(
    stores: _Stores, source_db: Database, target: Settings, say: Callable[[str], None]
) -> _MediaTally:
    source_store, target_store = stores.source, stores.target
    with _failing_as("Reading the uploads in progress"):
        async with source_db.read() as conn:
            unfinished = await copy_queries.unfinished_uploads(conn)
    partial = {stores.upload_key(upload): offset for upload, offset in unfinished.items()}
    with _failing_as("Listing the source media"):
        keys = [key async for key in source_store.list("")]
    say(f"Copying {_count(len(keys), 'media object')} to {target.media_url}.")

    tally = _MediaTally()
    pending = iter(keys)  # shared by the workers: each takes the next key in turn

    async def work() -> None:
        for key in pending:
            with _failing_as(f"Copying media object {key}"):
                if key in partial:
                    size, digest = await _copy_partial(
                        source_store, target_store, key, partial[key]
                    )
                    tally.partial += 1
                else:
                    size, digest = await _copy_finished(source_store, target_store, key)
                await _verify(target_store, key, size, digest)
            tally.objects += 1
            tally.bytes += size
            if tally.objects % PROGRESS_EVERY == 0:
                say(f"Copied {tally.objects} of {len(keys)} media objects.")

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(min(OBJECT_WORKERS, len(keys))):
                group.create_task(work())
    except* MigrationFailed as failures:
        raise failures.exceptions[0] from None

    with _failing_as("Listing the target media"):
        copied = set(keys)
        tally.others = sum([key not in copied async for key in target_store.list("")])
    return tally


class _Digest(Protocol):
    def update(self, data: bytes, /) -> None: ...


async def _hashed(chunks: AsyncIterable[bytes], digest: _Digest) -> AsyncIterator[bytes]:
    async for chunk in chunks:
        digest.update(chunk)
        yield chunk


async def _nothing() -> AsyncIterator[bytes]:
    return
    yield b""  # pragma: no cover  (makes this an async generator)


async def _copy_finished(source: Store, target: Store, key: str) -> tuple[int, str]:
    """Stream one object into a finished object at the same key (which replaces
    anything an earlier run left there); return its size and SHA-256."""
    digest = hashlib.sha256()
    async with target.open_write(key) as writer:
        async for chunk in _hashed(source.read_range(key), digest):
            await writer.write(chunk)
        size = writer.size
    return size, digest.hexdigest()


async def _copy_partial(source: Store, target: Store, key: str, offset: int) -> tuple[int, str]:
    """Copy an upload in progress as a partial object tus can go on appending to.

    Any object an earlier run left at the key goes first (append only starts a new
    object at offset 0). The bytes go in two appends split at the acknowledged offset:
    bytes past it were synced but never acknowledged, and the next PATCH cuts back to
    the offset, which on S3 is then a part boundary, as it was in a store that took the
    upload itself. Like tus, the copy holds the object's writer's lock.
    """
    digest = hashlib.sha256()
    size = await source.size(key)
    if size is None:
        raise FileNotFoundError(f"{key} went from the source while being copied")
    await target.delete(key)
    await target.append(key, _nothing(), offset=0)
    async with target.lock(key):
        split = min(offset, size)
        end = await target.append(key, _hashed(source.read_range(key, 0, split), digest), offset=0)
        if end < size:
            end = await target.append(key, _hashed(source.read_range(key, end), digest), offset=end)
    return end, digest.hexdigest()


async def _verify(target: Store, key: str, size: int, sha256: str) -> None:
    """Read the copy back from the target: the same size and SHA-256 as was sent."""
    digest = hashlib.sha256()
    found = 0
    async for chunk in target.read_range(key):
        digest.update(chunk)
        found += len(chunk)
    same = digest.hexdigest() == sha256
    if found != size or not same:
        raise MigrationFailed(
            f"The copy of media object {key} differs from the source ({found} bytes read "
            f"back, {size} sent, {'the same' if same else 'a different'} SHA-256)."
        )


# --- the database ---------------------------------------------------------------------


async def _copy_database(
    source_db: Database, target_db: Database, say: Callable[[str], None]
) -> tuple[TableRows, ...]:
    """Every row into the target in one transaction, checked before it commits."""
    from festival.db.tables import SEARCH_TABLE

    tables = copy_queries.copied_tables()
    say(f"Copying the rows of {len(tables)} tables and the search index in one transaction.")
    with _failing_as("Reading the source database"):
        async with copy_queries.snapshot(source_db) as src:
            counts = {t.name: await copy_queries.row_count(src, t) for t in tables}
            counts[SEARCH_TABLE] = await copy_queries.search_count(src)
            highest = await copy_queries.highest_ids(src)
            version = await copy_queries.public_version(src)
            try:
                with _failing_as("Writing to the target database"):
                    async with target_db.write() as dst:
                        return await _fill(src, dst, counts, highest, version)
            except _TargetNotEmpty:
                raise
            except MigrationFailed as error:
                raise MigrationFailed(
                    f"{error} Nothing was committed: the target database holds no copied "
                    "rows, and running this again starts afresh."
                ) from error


async def _fill(
    src: AsyncConnection,
    dst: AsyncConnection,
    counts: dict[str, int],
    highest: dict[str, int],
    version: int,
) -> tuple[TableRows, ...]:
    """The copy inside the target's transaction; any error rolls all of it back."""
    from festival.db.tables import SEARCH_TABLE

    # Checked again inside the transaction: a service started meanwhile may have
    # written since the first look.
    filled = await copy_queries.first_filled_table(dst)
    if filled is not None:
        raise _not_empty(*filled)
    tables = copy_queries.copied_tables()
    for table in tables:
        with _failing_as(f"Copying table {table.name}"):
            async for rows in copy_queries.stream_rows(src, table, BATCH_ROWS):
                await copy_queries.insert_rows(dst, table, rows)
    with _failing_as(f"Copying the search index ({SEARCH_TABLE})"):
        async for rows in copy_queries.stream_search_rows(src, BATCH_ROWS):
            await copy_queries.insert_search_rows(dst, rows)
    with _failing_as("Setting the next ids and the public-change counter"):
        await copy_queries.continue_ids(dst, highest)
        # Above both: a cache anywhere that saw either number sees a change.
        mine = await copy_queries.public_version(dst)
        await copy_queries.set_public_version(dst, max(mine, version) + 1)
    copied: list[TableRows] = []
    with _failing_as("Counting the copied rows"):
        for table in tables:
            found = await copy_queries.row_count(dst, table)
            _same_count(table.name, found, counts[table.name])
            copied.append(TableRows(table.name, found))
        found = await copy_queries.search_count(dst)
        _same_count(SEARCH_TABLE, found, counts[SEARCH_TABLE])
        copied.append(TableRows(SEARCH_TABLE, found))
    return tuple(copied)


def _same_count(table: str, found: int, expected: int) -> None:
    if found != expected:
        raise MigrationFailed(
            f"The target's table {table} holds {_count(found, 'row')} after copying, the "
            f"source's {expected}."
        )
