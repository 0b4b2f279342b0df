"""The resolution check: asked days later; YES closes, NO reopens with the level kept,
silence as the tenant says."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.case import CaseState
from domain.commands import CustomerMessage, Escalate, Resolve, SmsConsent
from domain.effects import ReplyToCustomer
from domain.models import CaseInput, CaseStatus, Channel, Level
from domain.sla import ClockKind
from domain.tenant import resolve
from domain.verification import answer

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
ASK_AT = T0 + timedelta(days=3)


def resolved(tenants, silence: str = "close", **overrides) -> CaseState:
    config = tenants["northwind-telecom"]
    check = config.verification.model_copy(update={"silence": silence})
    policy = resolve(config.model_copy(update={"verification": check}), range(2025, 2029))
    data = {
        "case_id": "c-check",
        "tenant": "northwind-telecom",
        "customer": {"id": "cust-1", "phone": "+12025550123", "email": "ada@example.com"},
        "channel": "sms",
        "message": "No signal at home",
        "message_id": "SM0",
    } | overrides
    state, _ = CaseState.open(CaseInput.model_validate(data), policy, "run-1", T0)
    state.verify_on = True
    state.apply(
        Escalate(actor="sam", kind="hierarchical", reason="outage area"), T0 + timedelta(minutes=1)
    )
    state.apply(Resolve(actor="sam", resolution="mast repaired"), T0)
    return state


def asked(state: CaseState) -> ReplyToCustomer:
    assert state.next_due() == ASK_AT
    [question] = [e for e in state.tick(ASK_AT) if isinstance(e, ReplyToCustomer)]
    return question


def reply(state: CaseState, text: str, at: datetime) -> list:
    message = CustomerMessage(channel=Channel.SMS, text=text, provider_message_id=text)
    return state.apply(message, at)


@pytest.mark.parametrize(
    ("text", "said"),
    [("YES", True), ("yes!", True), ("Yep", True), ("all good", True), ("no", False),
     ("No, still broken", False), ("Nope", False), ("maybe", None), ("yes and no", None),
     ("the bill is wrong", None)],
)  # fmt: skip
def test_yes_and_no_are_read_and_anything_else_is_neither(text: str, said: bool | None):
    assert answer(text) is said


def test_the_case_waits_for_the_check_instead_of_auto_closing(tenants):
    state = resolved(tenants)
    assert state.closes_at == ASK_AT + timedelta(days=2)  # silence closes after the wait
    question = asked(state)
    assert question.channel is Channel.SMS and "Reply YES if all is well" in question.text
    assert state.status is CaseStatus.RESOLVED


def test_yes_closes_the_case_at_once(tenants):
    state = resolved(tenants)
    asked(state)
    reply(state, "yes", ASK_AT + timedelta(hours=1))
    assert state.status is CaseStatus.CLOSED
    assert [e.type for e in state.record.recent_events][-2:] == ["verification_passed", "closed"]


def test_no_reopens_with_the_level_kept_and_the_clocks_running_again(tenants):
    state = resolved(tenants)
    assert state.level is Level.L2
    asked(state)
    out = reply(state, "No, it dropped again", ASK_AT + timedelta(hours=1))
    assert state.status is CaseStatus.OPEN and state.level is Level.L2
    assert state.clocks[ClockKind.RESOLUTION].started_at == ASK_AT + timedelta(hours=1)
    assert ClockKind.NEXT_RESPONSE in state.clocks
    assert any("reopened case" in e.text for e in out if isinstance(e, ReplyToCustomer))
    # Resolved again later: the check is asked again.
    state.apply(Resolve(actor="sam", resolution="new mast"), ASK_AT + timedelta(days=1))
    assert state.next_due() == ASK_AT + timedelta(days=4)


@pytest.mark.parametrize(("silence", "status"), [("close", "closed"), ("reopen", "open")])
def test_silence_does_what_the_tenant_says(tenants, silence: str, status: str):
    state = resolved(tenants, silence=silence)
    asked(state)
    state.tick(ASK_AT + timedelta(days=2))
    assert state.status.value == status
    assert "verification_silent" in [e.type for e in state.record.recent_events]


def test_a_reply_that_is_neither_yes_nor_no_reopens_as_before(tenants):
    state = resolved(tenants)
    asked(state)
    reply(state, "the bill is wrong now", ASK_AT + timedelta(hours=1))
    assert state.status is CaseStatus.OPEN


def test_a_customer_who_opted_out_of_texts_is_asked_by_email(tenants):
    state = resolved(tenants)
    state.apply(SmsConsent(opted_out=True, keyword="STOP"), T0 + timedelta(hours=1))
    assert asked(state).channel is Channel.EMAIL


def test_a_case_from_before_the_check_auto_closes_as_it_did(tenants):
    state = resolved(tenants)
    state.verify_on = False  # a run without the `resolution-check` patch
    assert state.closes_at == T0 + tenants["northwind-telecom"].auto_close_after


@pytest.mark.parametrize(("late", "kind"), [(False, "sla_met"), (True, "sla_met_late")])
def test_resolving_records_whether_the_resolution_clock_was_met(tenants, late: bool, kind: str):
    policy = resolve(tenants["northwind-telecom"], range(2025, 2029))
    case = CaseInput(
        case_id="c-met", tenant="northwind-telecom",
        customer={"id": "cust-1", "phone": "+12025550123"}, channel="sms", message="Help",
    )  # fmt: skip
    state, _ = CaseState.open(case, policy, "r", T0)
    state.resolution_met_on = True
    clock = state.clocks[ClockKind.RESOLUTION]
    when = (clock.deadline + timedelta(hours=1)) if late else T0 + timedelta(hours=1)
    if late:
        state.tick(when)
    state.apply(Resolve(actor="sam", resolution="fixed"), when)
    met = [e for e in state.record.recent_events if e.type == kind]
    assert [(e.detail["clock"], e.actor) for e in met] == [("resolution", "sam")]
