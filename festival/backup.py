"""``festival backup PATH [--media]`` and ``festival restore PATH``.

A backup is a consistent online copy of the database and a manifest of the media store,
taken while the service keeps running. SQLite's online backup API copies a consistent
snapshot even while requests write; the manifest lists every media object (hidden
temporary files aside) with its size and SHA-256, so a restore can be checked object by
object. A PostgreSQL database is copied with pg_dump instead.

Media is large and usually has its own backup (the object store's versioning, or a copy
of the media folder), so by default the backup holds only the manifest. ``--media``
copies the objects too (into ``PATH/media``), for a backup that stands alone. The
secret key kept in the data directory is copied as well: calendar links and sealed mail
jobs are signed with it, so without it a restored service would break them.

A restore goes into a fresh data directory: the database and secret key are put in
place, the media is copied in from ``PATH/media`` if the backup has it, and then every
object in the manifest is checked in the media store by size and SHA-256. What is
missing or different is named, and the restore fails, so nobody serves a festival whose
clips cannot play without knowing it.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from festival.settings import Settings, SettingsError


def _sqlite_path(url: str) -> Path:
    if not url.startswith("sqlite"):
        raise SettingsError(
            "FESTIVAL_DATABASE_URL: festival backup copies SQLite databases; "
            "use pg_dump for PostgreSQL"
        )
    return Path(url.split(":///", 1)[1])


def _local_media(settings: Settings) -> Path:
    if settings.media_in_s3:
        raise SettingsError(
            "FESTIVAL_MEDIA_URL: festival backup and restore copy a file:// media folder; "
            "back up an S3 bucket with the store's own tools (versioning, replication)"
        )
    return settings.media_root


def _copy_database(source: Path, target: Path) -> None:
    tmp = target.with_suffix(".tmp")
    with sqlite3.connect(source) as live, sqlite3.connect(tmp) as copy:
        live.backup(copy)
    copy.close()
    tmp.replace(target)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class MediaObject(msgspec.Struct):
    key: str
    size: int
    sha256: str


class Manifest(msgspec.Struct):
    taken_at: datetime
    database: str
    media_root: str
    objects: list[MediaObject]


MANIFEST = "media-manifest.json"
KEY_FILE = "secret_key"


def _visible(root: Path) -> list[Path]:
    """Media objects: files with no hidden part in their path (temporaries are hidden)."""
    return [
        path
        for path in sorted(root.rglob("*"))
        if path.is_file() and not any(p.startswith(".") for p in path.relative_to(root).parts)
    ]


def _copy_file(source: Path, target: Path) -> None:
    """Copy and sync through a temporary name, so a copy cut off part-way is never taken
    for a whole one."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.restore.tmp")
    shutil.copyfile(source, tmp)
    with tmp.open("rb") as handle:
        os.fsync(handle.fileno())
    tmp.replace(target)


def backup(settings: Settings, destination: Path, *, media: bool = False) -> Manifest:
    """Write ``festival.db``, the secret key (if the data directory keeps it) and
    ``media-manifest.json`` into ``destination``; with ``media``, the objects too."""
    root = _local_media(settings)
    destination.mkdir(parents=True, exist_ok=True)
    _copy_database(_sqlite_path(settings.database_url), destination / "festival.db")
    secret = settings.data_dir / KEY_FILE
    if secret.exists():
        _copy_file(secret, destination / KEY_FILE)
        (destination / KEY_FILE).chmod(0o600)
    objects = []
    for path in _visible(root):
        key = path.relative_to(root).as_posix()
        if media:
            _copy_file(path, destination / "media" / key)
            path = destination / "media" / key  # hash the copy: it is what a restore gets
        objects.append(MediaObject(key=key, size=path.stat().st_size, sha256=_sha256(path)))
    manifest = Manifest(
        taken_at=datetime.now(UTC),
        database="festival.db",
        media_root=str(root),
        objects=objects,
    )
    (destination / MANIFEST).write_bytes(msgspec.json.format(msgspec.json.encode(manifest)))
    return manifest


class Restored(msgspec.Struct):
    objects: int
    copied: int
    missing: list[str]
    different: list[str]


def restore(settings: Settings, source: Path) -> Restored:
    """Put the backup in ``source`` in place for ``settings`` (a fresh data directory)
    and check the media store against its manifest."""
    target = _sqlite_path(settings.database_url)
    root = _local_media(settings)
    if not (source / "festival.db").is_file() or not (source / MANIFEST).is_file():
        raise SettingsError(
            f"{source} is not a festival backup: it needs festival.db and {MANIFEST}"
        )
    if target.exists():
        raise SettingsError(
            f"FESTIVAL_DATA_DIR: {target} already exists; restore into a fresh data "
            "directory (or move the old database away first)"
        )
    manifest = msgspec.json.decode((source / MANIFEST).read_bytes(), type=Manifest)
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy_database(source / "festival.db", target)
    if (source / KEY_FILE).is_file():
        # Replaces the key that loading the settings just made for this fresh directory:
        # nothing has used that one yet, and links people hold were signed with the old.
        _copy_file(source / KEY_FILE, settings.data_dir / KEY_FILE)
        (settings.data_dir / KEY_FILE).chmod(0o600)
    root.mkdir(parents=True, exist_ok=True)
    copied = 0
    saved = source / "media"
    if saved.is_dir():
        for item in manifest.objects:
            if (saved / item.key).is_file() and not (root / item.key).exists():
                _copy_file(saved / item.key, root / item.key)
                copied += 1
    missing, different = [], []
    for item in manifest.objects:
        path = root / item.key
        if not path.is_file():
            missing.append(item.key)
        elif path.stat().st_size != item.size or _sha256(path) != item.sha256:
            different.append(item.key)
    return Restored(
        objects=len(manifest.objects), copied=copied, missing=missing, different=different
    )
