"""CaseState on its own: plain tests and properties, no Temporal."""

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from domain.case import CaseState, Rejected
from domain.commands import (
    Acknowledge,
    AgentMessage,
    AwaitCustomer,
    CustomerMessage,
    Escalate,
    Resolve,
    SetPriority,
    SmsConsent,
)
from domain.effects import Notify, ReplyToCustomer
from domain.models import CaseInput, CaseStatus, Channel, Level, Priority
from domain.sla import ClockKind
from domain.tenant import TenantPolicy, resolve
from domain.views import view

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday morning, inside business hours


@pytest.fixture(scope="module")
def policy(tenants) -> TenantPolicy:
    return resolve(tenants["northwind-telecom"], range(2025, 2029))


def opened(policy: TenantPolicy, **overrides) -> CaseState:
    data = {
        "case_id": "c-1",
        "tenant": "northwind-telecom",
        "customer": {"id": "cust-1", "phone": "+12025550123", "email": "ada@example.com"},
        "channel": "sms",
        "category": "billing",
        "message": "My bill doubled",
        "message_id": "SM0",
    }
    data.update(overrides)
    state, _ = CaseState.open(CaseInput.model_validate(data), policy, "run-origin-1", T0)
    return state


def text(i: int, size: int = 40) -> CustomerMessage:
    return CustomerMessage(
        channel=Channel.SMS, text=f"message {i} ".ljust(size, "x"), provider_message_id=f"SM{i}"
    )


def test_a_keyword_escalates_once_and_tells_the_customer(policy):
    state = opened(policy)
    effects = state.apply(text(1).model_copy(update={"text": "Get me a SUPERVISOR!"}), T0)
    assert state.level is Level.L2
    assert [type(e) for e in effects] == [Notify, ReplyToCustomer]
    again = state.apply(
        text(2).model_copy(update={"text": "supervisor please"}), T0 + timedelta(minutes=1)
    )
    assert state.level is Level.L2 and [type(e) for e in again] == [ReplyToCustomer]
    assert state.escalation_count == 1


def test_a_repeated_provider_id_changes_nothing(policy):
    state = opened(policy)
    state.apply(text(1), T0)
    before = state.model_dump()
    assert state.apply(text(1), T0 + timedelta(hours=1)) == []
    assert state.model_dump() == before


def test_rejected_commands_change_nothing(policy):
    state = opened(policy)
    before = state.model_dump()
    with pytest.raises(Rejected, match="no escalation is waiting"):
        state.apply(Acknowledge(actor="sam"), T0)
    with pytest.raises(Rejected, match="unknown team"):
        state.apply(Escalate(actor="sam", kind="functional", to_team="nope", reason="x"), T0)
    assert state.model_dump() == before


def test_agent_reply_meets_first_response_and_starts_next_on_the_customer_reply(policy):
    state = opened(policy)
    state.apply(AgentMessage(agent="dana", text="On it"), T0 + timedelta(minutes=5))
    assert state.first_response_at == T0 + timedelta(minutes=5)
    assert state.clocks[ClockKind.FIRST_RESPONSE].met is True
    state.apply(text(1), T0 + timedelta(minutes=10))
    assert not state.clocks[ClockKind.NEXT_RESPONSE].stopped


def test_the_journal_batch_carries_the_summary_and_empties_the_backlog(policy):
    state = opened(policy)
    state.apply(Resolve(actor="dana", resolution="refund issued"), T0 + timedelta(hours=1))
    batch = state.journal_batch(T0 + timedelta(hours=1))
    assert batch is not None
    assert batch.summary.status == "resolved" and batch.summary.messages == 1
    assert [m.seq for m in batch.messages] == [1]
    assert [e.type for e in batch.events][-1] == "resolved"
    from domain.record import JournalResult

    state.journalled(batch, JournalResult(), T0 + timedelta(hours=1))
    assert not state.record.pending and state.journal_batch(T0) is None
    assert view(state).messages == 1  # counts stay


# ----- properties ----------------------------------------------------------------------------

# A command stream: (minutes after the previous step, what happens).
step = st.tuples(
    st.integers(min_value=0, max_value=600),
    st.sampled_from(
        ["text", "keyword", "agent", "await", "priority_up", "priority_down", "ack", "resolve"]
    ),
)


def drive(state: CaseState, steps: list[tuple[int, str]]) -> datetime:
    now = T0
    for i, (minutes, what) in enumerate(steps):
        now += timedelta(minutes=minutes)
        state.tick(now)
        command = {
            "text": text(i),
            "keyword": text(i).model_copy(update={"text": "manager now"}),
            "agent": AgentMessage(agent="dana", text="looking"),
            "await": AwaitCustomer(actor="dana"),
            "priority_up": SetPriority(actor="sam", priority=Priority.P1),
            "priority_down": SetPriority(actor="sam", priority=Priority.P4),
            "ack": Acknowledge(actor="sam"),
            "resolve": Resolve(actor="dana", resolution="done"),
        }[what]
        with contextlib.suppress(Rejected):
            state.apply(command, now)
    return now


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, max_size=25), later=st.integers(min_value=0, max_value=10_000))
def test_after_tick_the_next_due_time_is_later_than_now(policy, steps, later):
    state = opened(policy)
    now = drive(state, steps) + timedelta(minutes=later)
    state.tick(now)
    due = state.next_due()
    assert due is None or due > now


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=st.lists(step, max_size=25))
def test_state_survives_a_dump_and_validate_round_trip(policy, steps):
    state = opened(policy)
    drive(state, steps)
    again = CaseState.model_validate(state.model_dump(mode="json"))
    assert again.model_dump(mode="json") == state.model_dump(mode="json")
    assert again.next_due() == state.next_due()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    steps=st.lists(step, max_size=15),
    paused_for=st.integers(min_value=1, max_value=5_000),
)
def test_waiting_on_the_customer_never_shortens_a_deadline(policy, steps, paused_for):
    state = opened(policy)
    now = drive(state, steps)
    if state.status is not CaseStatus.OPEN:
        # An awaiting or resolved case comes back with the customer's answer; hypothesis counts
        # (and refuses too many of) the streams that still leave it closed, rather than passing
        # them unexamined.
        with contextlib.suppress(Rejected):
            state.apply(text(998), now)
    assume(state.status is CaseStatus.OPEN)
    before = {k: c.deadline for k, c in state.clocks.items() if c.deadline and not c.stopped}
    state.apply(AwaitCustomer(actor="dana"), now)
    state.apply(text(999), now + timedelta(minutes=paused_for))
    for kind, deadline in before.items():
        after = state.clocks[kind].deadline
        assert after is not None and after >= deadline


def test_a_customer_messages_sent_time_is_kept_beside_its_arrival(policy):
    """The provider's own time travels to the store with the message (the journal's batch)."""
    state = opened(policy)
    sent = T0 + timedelta(minutes=1)
    state.apply(text(1).model_copy(update={"sent_at": sent}), T0 + timedelta(minutes=2))
    stored = state.journal_batch(T0 + timedelta(minutes=3))
    assert stored is not None
    [kept] = [m for m in stored.messages if m.provider_message_id == "SM1"]
    assert kept.sent_at == sent and kept.at == T0 + timedelta(minutes=2)
    assert state.record.recent_messages[-1].sent_at == sent


def test_a_consent_the_case_already_has_is_not_recorded_again(policy):
    """A repeated STOP (or a provider's retry of one) reaches the case once in its timeline."""
    case = opened(policy)
    stop = SmsConsent(opted_out=True, keyword="stop")
    case.apply(stop, T0 + timedelta(minutes=1))
    case.apply(stop, T0 + timedelta(minutes=2))
    case.apply(SmsConsent(opted_out=False, keyword="start"), T0 + timedelta(minutes=3))
    types = [e.type for e in case.record.recent_events if e.type.startswith("sms_opted")]
    assert types == ["sms_opted_out", "sms_opted_in"] and not case.sms_opted_out


def test_the_staffs_paragraph_on_a_case_says_what_and_when_without_customer_data(policy):
    from domain.effects import brief

    state = opened(policy)
    state.apply(
        Escalate(actor="sam", kind="hierarchical", reason="angry"), T0 + timedelta(minutes=5)
    )
    text = brief(state)
    assert text.startswith("A standard customer's billing case on sms, open since 2026-03-02")
    assert "escalated 1 time." in text and "Next SLA deadline: first response at" in text
    for personal in ("+12025550123", "ada@example.com", "Ada", "My bill doubled"):
        assert personal not in text
