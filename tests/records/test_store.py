"""The case record store, on SQLite and on a real PostgreSQL server: the same tests."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import event as sa_event
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from bench.postgres import create_database, free_port
from domain.models import Author, Channel
from domain.record import (
    CaseSnapshot,
    JournalBatch,
    TimelineEvent,
    TranscriptEntry,
    digest,
)
from records import migrate
from records.store import CaseStore, StoreUnavailable, sqlite_url
from records.store import unavailable_as_retryable as records_errors

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def snapshot(case_id: str = "c-1", messages: int = 0, events: int = 0, **extra) -> CaseSnapshot:
    data = {
        "case_id": case_id,
        "tenant": "northwind-telecom",
        "customer_id": "cust-1",
        "channel": "sms",
        "status": "open",
        "priority": "P3",
        "level": 1,
        "team": "billing",
        "assignee": None,
        "sla_breached": False,
        "opened_at": T0,
        "first_response_at": None,
        "resolved_at": None,
        "closed_at": None,
        "messages": messages,
        "events": events,
        "escalations": 0,
        "updated_at": T0,
    }
    data.update(extra)
    return CaseSnapshot.model_validate(data)


def message(seq: int, text: str | None = None, pid: str | None = None, **extra) -> TranscriptEntry:
    return TranscriptEntry(
        seq=seq,
        at=T0 + timedelta(seconds=seq),
        author=Author.CUSTOMER,
        who="cust-1",
        channel=Channel.SMS,
        text=text if text is not None else f"message {seq}",
        provider_message_id=pid if pid is not None else f"SM{seq}",
        **extra,
    )


def event(
    seq: int, type_: str = "customer_replied", reason: str | None = "because"
) -> TimelineEvent:
    return TimelineEvent(
        seq=seq, at=T0 + timedelta(seconds=seq), type=type_, actor="system", reason=reason
    )


def batch(messages=(), events=(), case_id="c-1", **summary) -> JournalBatch:
    messages, events = list(messages), list(events)
    top_m = max((m.seq for m in messages), default=0)
    top_e = max((e.seq for e in events), default=0)
    return JournalBatch(
        case_id=case_id,
        messages=messages,
        events=events,
        summary=snapshot(case_id, messages=top_m, events=top_e, **summary),
    )


def test_a_retried_batch_changes_nothing(store: CaseStore):
    first = store.write(batch([message(1), message(2)], [event(1)]))
    again = store.write(batch([message(1), message(2)], [event(1)]))
    assert (first.messages_written, first.events_written) == (2, 1)
    assert (again.messages_written, again.events_written, again.duplicates) == (0, 0, [])
    overlapping = store.write(batch([message(2), message(3)], [event(1), event(2)]))
    assert (overlapping.messages_written, overlapping.events_written) == (1, 1)
    page = store.transcript("c-1")
    assert [m.seq for m in page.entries] == [1, 2, 3] and page.total == 3
    assert [m.text for m in page.entries] == ["message 1", "message 2", "message 3"]


def test_times_come_back_aware_and_in_utc(store: CaseStore):
    paris = timezone(timedelta(hours=2))
    local = datetime(2026, 6, 1, 11, 30, tzinfo=paris)
    sent = local - timedelta(seconds=3)  # the customer's side sent it a moment before
    first = message(1).model_copy(update={"at": local, "sent_at": sent})
    store.write(batch([first, message(2)], opened_at=local))
    entry, unstamped = store.transcript("c-1").entries
    assert entry.at == local and entry.at.utcoffset() == timedelta(0)
    assert entry.sent_at == sent and entry.sent_at.utcoffset() == timedelta(0)
    assert unstamped.sent_at is None
    assert store.summary("c-1").opened_at == local
    assert [m.seq for m in store.transcript("c-1", since=local).entries] == [1]
    assert store.transcript("c-1", since=local + timedelta(seconds=1)).entries == []


def test_a_provider_retry_under_another_seq_is_refused_and_reported(store: CaseStore):
    store.write(batch([message(1, pid="SMx")]))
    result = store.write(batch([message(2, pid="SMx"), message(3, pid="SMy")]))
    assert result.duplicates == [2] and result.messages_written == 1
    assert store.has_message("c-1", "SMx") and not store.has_message("c-1", "SMz")
    assert not store.has_message("other-case", "SMx")
    assert [m.seq for m in store.transcript("c-1").entries] == [1, 3]


def test_pages_in_order_with_bounds_and_the_newest(store: CaseStore):
    for start in range(1, 301, 100):
        store.write(batch([message(s) for s in range(start, start + 100)]))
    first = store.transcript("c-1", limit=100)
    assert [m.seq for m in first.entries] == list(range(1, 101))
    assert first.total == 300 and not first.more_before and first.more_after
    middle = store.transcript("c-1", after=100, limit=100)
    assert [m.seq for m in middle.entries] == list(range(101, 201))
    assert middle.more_before and middle.more_after
    newest = store.transcript("c-1", limit=50, newest=True)
    assert [m.seq for m in newest.entries] == list(range(251, 301))
    assert newest.more_before and not newest.more_after
    older = store.transcript("c-1", before=251, limit=50, newest=True)
    assert [m.seq for m in older.entries] == list(range(201, 251))
    since = store.transcript("c-1", since=T0 + timedelta(seconds=290), limit=100)
    assert [m.seq for m in since.entries] == list(range(290, 301))
    assert not since.more_before
    first_fifty = store.transcript("c-1", before=51)
    assert [m.seq for m in first_fifty.entries] == list(range(1, 51))
    assert not first_fifty.more_before and first_fifty.more_after
    last_since = store.transcript("c-1", since=T0 + timedelta(seconds=101), limit=5, newest=True)
    assert [m.seq for m in last_since.entries] == list(range(296, 301))
    assert last_since.more_before and not last_since.more_after
    window = store.transcript("c-1", after=10, before=20, limit=100)
    assert [m.seq for m in window.entries] == list(range(11, 20))
    assert window.more_before and window.more_after
    past_the_end = store.transcript("c-1", after=300)
    assert past_the_end.entries == [] and past_the_end.more_before and not past_the_end.more_after
    assert store.transcript("unknown").total == 0


def test_the_timeline_pages_like_the_transcript(store: CaseStore):
    store.write(
        batch(events=[event(s, "escalated" if s % 2 else "sla_warning") for s in range(1, 8)])
    )
    store.write(
        batch(
            events=[
                TimelineEvent(
                    seq=8,
                    at=T0 + timedelta(seconds=8),
                    type="assigned",
                    actor="sam",
                    detail={"assignee": "dana", "level": 2, "urgent": True, "team": None},
                )
            ]
        )
    )
    page = store.timeline("c-1", after=2, limit=3)
    assert [e.seq for e in page.events] == [3, 4, 5] and page.total == 8
    assert page.events[0].type == "escalated" and page.events[0].reason == "because"
    assert page.more_before and page.more_after
    [last] = store.timeline("c-1", limit=1, newest=True).events
    assert last.detail == {"assignee": "dana", "level": 2, "urgent": True, "team": None}


def test_the_summary_follows_the_journal_and_never_goes_back(store: CaseStore):
    store.write(batch([message(1)], [event(1)], status="open"))
    store.write(batch([message(2)], [event(2), event(3)], status="resolved", resolved_at=T0))
    assert store.summary("c-1").status == "resolved"
    # A late retry of an older batch does not overwrite the newer summary.
    store.write(batch([message(1)], [event(1)], status="open"))
    row = store.summary("c-1")
    assert row.status == "resolved" and row.resolved_at == T0
    assert (row.messages, row.events) == (2, 3)
    assert store.summary("unknown") is None


def test_a_claim_checked_body_comes_back_whole_and_matches_its_digest(store: CaseStore):
    body = "Full diagnostic log\n" + "line " * 12_000
    ref = store.put_body("c-1", body)
    assert ref.sha256 == digest(body) and ref.bytes == len(body.encode())
    assert store.put_body("c-1", body) == ref  # idempotent
    store.write(batch([message(1, text="Full diagnostic log…", body=ref)]))
    [entry] = store.transcript("c-1").entries
    assert entry.text == body and entry.body == ref
    assert digest(entry.text) == entry.body.sha256
    assert store.body("c-1", ref.ref) == body and store.body("c-2", ref.ref) is None


def test_erasure_clears_bodies_and_reasons_but_keeps_counts_and_times(store: CaseStore):
    ref = store.put_body("c-1", "x" * 10_000)
    store.write(batch([message(1), message(2, text="preview", body=ref)], [event(1), event(2)]))
    store.write(batch([message(1)], case_id="other", customer_id="cust-2"))
    report = store.erase_customer("northwind-telecom", "cust-1", T0 + timedelta(days=1))
    assert report.cases == ["c-1"] and report.messages == 2
    assert report.bodies == 1 and report.events == 2
    page = store.transcript("c-1")
    assert [(m.seq, m.text, m.erased, m.who) for m in page.entries] == [
        (1, "", True, "erased"),
        (2, "", True, "erased"),
    ]
    assert page.entries[1].at == T0 + timedelta(seconds=2) and page.entries[1].body is None
    assert [e.reason for e in store.timeline("c-1").events] == [None, None]
    assert [(m.author, m.channel) for m in page.entries] == [(Author.CUSTOMER, Channel.SMS)] * 2
    assert store.body("c-1", ref.ref) is None
    events = store.timeline("c-1").events
    assert [(e.seq, e.type, e.reason) for e in events] == [
        (1, "customer_replied", None),
        (2, "customer_replied", None),
    ]
    row = store.summary("c-1")
    assert (row.messages, row.events) == (2, 2)
    assert row.opened_at == T0
    assert store.transcript("other").entries[0].text == "message 1"
    again = store.erase_customer("northwind-telecom", "cust-1", T0 + timedelta(days=2))
    assert (again.cases, again.messages, again.bodies, again.events) == (["c-1"], 0, 0, 0)
    # The case kept running: what it journals later is cleared by the next erasure.
    store.write(batch([message(3)], [event(3)]))
    later = store.erase_customer("northwind-telecom", "cust-1", T0 + timedelta(days=3))
    assert (later.messages, later.events) == (1, 1)
    assert store.transcript("c-1").entries[-1].erased and store.summary("c-1").messages == 3


def test_an_unreachable_store_is_reported_as_unavailable(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        CaseStore(sqlite_url(blocker / "records.sqlite3")).summary("c-1")
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none"
    with pytest.raises(StoreUnavailable, match=r"127\.0\.0\.1"):
        CaseStore(nobody).summary("c-1")
    with pytest.raises(StoreUnavailable):
        migrate.current(nobody)


def test_a_locked_sqlite_store_is_unavailable_until_the_lock_is_released(tmp_path: Path):
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url, busy_timeout=0.2)
    holder = CaseStore(url)
    with holder.engine.connect() as conn:
        conn.exec_driver_sql("BEGIN EXCLUSIVE")
        with pytest.raises(StoreUnavailable, match="locked"):
            store.write(batch([message(1)]))
        conn.exec_driver_sql("ROLLBACK")
    assert store.write(batch([message(1)])).messages_written == 1


def test_programming_errors_are_not_reported_as_an_outage(empty_store_url: str):
    store = CaseStore(empty_store_url)  # never migrated: the tables are missing
    try:
        with pytest.raises(sa_exc.DBAPIError, match="cases"):
            store.summary("c-1")
    finally:
        store.close()


def test_concurrent_journals_of_different_cases_all_land(store: CaseStore):
    def journal(case: int) -> None:
        for start in range(1, 41, 10):
            store.write(batch([message(s) for s in range(start, start + 10)], case_id=f"c-{case}"))

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(journal, range(4)))
    assert [store.transcript(f"c-{case}").total for case in range(4)] == [40] * 4


def test_a_dropped_postgresql_connection_is_unavailable_then_recovers(postgres_server: str):
    url = create_database(postgres_server)
    migrate.upgrade(url)
    store = CaseStore(url)
    admin = postgres_server.replace("postgresql+psycopg://", "postgresql://") + "/postgres"
    database = url.rsplit("/", 1)[1]

    def drop_connections() -> None:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [database],
            )

    try:
        store.write(batch([message(1)]))
        # A database restart: the connection the pool kept is replaced, not reported.
        drop_connections()
        assert store.write(batch([message(2)])).messages_written == 1
        # The server goes away under a transaction in flight: retryable, nothing half-written.
        with pytest.raises(StoreUnavailable, match="terminat"), store.engine.begin() as conn:
            conn.execute(select(1))
            drop_connections()
            with records_errors():
                conn.execute(select(1))
        assert store.transcript("c-1").total == 2
    finally:
        store.close()


def test_a_page_and_its_total_are_read_at_one_moment(store: CaseStore):
    """The journal writes while a page is read: the page's total never counts a message
    that its rows do not show."""
    store.write(batch([message(1), message(2)], case_id="c-snap"))
    writer = CaseStore(store.url)
    wrote = []

    def write_between(conn, cursor, statement, *_args) -> None:  # before the count query
        if "count(" in statement.lower() and not wrote:
            wrote.append(
                writer.write(batch([message(1), message(2), message(3)], case_id="c-snap"))
            )

    sa_event.listen(store.engine, "before_cursor_execute", write_between)
    try:
        page = store.transcript("c-snap", limit=10)
    finally:
        sa_event.remove(store.engine, "before_cursor_execute", write_between)
        writer.close()
    assert wrote and wrote[0].messages_written == 1  # the write did land meanwhile
    assert [m.seq for m in page.entries] == [1, 2] and page.total == 2
    assert store.transcript("c-snap").total == 3


def test_each_cases_last_message_in_one_read(store: CaseStore):
    store.write(batch([message(1), message(2)], case_id="c-1"))
    store.write(batch([message(1)], case_id="c-2"))
    last = store.last_messages(["c-1", "c-2", "c-none"])
    assert {case: m.seq for case, m in last.items()} == {"c-1": 2, "c-2": 1}
    assert last["c-1"].text == "message 2"
    assert store.last_messages([]) == {}


def test_an_rca_row_is_kept_current_and_holds_its_outcome(store: CaseStore):
    from domain.rca import RcaRecord, RcaStatus

    opened = RcaRecord(
        rca_id="rca-c-1-1",
        case_id="c-1",
        tenant="northwind-telecom",
        team="billing",
        reasons=["escalated", "p1"],
        owner="Shift supervisor",
        status=RcaStatus.OPEN,
        opened_at=T0,
        due_at=T0 + timedelta(days=2),
        overdue=False,
        completed_at=None,
        completed_by=None,
        cause_category=None,
        corrective_action=None,
        action_owner=None,
    )
    store.write_rca(opened)
    store.write_rca(opened)  # a retried write changes nothing
    done = opened.model_copy(
        update={
            "status": RcaStatus.DONE,
            "overdue": True,
            "completed_at": T0 + timedelta(days=3),
            "completed_by": "sam",
            "cause_category": "training",
            "corrective_action": "x" * 1500,
            "action_owner": "dana",
        }
    )
    store.write_rca(done)
    assert store.rcas("c-1") == [done]
    assert store.rcas("c-2") == []
