"""The journal: a store outage never stops a case, and nothing is lost once the store is back."""

from datetime import timedelta
from pathlib import Path

from temporalio.testing import WorkflowEnvironment

from domain.models import EscalationType, Level
from domain.record import FLUSH_DELAY
from records import migrate
from records.store import CaseStore, sqlite_url
from tests.workflows.support import (
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
    tenant_variant,
    timeline,
)
from workflows.case import JOURNAL_ATTEMPT, JOURNAL_PAUSE

ROUND_THE_CLOCK = tenant_variant(
    "northwind-telecom",
    "rtc-journal",
    sla__always_on_priorities=["P1", "P3"],
    sla__targets__P3__first_response="10m",
)
TEXTS = 45


async def test_a_locked_store_delays_the_record_but_not_the_case_and_loses_nothing(
    time_env: WorkflowEnvironment, tenants, tmp_path: Path
):
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url, busy_timeout=0.1)
    holder = CaseStore(url)
    recorder = Recorder({**tenants, ROUND_THE_CLOCK.id: ROUND_THE_CLOCK})
    async with case_worker(time_env.client, recorder, store) as tq:
        with holder.engine.connect() as lock:
            lock.exec_driver_sql("BEGIN EXCLUSIVE")  # another process holds the database
            handle = await open_case(
                time_env.client, tq, case_input(ROUND_THE_CLOCK.id, priority="P3")
            )
            case_id = handle.id.removeprefix("case-")
            opened = await eventually(lambda: state(handle), lambda s: s.messages == 1)
            deadline = next(c.deadline for c in opened.clocks if c.kind == "first_response")
            for i in range(TEXTS):
                await handle.signal(
                    "customer_message",
                    {"channel": "sms", "text": f"text {i}", "provider_message_id": f"SM{i}"},
                )
            await eventually(lambda: state(handle), lambda s: s.messages == TEXTS + 1)
            # The deadline passes while the store is still locked: the case escalates on time.
            await time_env.sleep(timedelta(minutes=11))
            during = await eventually(lambda: state(handle), lambda s: s.sla_breached)
            events = await timeline(handle)
            lock.exec_driver_sql("ROLLBACK")
        assert store.transcript(case_id).total == 0, "nothing could be written while locked"
        # Back: the journal's next attempt writes everything, in order.
        await time_env.sleep(JOURNAL_ATTEMPT + JOURNAL_PAUSE + FLUSH_DELAY)
        stored = await eventually(
            lambda: _transcript(store, case_id), lambda p: p.total == TEXTS + 1, timeout=20
        )
        record = await eventually(
            lambda: _timeline(store, case_id),
            lambda p: p.total >= during.events,
            timeout=20,
        )

    breach = during.escalations[-1]
    assert breach.type == EscalationType.TIME_BASED and breach.to_level == Level.L2
    assert deadline <= breach.at < deadline + timedelta(seconds=5)
    assert "journal_delayed" in [e.type for e in events]
    assert [m.seq for m in stored.entries] == list(range(1, TEXTS + 2))
    assert [m.text for m in stored.entries[1:]] == [f"text {i}" for i in range(TEXTS)]
    assert [e.seq for e in record.events] == list(range(1, record.total + 1))
    assert {"opened", "sla_breached", "escalated", "journal_delayed"} <= {
        e.type for e in record.events
    }


async def _transcript(store: CaseStore, case_id: str):
    return store.transcript(case_id, limit=1_000)


async def _timeline(store: CaseStore, case_id: str):
    return store.timeline(case_id, limit=1_000)
