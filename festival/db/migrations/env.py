"""Alembic environment: runs on the connection that :func:`festival.db.migrate.migrate` hands in."""

from __future__ import annotations

from alembic import context

from festival.db.tables import described, metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_name=described,
)
with context.begin_transaction():
    context.run_migrations()
