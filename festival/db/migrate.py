"""Bring a database to the newest schema with Alembic, from async code."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from festival.db.engine import Database

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


async def migrate(url: str) -> None:
    """Upgrade the database at ``url`` to the newest revision."""
    # Open through Database so a SQLite file gets its folder and WAL before Alembic runs.
    db = Database.open(url)
    try:
        async with db.writer.connect() as conn:
            if conn.dialect.name == "sqlite":
                # Rebuilding a table (Alembic's batch mode) drops the old one; with foreign
                # keys on, that would cascade into the rows that point at it. The pragma
                # only takes effect outside a transaction, so it goes to the driver first.
                raw = await conn.get_raw_connection()
                raw.driver_connection.isolation_level = None  # type: ignore[union-attr]
                await raw.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
            await conn.run_sync(_upgrade)
            await conn.commit()
            if conn.dialect.name == "sqlite":
                problems = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).all()
                await conn.rollback()
                if problems:
                    raise RuntimeError(f"the migration left broken references: {problems[:5]}")
    finally:
        await db.close()


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda c: MigrationContext.configure(c).get_current_revision()
            )
    finally:
        await engine.dispose()
