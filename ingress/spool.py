"""A durable local spool for what the ingress accepted while Temporal could not take it.

One SQLite file (`data_dir/ingress-spool.sqlite3`, mode 0600). Every call a webhook accepts
is an entry, written and committed with `synchronous=FULL` before the webhook answers 200:
that write is the acceptance. The relay delivers entries in the order they were written
(within one conversation) and deletes them, in batches, once their case has them.

Entries hold what it takes to replay the call, and that includes personal data: the
customer's phone number or email address and the message text. They live only until the
case has the message (usually seconds, at most as long as Temporal is away); nothing is
kept after delivery. An entry that can never be delivered (a bug, a payload the code no
longer understands) is set aside as `dead` with its error, still kept, and reported by
/readyz, so it neither blocks the entries behind it nor gets lost.

Synchronous, like the stores: callers run it in a thread.
"""

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS spool (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    dead INTEGER NOT NULL DEFAULT 0
)
"""


class SpoolUnavailable(Exception):
    """The spool file cannot be written (disk full, permissions): nothing was accepted."""


@dataclass(frozen=True)
class SpoolEntry:
    id: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            # Made private before the first byte of personal data goes in.
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA busy_timeout=10000")
        self._conn.execute(_SCHEMA)

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> "Spool":
        return cls(data_dir / "ingress-spool.sqlite3")

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                yield self._conn
            except sqlite3.Error as exc:
                raise SpoolUnavailable(f"the ingress spool {self.path}: {exc}") from exc

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                yield self._conn
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise SpoolUnavailable(f"the ingress spool {self.path}: {exc}") from exc

    def put(self, kind: str, payload: dict[str, Any]) -> int:
        """Keep a call for later; durable when this returns."""
        with self._transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO spool (kind, payload, created_at) VALUES (?, ?, ?)",
                (kind, json.dumps(payload), datetime.now(UTC).isoformat()),
            )
            return int(cursor.lastrowid or 0)

    def pending(self, after: int = 0, limit: int = 100) -> list[SpoolEntry]:
        """The oldest entries still to deliver whose id is above `after`, oldest first."""
        with self._reading() as conn:
            rows = conn.execute(
                "SELECT id, kind, payload, created_at, attempts FROM spool"
                " WHERE dead = 0 AND id > ? ORDER BY id LIMIT ?",
                (after, limit),
            ).fetchall()
        return [
            SpoolEntry(
                id=row[0],
                kind=row[1],
                payload=json.loads(row[2]),
                created_at=datetime.fromisoformat(row[3]),
                attempts=row[4],
            )
            for row in rows
        ]

    def delivered(self, entry_ids: list[int]) -> None:
        """Their cases have them: forget the entries (and the personal data in them)."""
        with self._transaction() as conn:
            conn.executemany("DELETE FROM spool WHERE id = ?", [(i,) for i in entry_ids])

    def attempted(self, entry_id: int, error: str) -> None:
        """Temporal (or the store) was still away: keep it, note the try."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE spool SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:500], entry_id),
            )

    def set_aside(self, entry_id: int, error: str) -> None:
        """It can never be delivered as it is: keep it for a person, stop replaying it."""
        with self._transaction() as conn:
            conn.execute(
                "UPDATE spool SET dead = 1, attempts = attempts + 1, last_error = ? WHERE id = ?",
                (error[:500], entry_id),
            )

    def depth(self) -> int:
        """Entries waiting to be delivered."""
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM spool WHERE dead = 0").fetchone()[0])

    def dead(self) -> int:
        """Entries set aside as undeliverable."""
        with self._reading() as conn:
            return int(conn.execute("SELECT count(*) FROM spool WHERE dead = 1").fetchone()[0])
