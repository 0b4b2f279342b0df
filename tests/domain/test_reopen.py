"""A closed case reopened by the customer's next message keeps what it had."""

from datetime import UTC, datetime, timedelta

from domain.case import CaseState
from domain.effects import Notify
from domain.models import CaseInput, CaseStatus, Level, Priority, Reopening
from domain.sla import ClockKind
from domain.tenant import resolve

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def test_a_reopened_case_keeps_its_owner_level_and_record_and_runs_its_clocks(tenants):
    was = Reopening(
        closed_at=T0 - timedelta(days=2),
        level=Level.L3,
        team="billing",
        priority=Priority.P2,
        assignee="kim",
        escalations=2,
        messages=7,
        events=30,
    )
    case = CaseInput(
        case_id="c-back",
        tenant="northwind-telecom",
        customer={"id": "cust-1", "phone": "+12025550123"},
        channel="sms",
        message="It broke again",
        message_id="SM-9",
        reopens=was,
    )
    state, effects = CaseState.open(
        case, resolve(tenants["northwind-telecom"], range(2025, 2029)), "run-2", T0
    )
    assert (state.level, state.team, state.priority, state.assignee) == (
        Level.L3,
        "billing",
        Priority.P2,
        "kim",
    )
    assert state.status is CaseStatus.OPEN and state.escalation_count == 2
    # The record continues after the closed run's last entries: no seq is written twice.
    [message] = state.record.unwritten_messages
    assert message.seq == 8 and message.text == "It broke again"
    assert [e.seq for e in state.record.unwritten_events][:2] == [31, 32]
    assert [e.type for e in state.record.unwritten_events][:2] == ["opened", "reopened"]
    assert {ClockKind.FIRST_RESPONSE, ClockKind.RESOLUTION} <= set(state.clocks)
    # Already at L3: nothing to fast-track or notify again; the first text is acknowledged.
    assert not any(isinstance(e, Notify) for e in effects)
