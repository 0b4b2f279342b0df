"""The case record store, on SQLite and on a real PostgreSQL server: the same tests."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

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
from tests.databases import _free_port

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
    page = store.transcript("c-1")
    assert [m.seq for m in page.entries] == [1, 2] and page.total == 2
    assert page.entries[0].at == T0 + timedelta(seconds=1)
    assert page.entries[0].at.tzinfo is not None


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
    past_the_end = store.transcript("c-1", after=300)
    assert past_the_end.entries == [] and past_the_end.more_before and not past_the_end.more_after
    assert store.transcript("unknown").total == 0


def test_the_timeline_pages_like_the_transcript(store: CaseStore):
    store.write(
        batch(events=[event(s, "escalated" if s % 2 else "sla_warning") for s in range(1, 8)])
    )
    page = store.timeline("c-1", after=2, limit=3)
    assert [e.seq for e in page.events] == [3, 4, 5] and page.total == 7
    assert page.events[0].type == "escalated" and page.events[0].reason == "because"


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
    assert store.summary("c-1").messages == 2
    assert store.transcript("other").entries[0].text == "message 1"
    again = store.erase_customer("northwind-telecom", "cust-1", T0 + timedelta(days=2))
    assert (again.messages, again.bodies, again.events) == (0, 0, 0)
    # The case kept running: what it journals later is cleared by the next erasure.
    store.write(batch([message(3)]))
    assert store.erase_customer("northwind-telecom", "cust-1", T0).messages == 1


def test_an_unreachable_store_is_reported_as_unavailable(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreUnavailable):
        CaseStore(sqlite_url(blocker / "records.sqlite3")).summary("c-1")
    nobody = f"postgresql+psycopg://postgres@127.0.0.1:{_free_port()}/none"
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
