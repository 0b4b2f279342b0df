"""The case record store's databases for tests: a SQLite file, and a real PostgreSQL server.

PostgreSQL is Debian's (`make postgresql` installs it). The tests start a private
cluster in a temporary directory, listening only on 127.0.0.1, as the `postgres`
user when running as root (PostgreSQL refuses to run as root), and stop it at the end.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.postgres import PostgresMissing, create_database, private_postgres
from records import migrate
from records.store import CaseStore, sqlite_url

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A private PostgreSQL cluster; yields the base URL (no database name)."""
    try:
        with private_postgres() as url:
            yield url
    except PostgresMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(params=BACKENDS)
def empty_store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database (no schema) on each backend."""
    if request.param == "sqlite":
        return sqlite_url(tmp_path / "records.sqlite3")
    return create_database(request.getfixturevalue("postgres_server"))


@pytest.fixture
def store_url(empty_store_url: str) -> str:
    """A database on each backend, migrated to the current schema."""
    migrate.upgrade(empty_store_url)
    return empty_store_url


@pytest.fixture
def store(store_url: str) -> Iterator[CaseStore]:
    found = CaseStore(store_url)
    yield found
    found.close()
