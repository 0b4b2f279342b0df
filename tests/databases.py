"""The case record store's databases for tests: a SQLite file, and a real PostgreSQL server.

PostgreSQL is Debian's (`make postgresql` installs it). The tests start a private
cluster in a temporary directory, listening only on 127.0.0.1, as the `postgres`
user when running as root (PostgreSQL refuses to run as root), and stop it at the end.
"""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from records import migrate
from records.store import CaseStore, sqlite_url

BACKENDS = ["sqlite", "postgresql"]


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        pytest.fail(f"PostgreSQL's {name} is not installed: run `make postgresql`", pytrace=False)
    return found[-1]


def free_port() -> int:
    """A port nothing listens on (for a moment: good enough for one test run)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_owner(args: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: its tools run as `postgres` when we are root."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], log: Path | None = None) -> None:
    try:
        subprocess.run(_as_owner(args), check=True, capture_output=True, text=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        said = exc.stderr or exc.stdout
        if log is not None and log.exists():
            said += log.read_text()[-2000:]
        pytest.fail(f"{' '.join(args)} failed:\n{said}", pytrace=False)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A private PostgreSQL cluster; yields the base URL (no database name)."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    root = Path(tempfile.mkdtemp(prefix="escalate-pg-"))
    data, log = root / "data", root / "server.log"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    port = free_port()
    try:
        _run([initdb, "-D", str(data), "--auth=trust", "-U", "postgres", "-E", "UTF8"])
        # The socket goes in our directory: the system's /run/postgresql may not exist.
        options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
        _run([pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start"], log)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        # Immediate: the cluster is thrown away, nothing needs a clean checkpoint.
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: str) -> str:
    """A fresh, empty database on the test server; returns its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"


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
