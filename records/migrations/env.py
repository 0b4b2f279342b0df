"""Alembic environment: always handed a connection by records.migrate, never a URL."""

from alembic import context

from records.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `escalate db upgrade` (records.migrate)")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
