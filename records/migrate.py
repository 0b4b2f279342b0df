"""Applying the store's Alembic migrations: `escalate db upgrade`, and the worker's check."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from records.store import open_engine, unavailable_as_retryable, write_transaction

SCRIPTS = Path(__file__).resolve().parent / "migrations"
# Any constant works; it keeps two workers starting together from migrating at once.
_PG_LOCK = 7_240_601


class SchemaOutOfDate(RuntimeError):
    """The store's schema is not the one this code needs."""


def _config() -> Config:
    config = Config()
    # Options pass through configparser interpolation, which reads `%` as a reference.
    config.set_main_option("script_location", str(SCRIPTS).replace("%", "%%"))
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


def current(url: str) -> str | None:
    engine = open_engine(url)
    try:
        with unavailable_as_retryable(), engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the store to `revision`; safe to run again and from several processes."""
    engine = open_engine(url)
    try:
        # One transaction, taken under a lock: the schema changes whole or not at all, and
        # a second process waits, then finds it current (SQLite: BEGIN IMMEDIATE).
        with write_transaction(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK})
            config = _config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def require_current(url: str) -> None:
    found, needed = current(url), head()
    if found != needed:
        raise SchemaOutOfDate(
            f"the case record store is at schema {found or 'none (empty database)'}, "
            f"this code needs {needed}: run `escalate db upgrade`"
        )
