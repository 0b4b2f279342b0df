"""The local outbox: a durable SQLite file that stands in for real channels.

Every notification and customer message lands here once (the idempotency key is
unique), so a retried activity never delivers twice. Recipients are stored masked:
the outbox is for seeing what was sent, not a copy of the customer's contact data.
"""

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from pydantic import BaseModel

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    case_id TEXT NOT NULL,
    tenant TEXT NOT NULL,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_case ON outbox (case_id);
"""


class OutboxEntry(BaseModel):
    id: int | None = None
    key: str
    at: datetime
    kind: str
    case_id: str
    tenant: str
    channel: str
    recipient: str
    text: str


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def put(self, entry: OutboxEntry) -> bool:
        """Store `entry` unless its key is already there; True if it was new."""
        with self._connect() as db:
            cursor = db.execute(
                "INSERT OR IGNORE INTO outbox (key, at, kind, case_id, tenant, channel, recipient, text)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.key,
                    entry.at.astimezone(UTC).isoformat(),
                    entry.kind,
                    entry.case_id,
                    entry.tenant,
                    entry.channel,
                    entry.recipient,
                    entry.text,
                ),
            )
            return cursor.rowcount == 1

    def has(self, key: str) -> bool:
        with self._connect() as db:
            return db.execute("SELECT 1 FROM outbox WHERE key = ?", (key,)).fetchone() is not None

    def list(self, case_id: str | None = None, limit: int = 50) -> list[OutboxEntry]:
        query = "SELECT id, key, at, kind, case_id, tenant, channel, recipient, text FROM outbox"
        params: tuple[object, ...] = ()
        if case_id is not None:
            query += " WHERE case_id = ?"
            params = (case_id,)
        query += " ORDER BY id DESC LIMIT ?"
        with self._connect() as db:
            rows = db.execute(query, (*params, limit)).fetchall()
        fields = ("id", "key", "at", "kind", "case_id", "tenant", "channel", "recipient", "text")
        return [
            OutboxEntry.model_validate(dict(zip(fields, row, strict=True)))
            for row in reversed(rows)
        ]


def now_utc() -> datetime:
    return datetime.now(UTC)
