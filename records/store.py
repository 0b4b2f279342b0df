"""Writing and reading the case record store.

Writes come from the journal activity, in batches keyed by case and sequence number
(a retried batch changes nothing); reads serve the client API, the CLI and, later,
the pages and reports. Synchronous: callers run it in a thread.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Row,
    Table,
    and_,
    create_engine,
    delete,
    event,
    exists,
    func,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from domain.models import Author, BodyRef, Channel
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
from records.schema import case_events, case_messages, cases, message_bodies

ERASED = "erased"


class StoreUnavailable(Exception):
    """The database cannot be reached, is locked past its timeout, or dropped the connection.

    Retryable: the journal tries again until the store is back.
    """


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path.resolve()}"


def connect(url: str, busy_timeout: float = 30.0) -> Engine:
    """An engine for `url`: SQLite in WAL mode with a busy timeout, or pooled PostgreSQL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        try:
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreUnavailable(f"cannot create the store's directory: {exc}") from exc
    engine = create_engine(url, connect_args={"timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


@contextmanager
def unavailable_as_retryable() -> Iterator[None]:
    """Turn "the database is not there right now" into StoreUnavailable; let bugs through."""
    try:
        yield
    except (OperationalError, InterfaceError) as exc:
        raise StoreUnavailable(_first_line(exc)) from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StoreUnavailable(_first_line(exc)) from exc
        raise


def _first_line(exc: DBAPIError) -> str:
    return str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__


class CaseStore:
    def __init__(self, url: str, busy_timeout: float = 30.0) -> None:
        self.url = url
        self.engine = connect(url, busy_timeout)

    def close(self) -> None:
        self.engine.dispose()

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)

    # ----- writing --------------------------------------------------------------------------
    def write(self, batch: JournalBatch) -> JournalResult:
        """Store a journal batch in one transaction; writing it again changes nothing."""
        result = JournalResult()
        with unavailable_as_retryable(), self.engine.begin() as conn:
            messages, result.duplicates = self._new_messages(conn, batch)
            if messages:
                stored = self._stored_seqs(conn, case_messages, batch.case_id, messages)
                conn.execute(
                    self._insert(case_messages).on_conflict_do_nothing(),
                    [_message_row(batch.case_id, m) for m in messages],
                )
                result.messages_written = len(messages) - len(stored)
            if batch.events:
                stored = self._stored_seqs(conn, case_events, batch.case_id, batch.events)
                conn.execute(
                    self._insert(case_events).on_conflict_do_nothing(),
                    [_event_row(batch.case_id, e) for e in batch.events],
                )
                result.events_written = len(batch.events) - len(stored)
            self._upsert_summary(conn, batch.summary)
        return result

    def _new_messages(
        self, conn: Any, batch: JournalBatch
    ) -> tuple[list[TranscriptEntry], list[int]]:
        """The batch's messages minus those whose provider id is stored under another seq."""
        ids = [m.provider_message_id for m in batch.messages if m.provider_message_id]
        taken: dict[str, int] = {}
        if ids:
            rows = conn.execute(
                select(case_messages.c.provider_message_id, case_messages.c.seq).where(
                    case_messages.c.case_id == batch.case_id,
                    case_messages.c.provider_message_id.in_(ids),
                )
            )
            taken = {pid: seq for pid, seq in rows}
        keep: list[TranscriptEntry] = []
        duplicates: list[int] = []
        for message in batch.messages:
            pid = message.provider_message_id
            if pid is not None and taken.setdefault(pid, message.seq) != message.seq:
                duplicates.append(message.seq)
                continue
            keep.append(message)
        return keep, duplicates

    def _stored_seqs(
        self,
        conn: Any,
        table: Table,
        case_id: str,
        entries: Sequence[TranscriptEntry | TimelineEvent],
    ) -> set[int]:
        seqs = [e.seq for e in entries]
        rows = conn.execute(
            select(table.c.seq).where(
                table.c.case_id == case_id, table.c.seq.between(min(seqs), max(seqs))
            )
        )
        return {seq for (seq,) in rows} & set(seqs)

    def _upsert_summary(self, conn: Any, summary: CaseSnapshot) -> None:
        values = {
            **summary.model_dump(exclude={"channel"}),
            "channel": summary.channel.value,
            "journal_version": summary.messages + summary.events,
        }
        stmt = self._insert(cases).values(values)
        changed = {k: stmt.excluded[k] for k in values if k not in ("case_id", "customer_id")}
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[cases.c.case_id],
                set_=changed,
                where=cases.c.journal_version <= stmt.excluded.journal_version,
            )
        )

    def put_body(self, case_id: str, text: str) -> BodyRef:
        """Store a message body before the case hears of it (claim check); idempotent."""
        sha = digest(text)
        ref = BodyRef(ref=sha, sha256=sha, bytes=len(text.encode("utf-8")))
        with unavailable_as_retryable(), self.engine.begin() as conn:
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
        with unavailable_as_retryable(), self.engine.connect() as conn:
            rows, total, more_before, more_after = _page(
                conn, t, query, case_id, after, before, since, limit, newest
            )
        return TranscriptPage(
            case_id=case_id,
            total=total,
            entries=[_message(row) for row in rows],
            more_before=more_before,
            more_after=more_after,
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
        t = case_events
        with unavailable_as_retryable(), self.engine.connect() as conn:
            rows, total, more_before, more_after = _page(
                conn, t, select(t), case_id, after, before, since, limit, newest
            )
        return TimelinePage(
            case_id=case_id,
            total=total,
            events=[
                TimelineEvent(
                    seq=r.seq, at=r.at, type=r.type, actor=r.actor, reason=r.reason, detail=r.detail
                )
                for r in rows
            ],
            more_before=more_before,
            more_after=more_after,
        )

    def summary(self, case_id: str) -> CaseSnapshot | None:
        with unavailable_as_retryable(), self.engine.connect() as conn:
            row = conn.execute(select(cases).where(cases.c.case_id == case_id)).first()
        if row is None:
            return None
        return CaseSnapshot.model_validate(
            {k: v for k, v in row._mapping.items() if k in CaseSnapshot.model_fields}
        )

    # ----- erasure --------------------------------------------------------------------------
    def erase_customer(self, tenant: str, customer_id: str, now: datetime) -> ErasureReport:
        """Clear one customer's message bodies and event reasons; counts and times stay.

        Idempotent, and safe to repeat: a case still running keeps journalling, and a
        later erasure clears what it wrote since.
        """
        with unavailable_as_retryable(), self.engine.begin() as conn:
            ids = list(
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
                .values(
                    text=None,
                    who=ERASED,
                    body_ref=None,
                    body_sha256=None,
                    body_bytes=None,
                    erased=True,
                )
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
            cases=sorted(ids),
            messages=messages,
            bodies=bodies,
            events=events,
        )


def _page(
    conn: Any,
    table: Table,
    query: Any,
    case_id: str,
    after: int | None,
    before: int | None,
    since: datetime | None,
    limit: int,
    newest: bool,
) -> tuple[list[Row[Any]], int, bool, bool]:
    """Rows of one case within the bounds, `limit` of them from the start (or the end)."""
    seq = table.c.seq
    base: list[ColumnElement[bool]] = [table.c.case_id == case_id]
    if since is not None:
        base.append(table.c.at >= since)
    bounds = list(base)
    if after is not None:
        bounds.append(seq > after)
    if before is not None:
        bounds.append(seq < before)
    order = seq.desc() if newest else seq.asc()
    rows = list(conn.execute(query.where(*bounds).order_by(order).limit(limit + 1)))
    beyond = len(rows) > limit
    rows = rows[:limit]
    if newest:
        rows.reverse()
    total = conn.scalar(select(func.count()).select_from(table).where(table.c.case_id == case_id))

    def any_where(*conditions: ColumnElement[bool]) -> bool:
        return bool(conn.scalar(select(exists().where(*base, *conditions))))

    if rows:
        first, last = rows[0].seq, rows[-1].seq
        more_before = beyond if newest else any_where(seq < first)
        more_after = any_where(seq > last) if newest else beyond
    else:
        more_before = after is not None and any_where(seq <= after)
        more_after = before is not None and any_where(seq >= before)
    return rows, int(total or 0), more_before, more_after


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


def _message(row: Row[Any]) -> TranscriptEntry:
    body = None
    if row.body_ref is not None and row.body_sha256 is not None and row.body_bytes:
        body = BodyRef(ref=row.body_ref, sha256=row.body_sha256, bytes=row.body_bytes)
    text = row.body if body is not None and row.body is not None else row.text
    return TranscriptEntry(
        seq=row.seq,
        at=row.at,
        author=Author(row.author),
        who=row.who,
        channel=Channel(row.channel),
        text=text or "",
        media_count=row.media_count,
        provider_message_id=row.provider_message_id,
        body=body,
        erased=row.erased,
    )
