"""Writing and reading the case record store.

Writes come from the journal activity, in batches keyed by case and sequence number
(a retried batch changes nothing); reads serve the client API, the CLI and, later,
the pages and reports. Synchronous: callers run it in a thread.
"""

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    Table,
    and_,
    create_engine,
    delete,
    event,
    exists,
    func,
    literal,
    select,
    update,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url

from domain.models import Author, BodyRef, Channel
from domain.rca import RcaRecord
from domain.record import (
    CaseSnapshot,
    ErasureReport,
    JournalBatch,
    JournalResult,
    TimelineEvent,
    TimelinePage,
    TranscriptEntry,
    TranscriptPage,
    digest,
)
from records.schema import case_events, case_messages, cases, conversations, message_bodies, rcas

ERASED = "erased"
# An address that drops packets would otherwise hold a connect for the OS's TCP timeout.
PG_CONNECT_TIMEOUT = 10

# SQLite primary result codes that mean "the file cannot be used right now", not a bug:
# BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL. A missing table or bad SQL is
# SQLITE_ERROR (1), which sqlite3 also raises as OperationalError.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 8, 10, 13, 14, 15})
# SQLSTATE classes: connection exception, insufficient resources, operator intervention
# (shutdown, restart), system error; and codes a retry resolves.
_PG_UNAVAILABLE_CLASSES = frozenset({"08", "53", "57", "58"})
_PG_RETRYABLE = frozenset({"40001", "40P01", "55P03"})  # serialization, deadlock, lock timeout


class StoreUnavailable(Exception):
    """The database cannot be reached, is locked past its timeout, or dropped the connection.

    Retryable: the journal tries again until the store is back.
    """


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def open_engine(url: str, busy_timeout: float = 30.0) -> Engine:
    """An engine for `url`: SQLite in WAL mode with a busy timeout, or pooled PostgreSQL."""
    parsed = make_url(url)
    # Failed statements' parameters are customers' messages: keep them out of errors and logs.
    if parsed.get_backend_name() != "sqlite":
        connect_args = (
            {} if "connect_timeout" in parsed.query else {"connect_timeout": PG_CONNECT_TIMEOUT}
        )
        return create_engine(
            url, pool_pre_ping=True, hide_parameters=True, connect_args=connect_args
        )
    if parsed.database and parsed.database != ":memory:":
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the store's directory: {exc}") from exc
    engine = create_engine(url, hide_parameters=True, connect_args={"timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


def _unavailable(exc: sa_exc.DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    if isinstance(exc.orig, sqlite3.Error):
        return exc.orig.sqlite_errorcode & 0xFF in _SQLITE_UNAVAILABLE
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if sqlstate is None:  # the client library's own failure: refused, reset, closed
        return isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError)
    return sqlstate[:2] in _PG_UNAVAILABLE_CLASSES or sqlstate in _PG_RETRYABLE


@contextmanager
def unavailable_as_retryable() -> Iterator[None]:
    """Turn "the database is not there right now" into StoreUnavailable; let bugs through."""
    try:
        yield
    except sa_exc.DBAPIError as exc:
        if not _unavailable(exc):
            raise
        message = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise StoreUnavailable(message) from exc
    except sa_exc.TimeoutError as exc:
        raise StoreUnavailable("no database connection became free in time") from exc


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that writes; on SQLite it takes the write lock before its first read.

    pysqlite begins a transaction only at the first INSERT/UPDATE/DELETE, so the reads
    before it would see another state than the writes; BEGIN IMMEDIATE also waits for
    the lock (busy_timeout) where a read upgraded to a write in WAL mode fails at once.
    """
    with unavailable_as_retryable(), engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """One transaction that only reads, all of its reads seeing the same moment (a page and
    its total agree while the journal writes). pysqlite would run each SELECT on its own;
    PostgreSQL's default READ COMMITTED takes a snapshot per statement."""
    with unavailable_as_retryable(), engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN")
            yield conn


class CaseStore:
    def __init__(self, url: str, busy_timeout: float = 30.0) -> None:
        self.url = url
        self.engine = open_engine(url, busy_timeout)
        # Built once: building the summary's upsert (its `excluded` columns) took two thirds
        # of a journal write, which a burst of SLA breaches does a thousand times at once.
        self._summary_upsert = self._build_summary_upsert()
        self._insert_new_stmts: dict[str, Any] = {}

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    def _insert_new(self, conn: Connection, table: Table, rows: list[dict[str, Any]]) -> set[int]:
        """Insert the rows no unique key refuses; the seqs actually inserted."""
        stmt = self._insert_new_stmts.get(table.name)
        if stmt is None:
            stmt = self._insert(table).on_conflict_do_nothing().returning(table.c.seq)
            self._insert_new_stmts[table.name] = stmt
        return set(conn.execute(stmt, rows).scalars())

    # ----- writing --------------------------------------------------------------------------
    def write(self, batch: JournalBatch, *, end_conversations: bool = True) -> JournalResult:
        """Store a journal batch in one transaction; writing it again changes nothing.

        No conflict target on the inserts: (case_id, seq) makes a retry a no-op, and
        (case_id, provider_message_id) refuses a provider's retry under a new seq.
        """
        if batch.summary.case_id != batch.case_id:
            raise ValueError(
                f"summary of {batch.summary.case_id!r} in a batch of {batch.case_id!r}"
            )
        result = JournalResult()
        with write_transaction(self.engine) as conn:
            if batch.messages:
                rows = [_message_row(batch.case_id, m) for m in batch.messages]
                inserted = self._insert_new(conn, case_messages, rows)
                result.messages_written = len(inserted)
                skipped = [m.seq for m in batch.messages if m.seq not in inserted]
                if skipped:
                    retried = set(
                        conn.scalars(
                            select(case_messages.c.seq).where(
                                case_messages.c.case_id == batch.case_id,
                                case_messages.c.seq.in_(skipped),
                            )
                        )
                    )
                    result.duplicates = [seq for seq in skipped if seq not in retried]
            if batch.events:
                rows = [_event_row(batch.case_id, e) for e in batch.events]
                result.events_written = len(self._insert_new(conn, case_events, rows))
            self._upsert_summary(conn, batch.summary)
            if batch.summary.status == "closed" and end_conversations:
                # The customer's next text or email opens a new case.
                conn.execute(delete(conversations).where(conversations.c.case_id == batch.case_id))
        return result

    def _build_summary_upsert(self) -> Any:
        """The summary row's upsert: a newer journal version replaces every field but the
        case and customer ids; an older one (a retried batch) changes nothing."""
        keys = [*CaseSnapshot.model_fields, "journal_version"]
        stmt = self._insert(cases)
        changed = {k: stmt.excluded[k] for k in keys if k not in ("case_id", "customer_id")}
        return stmt.on_conflict_do_update(
            index_elements=[cases.c.case_id],
            set_=changed,
            where=cases.c.journal_version <= stmt.excluded.journal_version,
        )

    def _upsert_summary(self, conn: Connection, summary: CaseSnapshot) -> None:
        values = {
            **summary.model_dump(exclude={"channel"}),
            "channel": summary.channel.value,
            "journal_version": summary.messages + summary.events,
        }
        conn.execute(self._summary_upsert, values)

    def put_body(self, case_id: str, text: str) -> BodyRef:
        """Store a message body before the case hears of it (claim check); idempotent."""
        sha = digest(text)
        ref = BodyRef(ref=sha, sha256=sha, bytes=len(text.encode("utf-8")))
        with write_transaction(self.engine) as conn:
            conn.execute(
                self._insert(message_bodies)
                .values(
                    case_id=case_id,
                    ref=ref.ref,
                    sha256=sha,
                    bytes=ref.bytes,
                    body=text,
                    created_at=datetime.now(UTC),
                )
                .on_conflict_do_nothing()
            )
        return ref

    # ----- reading --------------------------------------------------------------------------
    def body(self, case_id: str, ref: str) -> str | None:
        with unavailable_as_retryable(), self.engine.connect() as conn:
            found: str | None = conn.scalar(
                select(message_bodies.c.body).where(
                    message_bodies.c.case_id == case_id, message_bodies.c.ref == ref
                )
            )
        return found

    def has_message(self, case_id: str, provider_message_id: str) -> bool:
        with unavailable_as_retryable(), self.engine.connect() as conn:
            return bool(
                conn.scalar(
                    select(
                        exists().where(
                            case_messages.c.case_id == case_id,
                            case_messages.c.provider_message_id == provider_message_id,
                        )
                    )
                )
            )

    def transcript(
        self,
        case_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        since: datetime | None = None,
        limit: int = 100,
        newest: bool = False,
    ) -> TranscriptPage:
        """A page of messages in seq order, full bodies resolved; `newest` takes the last ones."""
        t = case_messages
        query = select(t, message_bodies.c.body).outerjoin(
            message_bodies,
            and_(message_bodies.c.case_id == t.c.case_id, message_bodies.c.ref == t.c.body_ref),
        )
        with read_snapshot(self.engine) as conn:
            page = _page(conn, t, query, case_id, after, before, since, limit, newest)
        return TranscriptPage(
            case_id=case_id,
            total=page.total,
            entries=[_message(row) for row in page.rows],
            more_before=page.more_before,
            more_after=page.more_after,
        )

    def timeline(
        self,
        case_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        since: datetime | None = None,
        limit: int = 100,
        newest: bool = False,
    ) -> TimelinePage:
        """A page of the audit timeline in seq order; `newest` takes the last ones."""
        t = case_events
        with read_snapshot(self.engine) as conn:
            page = _page(conn, t, select(t), case_id, after, before, since, limit, newest)
        return TimelinePage(
            case_id=case_id,
            total=page.total,
            events=[
                TimelineEvent(
                    seq=r.seq, at=r.at, type=r.type, actor=r.actor, reason=r.reason, detail=r.detail
                )
                for r in page.rows
            ],
            more_before=page.more_before,
            more_after=page.more_after,
        )

    def every_page(
        self, case_id: str, *, events: bool = False, since: datetime | None = None, limit: int = 500
    ) -> Iterator[TranscriptPage | TimelinePage]:
        """Every page of a case's transcript (or, with `events`, its timeline), oldest first;
        an unknown case gives one empty page."""
        after: int | None = None
        while True:
            page: TranscriptPage | TimelinePage
            if events:
                page = self.timeline(case_id, after=after, since=since, limit=limit)
                seqs = [e.seq for e in page.events[-1:]]
            else:
                page = self.transcript(case_id, after=after, since=since, limit=limit)
                seqs = [m.seq for m in page.entries[-1:]]
            yield page
            if not page.more_after or not seqs:
                return
            after = seqs[0]

    def handed_to_chat(self, tenant: str, limit: int = 100) -> list[CaseSnapshot]:
        """The tenant's open cases that were offered the web chat, latest change first."""
        query = (
            select(cases)
            .where(
                cases.c.tenant == tenant,
                cases.c.chat_state.is_not(None),
                cases.c.closed_at.is_(None),
            )
            .order_by(cases.c.updated_at.desc())
            .limit(limit)
        )
        with unavailable_as_retryable(), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_snapshot(row) for row in rows]

    def last_messages(self, case_ids: list[str]) -> dict[str, TranscriptEntry]:
        """Each case's latest message (its preview for a long body), in one query."""
        if not case_ids:
            return {}
        t = case_messages
        latest = (
            select(t.c.case_id, func.max(t.c.seq).label("seq"))
            .where(t.c.case_id.in_(case_ids))
            .group_by(t.c.case_id)
            .subquery()
        )
        query = select(t, literal(None).label("body")).join(
            latest, and_(t.c.case_id == latest.c.case_id, t.c.seq == latest.c.seq)
        )
        with unavailable_as_retryable(), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return {row.case_id: _message(row) for row in rows}

    def versions(self, case_ids: list[str]) -> dict[str, tuple[int, int]]:
        """What of each case is written: (its summary's version, its last message's seq).
        Either grows with every write; the seq also when a long backlog is written in
        several batches that carry the same summary."""
        if not case_ids:
            return {}
        last_seq = (
            select(func.coalesce(func.max(case_messages.c.seq), 0))
            .where(case_messages.c.case_id == cases.c.case_id)
            .scalar_subquery()
        )
        found: dict[str, tuple[int, int]] = {}
        with unavailable_as_retryable(), self.engine.connect() as conn:
            for start in range(0, len(case_ids), 500):
                query = select(cases.c.case_id, cases.c.journal_version, last_seq).where(
                    cases.c.case_id.in_(case_ids[start : start + 500])
                )
                for case_id, version, seq in conn.execute(query):
                    found[case_id] = (version, seq)
        return found

    # ----- root-cause follow-ups -------------------------------------------------------------
    def write_rca(self, found: RcaRecord) -> None:
        """The RCA as it stands now (an older write never follows a newer: one RCA, one
        workflow, writing in order)."""
        values = {**found.model_dump(exclude={"reasons", "status"})}
        values |= {"reasons": ",".join(found.reasons), "status": found.status.value}
        stmt = self._insert(rcas).values(values)
        changed = {k: stmt.excluded[k] for k in values if k != "rca_id"}
        with write_transaction(self.engine) as conn:
            conn.execute(stmt.on_conflict_do_update(index_elements=[rcas.c.rca_id], set_=changed))

    def rcas(self, case_id: str) -> list[RcaRecord]:
        """The case's RCAs, oldest first."""
        query = select(rcas).where(rcas.c.case_id == case_id).order_by(rcas.c.opened_at)
        with unavailable_as_retryable(), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [
            RcaRecord.model_validate(
                {**row._mapping, "reasons": [r for r in row.reasons.split(",") if r]}
            )
            for row in rows
        ]

    def last_closed(self, tenant: str, customer_id: str, since: datetime) -> CaseSnapshot | None:
        """The customer's most recently closed case, if it closed after `since`."""
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(
                select(cases)
                .where(
                    cases.c.tenant == tenant,
                    cases.c.customer_id == customer_id,
                    cases.c.status == "closed",
                    cases.c.closed_at > since,
                )
                .order_by(cases.c.closed_at.desc())
                .limit(1)
            ).first()
        return None if row is None else _snapshot(row)

    def summary(self, case_id: str) -> CaseSnapshot | None:
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
        return None if row is None else _snapshot(row)

    # ----- erasure --------------------------------------------------------------------------
    def erase_customer(self, tenant: str, customer_id: str, now: datetime) -> ErasureReport:
        """Clear one customer's texts, bodies, names and event reasons.

        Counts, seqs, authors, channels, sizes and times stay for metrics. The cases stay
        linked to the (tenant-scoped, opaque) customer id, so repeating the erasure while a
        case still runs clears what it journalled since; a repeat with nothing new changes
        nothing.
        """
        with write_transaction(self.engine) as conn:
            ids = sorted(
                conn.scalars(
                    select(cases.c.case_id).where(
                        cases.c.tenant == tenant, cases.c.customer_id == customer_id
                    )
                )
            )
            if not ids:
                return ErasureReport(
                    tenant=tenant, customer_id=customer_id, cases=[], messages=0, bodies=0, events=0
                )
            messages = conn.execute(
                update(case_messages)
                .where(case_messages.c.case_id.in_(ids), case_messages.c.erased.is_(False))
                # body_ref goes too: it is the body's digest, which confirms a guessed text.
                .values(text=None, who=ERASED, body_ref=None, body_sha256=None, erased=True)
            ).rowcount
            bodies = conn.execute(
                delete(message_bodies).where(message_bodies.c.case_id.in_(ids))
            ).rowcount
            events = conn.execute(
                update(case_events)
                .where(case_events.c.case_id.in_(ids), case_events.c.reason.is_not(None))
                .values(reason=None)
            ).rowcount
            conn.execute(update(cases).where(cases.c.case_id.in_(ids)).values(erased_at=now))
        return ErasureReport(
            tenant=tenant,
            customer_id=customer_id,
            cases=ids,
            messages=messages,
            bodies=bodies,
            events=events,
        )


class _Page(NamedTuple):
    rows: list[Row[Any]]
    total: int
    more_before: bool
    more_after: bool


def _page(
    conn: Connection,
    table: Table,
    query: Select[Any],
    case_id: str,
    after: int | None,
    before: int | None,
    since: datetime | None,
    limit: int,
    newest: bool,
) -> _Page:
    """Rows of one case within the bounds, `limit` of them from the start (or the end).

    Every query walks the (case_id, seq) primary key from one end of the range, so a
    page costs the same in a case of fifteen messages or of fifteen thousand.
    """
    if limit < 1:
        raise ValueError(f"a page holds at least one entry, not {limit}")
    seq = table.c.seq
    matching: list[ColumnElement[bool]] = [table.c.case_id == case_id]
    if since is not None:
        matching.append(table.c.at >= since)
    bounds = list(matching)
    if after is not None:
        bounds.append(seq > after)
    if before is not None:
        bounds.append(seq < before)
    order = seq.desc() if newest else seq.asc()
    rows = list(conn.execute(query.where(*bounds).order_by(order).limit(limit + 1)))
    beyond = len(rows) > limit  # one more row in reading order: no extra query needed
    rows = rows[:limit]
    if newest:
        rows.reverse()
    total = conn.scalar(select(func.count()).select_from(table).where(table.c.case_id == case_id))

    def any_where(condition: ColumnElement[bool]) -> bool:
        return bool(conn.scalar(select(exists().where(*matching, condition))))

    if rows:
        first, last = rows[0].seq, rows[-1].seq
        more_before = (newest and beyond) or any_where(seq < first)
        more_after = (not newest and beyond) or any_where(seq > last)
    else:
        more_before = after is not None and any_where(seq <= after)
        more_after = before is not None and any_where(seq >= before)
    return _Page(rows, int(total or 0), more_before, more_after)


def _message_row(case_id: str, m: TranscriptEntry) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "seq": m.seq,
        "at": m.at,
        "author": m.author.value,
        "who": m.who,
        "channel": m.channel.value,
        "text": m.text,
        "body_ref": m.body.ref if m.body else None,
        "body_sha256": m.body.sha256 if m.body else None,
        "body_bytes": m.body.bytes if m.body else None,
        "media_count": m.media_count,
        "provider_message_id": m.provider_message_id,
        "erased": False,
        "sent_at": m.sent_at,
    }


def _event_row(case_id: str, e: TimelineEvent) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "seq": e.seq,
        "at": e.at,
        "type": e.type,
        "actor": e.actor,
        "reason": e.reason,
        "detail": e.detail,
    }


def _snapshot(row: Row[Any]) -> CaseSnapshot:
    return CaseSnapshot.model_validate(
        {k: v for k, v in row._mapping.items() if k in CaseSnapshot.model_fields}
    )


def _message(row: Row[Any]) -> TranscriptEntry:
    body = None
    if row.body_ref is not None and row.body_sha256 is not None and row.body_bytes:
        body = BodyRef(ref=row.body_ref, sha256=row.body_sha256, bytes=row.body_bytes)
    whole = body is not None and row.body is not None
    return TranscriptEntry(
        seq=row.seq,
        at=row.at,
        author=Author(row.author),
        who=row.who,
        channel=Channel(row.channel),
        text=(row.body if whole else row.text) or "",
        media_count=row.media_count,
        provider_message_id=row.provider_message_id,
        sent_at=row.sent_at,
        body=body,
        # A reference whose body is not (or no longer) stored: `text` is only its preview.
        truncated=body is not None and not whole,
        erased=row.erased,
    )
