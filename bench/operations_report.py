"""Benchmark: the morning report over a month of a big tenant, on SQLite and PostgreSQL.

Seeds 100,000 cases and 1,000,000 timeline events straight into a fresh store (bulk inserts,
not through workflows: the report reads the store, whatever wrote it), plus RCAs for the
escalated ones, then times `escalate report`'s two parts: computing the metrics from the
store, and writing the HTML page with its charts. Also times `audit verify`'s check of the
store against journal batches (the comparison and the store reads; fetching histories from
Temporal is measured by the end-to-end tests, not here), in cases per second.

    python -m bench.operations_report [--cases 100000] [--events-per-case 10]
"""

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.postgres import PostgresMissing, create_database, private_postgres
from bench.report import report
from domain.models import Author, Channel
from domain.record import JournalBatch, JournalResult, TimelineEvent, TranscriptEntry
from records import metrics, migrate
from records.audit import record
from records.schema import case_events, case_messages, cases, rcas
from records.store import CaseStore, sqlite_url
from reports.html import render
from starters.histories import verify_case

TENANT = "northwind-telecom"
MONTH = datetime(2026, 3, 1, tzinfo=UTC)
CHUNK = 5_000
CLOCKS = ("first_response", "next_response", "resolution")
CHANNELS = ("sms", "email", "chat", "voice")


def _case(
    rng: random.Random, n: int, events_per_case: int
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """One case's summary row, its events and maybe an RCA, shaped like the worker's."""
    case_id = f"bench-{n:07d}"
    opened = MONTH + timedelta(seconds=rng.randrange(30 * 86_400))
    channel = rng.choice(CHANNELS)
    escalations = rng.choices((0, 1, 2, 3), (70, 20, 7, 3))[0]
    resolved = opened + timedelta(minutes=rng.randrange(30, 4_000)) if rng.random() < 0.85 else None
    events = [{"type": "opened", "detail": {"channel": channel, "priority": "P3"}}]
    events += [{"type": "escalated", "detail": {"escalation_type": "time_based"}}] * escalations
    events += [
        {"type": "acknowledged", "detail": {"waited_s": rng.randrange(60, 3_600)}}
    ] * escalations
    if rng.random() < 0.05:
        events += [
            {"type": "chat_offered", "detail": {}},
            {"type": "chat_fallback", "detail": {"handoff_error": rng.random() < 0.3}},
        ]
    while len(events) < events_per_case:
        clock = rng.choice(CLOCKS)
        kind = rng.choices(
            ("sla_met", "sla_warning", "sla_breached", "customer_replied"), (5, 2, 1, 4)
        )[0]
        events.append({"type": kind, "detail": {"clock": clock} if kind.startswith("sla") else {}})
    rows = [
        {
            "case_id": case_id,
            "seq": seq,
            "at": opened + timedelta(minutes=seq),
            "type": e["type"],
            "actor": "system",
            "reason": None,
            "detail": e["detail"],
        }
        for seq, e in enumerate(events[:events_per_case], start=1)
    ]
    csat = rng.choices((None, 1, 2, 3, 4, 5), (50, 3, 4, 8, 15, 20))[0] if resolved else None
    summary = {
        "case_id": case_id, "tenant": TENANT, "customer_id": f"cust-{n}", "channel": channel,
        "status": "closed" if resolved else "open", "priority": "P3",
        "level": 1 + min(escalations, 3), "team": "billing", "assignee": None,
        "sla_breached": any(e["type"] == "sla_breached" for e in rows), "opened_at": opened,
        "first_response_at": opened + timedelta(minutes=rng.randrange(1, 240)),
        "resolved_at": resolved, "closed_at": resolved, "messages": 0, "events": len(rows),
        "escalations": escalations, "updated_at": opened, "journal_version": len(rows),
        "csat_score": csat, "nps_score": rng.randrange(11) if csat else None, "review": False,
    }  # fmt: skip
    rca = None
    if escalations and resolved:
        due = resolved + timedelta(days=1)
        done = due + timedelta(hours=rng.randrange(-20, 10)) if rng.random() < 0.8 else None
        rca = {
            "rca_id": f"rca-{case_id}-1",
            "case_id": case_id,
            "tenant": TENANT,
            "team": "billing",
            "reasons": "escalated",
            "owner": "Shift supervisor",
            "status": "done" if done else "open",
            "opened_at": resolved,
            "due_at": due,
            "overdue": done is None or done > due,
            "completed_at": done,
            "completed_by": "sam" if done else None,
            "cause_category": None,
            "corrective_action": None,
            "action_owner": None,
        }
    return summary, rows, rca


def seed(store: CaseStore, count: int, events_per_case: int) -> tuple[int, float]:
    """Bulk-insert `count` cases; returns (events inserted, seconds)."""
    rng = random.Random(7)
    started = time.perf_counter()
    inserted = 0
    summaries: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    found: list[dict[str, Any]] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(cases.insert(), summaries)
            conn.execute(case_events.insert(), events)
            if found:
                conn.execute(rcas.insert(), found)
        summaries.clear()
        events.clear()
        found.clear()

    for n in range(count):
        summary, rows, rca = _case(rng, n, events_per_case)
        summaries.append(summary)
        events.extend(rows)
        inserted += len(rows)
        if rca is not None:
            found.append(rca)
        if len(summaries) >= CHUNK:
            flush()
    if summaries:
        flush()
    return inserted, time.perf_counter() - started


def _timed(runs: int, work: Any) -> tuple[float, Any]:
    """The median of `runs` timings, and the last result."""
    took, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = work()
        took.append(time.perf_counter() - started)
    return statistics.median(took), result


def _verify_throughput(store: CaseStore, sample: int) -> float:
    """Cases per second that `verify_case` checks (a stored message and its events each)."""
    ids = [f"bench-{n:07d}" for n in range(sample)]
    at = MONTH
    batches: dict[str, list[tuple[JournalBatch, JournalResult]]] = {}
    for case_id in ids:
        message = TranscriptEntry(
            seq=1,
            at=at,
            author=Author.CUSTOMER,
            who="cust",
            channel=Channel.SMS,
            text="My bill doubled",
        )
        with store.engine.begin() as conn:
            conn.execute(
                case_messages.insert(),
                [
                    {
                        "case_id": case_id,
                        "seq": 1,
                        "at": at,
                        "author": "customer",
                        "who": "cust",
                        "channel": "sms",
                        "text": message.text,
                        "media_count": 0,
                        "erased": False,
                    }
                ],
            )
        stored = store.timeline(case_id, limit=1000).events
        summary = store.summary(case_id)
        assert summary is not None
        batches[case_id] = [
            (
                JournalBatch(case_id=case_id, messages=[message], events=[TimelineEvent(**e.model_dump()) for e in stored], summary=summary),
                JournalResult(),
            )
        ]  # fmt: skip
    started = time.perf_counter()
    for case_id in ids:
        assert verify_case(record(store, case_id), batches[case_id]).differences == []
    return sample / (time.perf_counter() - started)


def measure(url: str, count: int, events_per_case: int, backend: str) -> dict[str, Any]:
    migrate.upgrade(url)
    store = CaseStore(url)
    try:
        inserted, seeding = seed(store, count, events_per_case)
        now = MONTH + timedelta(days=40)
        until = MONTH + timedelta(days=31)
        compute_s, found = _timed(
            3, lambda: metrics.report(store, TENANT, MONTH, until, now, tz="America/New_York")
        )
        html_s, page = _timed(3, lambda: render(found, "Northwind Mobile"))
        verify_rate = _verify_throughput(store, 500)
    finally:
        store.close()
    return {
        "backend": backend,
        "cases": count,
        "events": inserted,
        "seed_s": round(seeding, 1),
        "report_compute_s": round(compute_s, 2),
        "report_html_s": round(html_s, 2),
        "report_total_s": round(compute_s + html_s, 2),
        "html_kb": round(len(page.encode()) / 1024),
        "cohort_cases": found.cases,
        "verify_cases_per_s": round(verify_rate),
    }


def backends(workdir: Path) -> Iterator[tuple[str, str]]:
    yield "sqlite", sqlite_url(workdir / "bench-report.sqlite3")
    try:
        with private_postgres() as server:
            yield "postgresql", create_database(server)
    except PostgresMissing as exc:
        print(f"  PostgreSQL skipped: {exc}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--events-per-case", type=int, default=10)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend, url in backends(Path(tmp)):
            print(f"  {backend}: seeding {args.cases:,} cases …", flush=True)
            rows.append(measure(url, args.cases, args.events_per_case, backend))
    lines = [
        f"report: {args.cases:,} cases, {args.cases * args.events_per_case:,} events, one month",
        f"  {'backend':<11} {'seed':>7} {'compute':>8} {'HTML':>6} {'total':>6} {'verify':>12}",
    ]
    for r in rows:
        lines.append(
            f"  {r['backend']:<11} {r['seed_s']:>6}s {r['report_compute_s']:>7}s "
            f"{r['report_html_s']:>5}s {r['report_total_s']:>5}s {r['verify_cases_per_s']:>7} cases/s"
        )
    report(f"operations_report-{args.cases}", {"runs": rows}, "\n".join(lines))


if __name__ == "__main__":
    main()
