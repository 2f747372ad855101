"""never reuse clip and consent ids

The audit log names clips and consents by id, so an id must never pass to a new row
after a deletion. PostgreSQL sequences never reuse; SQLite needs AUTOINCREMENT, which
means rebuilding the two tables.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 18:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TABLES = ("clips", "consents")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
        ):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": False}
        ):
            pass
