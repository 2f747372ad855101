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
from festival.db.tables import metadata

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
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert differences == []


def test_migrate_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'again.db'}"
    asyncio.run(migrate(url))
    asyncio.run(migrate(url))
