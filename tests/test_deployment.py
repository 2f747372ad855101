"""The deployment files say what they mean and the schema matches the migrations."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine

from festival.db.migrate import migrate
from festival.db.tables import described, metadata

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_compose_file_is_valid() -> None:
    tool = shutil.which("docker-compose")
    if tool is None:
        pytest.skip("docker-compose is not installed (scripts/install-system-packages adds it)")
    result = subprocess.run(
        [tool, "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "festival-data:/data" in result.stdout
    assert "healthcheck" in result.stdout


def test_migrations_build_exactly_the_tables_the_code_uses(tmp_path: Path) -> None:
    path = tmp_path / "schema.db"
    asyncio.run(migrate(f"sqlite+aiosqlite:///{path}"))
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"include_name": described}), metadata
        )
    engine.dispose()
    assert differences == []


def test_migrate_twice_changes_nothing(tmp_path: Path) -> None:
    from alembic.script import ScriptDirectory

    from festival.db.migrate import alembic_config, current_revision

    url = f"sqlite+aiosqlite:///{tmp_path / 'again.db'}"
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    asyncio.run(migrate(url))
    first = (tmp_path / "again.db").read_bytes()
    asyncio.run(migrate(url))
    assert asyncio.run(current_revision(url)) == head
    assert (tmp_path / "again.db").read_bytes() == first


def test_rebuilding_tables_in_a_migration_keeps_the_rows_that_point_at_them(
    tmp_path: Path,
) -> None:
    import sqlite3

    from alembic import command

    from festival.db.engine import Database
    from festival.db.migrate import alembic_config

    path = tmp_path / "old.db"
    url = f"sqlite+aiosqlite:///{path}"

    async def to_0005() -> None:
        db = Database.open(url)
        async with db.writer.connect() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0005"))
            await conn.commit()
        await db.close()

    asyncio.run(to_0005())
    with sqlite3.connect(path) as c:
        c.execute(
            "insert into festivals(id, slug, name, starts_on, ends_on, timezone, description,"
            " created_at, updated_at) values (1, 'f', 'F', '2026-01-01', '2026-01-02', 'UTC',"
            " '', '2026-01-01', '2026-01-01')"
        )
        c.execute(
            "insert into clips(id, festival_id, upload_id, original_size, original_sha256,"
            " created_at, updated_at) values (5, 1, 'u', 1, 'x', '2026-01-01', '2026-01-01')"
        )
        c.execute(
            "insert into consents(id, festival_id, form_version, form_variant, form_text,"
            " given_at, created_at, updated_at) values (7, 1, 1, 'plain', 't', '2026-01-01',"
            " '2026-01-01', '2026-01-01')"
        )
        c.execute("insert into clip_consents(clip_id, consent_id, linked_at) values (5, 7, 'x')")
    asyncio.run(migrate(url))
    with sqlite3.connect(path) as c:
        assert c.execute("select clip_id, consent_id from clip_consents").fetchall() == [(5, 7)]
        # A deleted clip's id is never given to the next one.
        c.execute("pragma foreign_keys=on")
        c.execute("delete from clips where id = 5")
        c.execute(
            "insert into clips(festival_id, upload_id, original_size, original_sha256,"
            " created_at, updated_at) values (1, 'v', 1, 'y', '2026-01-01', '2026-01-01')"
        )
        assert c.execute("select id from clips").fetchall() == [(6,)]
