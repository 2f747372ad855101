"""count public changes

A one-row counter that database triggers bump whenever anything the public can see
changes (see ``festival.db.tables.public_changes``). Cached public pages compare it on
every request, so they are never stale, across instances and processes.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 20:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# As festival.db.tables.PUBLIC_TABLES when this revision was written: a later change to
# that list comes with its own migration.
TABLES = (
    "festivals",
    "venues",
    "rooms",
    "sessions",
    "people",
    "session_co_producers",
    "volunteers",
    "slots",
    "clips",
    "consents",
    "clip_consents",
    "publication_rules",
    "posts",
    "clip_sessions",
    "clip_posts",
    "session_posts",
)
EVENTS = ("insert", "update", "delete")


#: Clips and their links change all the time while phones upload and jobs run; only a
#: published clip (or one being published or taken down) can change what the public sees.
PUBLISHED = (
    "EXISTS (SELECT 1 FROM clips WHERE clips.id = {row}.clip_id AND clips.published_at IS NOT NULL)"
)
WHEN = {
    ("clips", "insert"): "NEW.published_at IS NOT NULL",
    ("clips", "update"): "OLD.published_at IS NOT NULL OR NEW.published_at IS NOT NULL",
    ("clips", "delete"): "OLD.published_at IS NOT NULL",
    **{
        (table, event): " OR ".join(PUBLISHED.format(row=row) for row in rows)
        for table in ("clip_consents", "clip_sessions", "clip_posts")
        for event, rows in (
            ("insert", ("NEW",)),
            ("update", ("OLD", "NEW")),
            ("delete", ("OLD",)),
        )
    },
}


def upgrade() -> None:
    op.create_table(
        "public_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_public_changes_one_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_public_changes")),
    )
    op.execute("INSERT INTO public_changes (id, version) VALUES (1, 0)")
    dialect = op.get_bind().dialect.name
    bump = "UPDATE public_changes SET version = version + 1 WHERE id = 1;"
    for table in TABLES:
        for event in EVENTS:
            name = f"bump_public_on_{event}_{table}"
            when = WHEN.get((table, event))
            if dialect == "postgresql":
                # PostgreSQL allows no subquery in a trigger's WHEN, so the condition
                # moves into the trigger's function, one function per trigger.
                body = f"IF {when} THEN {bump} END IF;" if when else bump
                op.execute(
                    f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ "
                    f"BEGIN {body} RETURN NULL; END $$"
                )
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
                    f"FOR EACH ROW EXECUTE FUNCTION {name}()"
                )
            else:
                condition = f"WHEN {when} " if when else ""
                op.execute(
                    f"CREATE TRIGGER {name} AFTER {event.upper()} ON {table} "
                    f"FOR EACH ROW {condition}BEGIN {bump} END"
                )


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        for event in EVENTS:
            name = f"bump_public_on_{event}_{table}"
            if dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
                op.execute(f"DROP FUNCTION IF EXISTS {name}()")
            else:
                op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("public_changes")
