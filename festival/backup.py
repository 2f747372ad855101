"""``festival backup PATH``: a consistent online copy of the database and a manifest of the
media store, taken while the service keeps running.

SQLite's online backup API copies a consistent snapshot even while requests write; the
manifest lists every media object (hidden temporary files aside) with its size and
SHA-256, so a restore can be checked object by object. A PostgreSQL database is copied
with pg_dump instead.
"""

from __future__ import annotations

import hashlib
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


def backup(settings: Settings, destination: Path) -> Manifest:
    """Write ``festival.db`` and ``media-manifest.json`` into ``destination``."""
    destination.mkdir(parents=True, exist_ok=True)
    _copy_database(_sqlite_path(settings.database_url), destination / "festival.db")
    root = settings.media_root
    objects = [
        MediaObject(
            key=path.relative_to(root).as_posix(), size=path.stat().st_size, sha256=_sha256(path)
        )
        for path in sorted(root.rglob("*"))
        if path.is_file() and not path.name.startswith(".")
    ]
    manifest = Manifest(
        taken_at=datetime.now(UTC),
        database="festival.db",
        media_root=str(root),
        objects=objects,
    )
    (destination / "media-manifest.json").write_bytes(
        msgspec.json.format(msgspec.json.encode(manifest))
    )
    return manifest
