"""The store's migrations build exactly the schema the code uses, on both backends."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from records import migrate
from records.schema import metadata
from records.store import open_engine


def test_an_empty_database_is_refused_then_upgraded_to_the_head(empty_store_url: str):
    assert migrate.current(empty_store_url) is None
    with pytest.raises(migrate.SchemaOutOfDate, match="escalate db upgrade"):
        migrate.require_current(empty_store_url)
    migrate.upgrade(empty_store_url)
    migrate.upgrade(empty_store_url)  # again: nothing to do
    assert migrate.current(empty_store_url) == migrate.head()
    migrate.require_current(empty_store_url)


def test_the_migrated_schema_matches_the_tables_the_code_uses(store_url: str):
    engine = open_engine(store_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert diff == []
