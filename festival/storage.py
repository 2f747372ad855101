"""The media store the settings ask for: a local folder or an S3 bucket."""

from __future__ import annotations

from festival.db.engine import Database
from festival.db.locks import AdvisoryLocks
from festival.settings import Settings
from media.locks import FileLocks, Locks
from media.s3 import S3Store
from media.storage import LocalStore, Store

__all__ = ["open_store"]


def open_store(settings: Settings, db: Database) -> Store:
    """A :class:`LocalStore` for ``file://`` media, an :class:`S3Store` for ``s3://``.

    An S3 store's writer's locks must reach every instance that shares the bucket:
    PostgreSQL advisory locks when the database is PostgreSQL (instances may be on
    several machines), otherwise ``flock`` files in the data directory (SQLite already
    keeps every instance on one machine).
    """
    if not settings.media_in_s3:
        return LocalStore(settings.media_root)
    locks: Locks
    if db.dialect == "postgresql":
        locks = AdvisoryLocks(db)
    else:
        locks = FileLocks(settings.data_dir / "locks")
    return S3Store(
        settings.s3_bucket,
        settings.s3_prefix,
        locks=locks,
        endpoint=settings.s3_endpoint,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=settings.s3_secret_access_key,
        scratch_dir=settings.data_dir / "downloads",
    )
