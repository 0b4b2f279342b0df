"""A private PostgreSQL cluster for tests and benchmarks (Debian's binaries, `make
postgresql`): in a temporary directory, on 127.0.0.1 only, run as `postgres` when we are root
(PostgreSQL refuses to run as root), thrown away at the end."""

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg


class PostgresMissing(RuntimeError):
    pass


def _bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise PostgresMissing(f"PostgreSQL's {name} is not installed: run `make postgresql`")
    return found[-1]


def free_port() -> int:
    """A port nothing listens on (for a moment: good enough for one run)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_owner(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def _run(args: list[str], log: Path | None = None) -> None:
    try:
        subprocess.run(as_owner(args), check=True, capture_output=True, text=True, timeout=120)
    except subprocess.CalledProcessError as exc:
        said = exc.stderr or exc.stdout
        if log is not None and log.exists():
            said += log.read_text()[-2000:]
        raise RuntimeError(f"{' '.join(args)} failed:\n{said}") from exc


@contextmanager
def private_postgres() -> Iterator[str]:
    """Yields the server's base SQLAlchemy URL (no database name)."""
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
                as_owner([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(root, ignore_errors=True)


def create_database(server: str) -> str:
    """A fresh, empty database on the server; returns its SQLAlchemy URL."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server}/{name}"
