"""Staff notices respect working hours (except for P1), and held ones stay worth reading."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain import staff
from domain.case import CaseState, Rejected
from domain.commands import Acknowledge, DeliveryReport, Escalate, Resolve, SetPriority
from domain.effects import NoticeResult, NoticeSent, Notify
from domain.models import CaseInput, Level
from domain.tenant import Contact, TenantConfig, resolve

# Monday 2026-03-02 03:00 in New York (08:00 UTC): before anyone's shift but the on-call's.
NIGHT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
NY_OPENS = datetime(2026, 3, 2, 13, 0, tzinfo=UTC)  # 08:00 EST, Northwind's business hours
LONDON_OPENS = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # 09:00 GMT

SUPERVISOR = {"name": "Shift supervisor", "channel": "email", "address": "sup@nw.example"}
ON_CALL = {"name": "On call", "channel": "sms", "address": "+12025550143"}
LONDON = {
    "name": "London desk",
    "channel": "email",
    "address": "ldn@nw.example",
    "hours": {"timezone": "Europe/London", **{d: ["09:00-17:00"] for d in ("mon", "tue")}},
}


def config(tenants: dict[str, TenantConfig], **levels: list[dict[str, Any]]) -> TenantConfig:
    data = tenants["northwind-telecom"].model_dump(mode="json")
    for level, contacts in levels.items():
        data["escalation"]["levels"][str(int(level[1]))]["contacts"] = contacts
    return TenantConfig.model_validate(data)


def opened(cfg: TenantConfig, at: datetime = NIGHT, **overrides: Any) -> CaseState:
    data = {
        "case_id": "c-staff",
        "tenant": cfg.id,
        "customer": {"id": "cust-1", "phone": "+12025550123"},
        "channel": "sms",
        "message": "My bill doubled",
        "message_id": "SM0",
    } | overrides
    state, _ = CaseState.open(
        CaseInput.model_validate(data), resolve(cfg, range(2025, 2029)), "r", at
    )
    return state


def escalate(state: CaseState, at: datetime = NIGHT) -> list[Notify]:
    out = state.apply(Escalate(actor="sam", kind="hierarchical", reason="angry"), at)
    return [e for e in out if isinstance(e, Notify)]


def names(notice: Notify) -> list[str]:
    return [c.name for c in notice.recipients]


def test_a_notice_reaches_who_is_working_now_and_waits_for_the_others(tenants):
    hours = {**SUPERVISOR, "hours": "business"}
    state = opened(config(tenants, L2=[hours, ON_CALL]))
    [now] = escalate(state)
    assert names(now) == ["On call"]
    [held] = state.held
    assert names(held.notice) == ["Shift supervisor"] and held.not_before == NY_OPENS
    assert held.notice.key != now.key  # each part is its own delivery
    # Someone saw it at once, so the acknowledgement clock runs from now.
    assert state.ack is not None and state.ack.due == NIGHT + timedelta(minutes=20)
    assert state.next_due() <= state.ack.due


def test_when_nobody_is_working_the_ack_clock_starts_with_the_first_shift(tenants):
    state = opened(config(tenants, L2=[{**SUPERVISOR, "hours": "business"}, LONDON]))
    assert escalate(state) == []
    assert [h.not_before for h in state.held] == [LONDON_OPENS, NY_OPENS]
    assert state.ack is not None and state.ack.due == LONDON_OPENS + timedelta(minutes=20)
    assert state.next_due() == LONDON_OPENS
    # The London shift starts: the London desk gets it, with the case as it is now.
    [london] = state.tick(LONDON_OPENS)
    assert names(london) == ["London desk"] and london.ack_level is Level.L2
    assert london.summary and "escalated 1 time" in london.summary
    assert state.next_due() == LONDON_OPENS + timedelta(minutes=20)
    # London acknowledges: New York's copy has no point any more and is dropped, on record.
    state.apply(
        Acknowledge(actor="London desk", level=Level.L2), LONDON_OPENS + timedelta(minutes=5)
    )
    assert state.tick(NY_OPENS) == []
    assert state.held == []
    dropped = [e for e in state.record.recent_events if e.type == "notice_dropped"]
    assert dropped and dropped[0].detail["recipients"] == "Shift supervisor"


def test_p1_reaches_everyone_at_any_hour(tenants):
    state = opened(config(tenants, L3=[{**SUPERVISOR, "hours": "business"}, LONDON]))
    out = state.apply(SetPriority(actor="sam", priority="P1", reason="outage"), NIGHT)
    [now] = [e for e in out if isinstance(e, Notify) and e.kind == "escalation"]
    assert names(now) == ["Shift supervisor", "London desk"] and state.held == []
    assert state.ack is not None and state.ack.due == NIGHT + timedelta(minutes=30)


def test_a_night_of_reminders_is_one_reminder_in_the_morning(tenants):
    state = opened(config(tenants, L4=[{**SUPERVISOR, "hours": "business"}]))
    state.apply(Escalate(actor="sam", kind="hierarchical", to_level="L4", reason="legal"), NIGHT)
    assert state.ack is not None and state.ack.due == NY_OPENS + timedelta(hours=1)
    # Nobody acknowledges all morning: the reminders back off (1h, 2h, 4h: the cap)...
    at, gaps = state.ack.due, []
    sent = []
    for _ in range(6):  # 09:00, 11:00, 15:00, 19:00 New York time: sent; 23:00, 03:00: held
        sent += [e for e in state.tick(at) if isinstance(e, Notify)]  # SLA notices too
        gaps.append(state.ack.due - at)
        at = state.ack.due
    assert gaps == [timedelta(hours=2)] + [timedelta(hours=4)] * 5
    asked = [n.kind for n in sent if n.kind in ("escalation", "ack_reminder")]
    assert asked == ["escalation"] + ["ack_reminder"] * 4
    # ...and those that fall after the shift wait for the next one: one of a kind, not two.
    assert [h.notice.kind for h in state.held] == ["ack_reminder"]
    held = [e for e in state.record.recent_events if e.type == "notice_held"]
    assert held[-1].detail["replaces"] == 1


def test_a_stale_link_for_an_earlier_level_is_refused(tenants):
    state = opened(config(tenants))
    escalate(state)
    state.apply(Escalate(actor="sam", kind="hierarchical", reason="no answer"), NIGHT)
    with pytest.raises(Rejected, match="waits for L3 to acknowledge, not L2"):
        state.apply(Acknowledge(actor="Shift supervisor", level=Level.L2), NIGHT)
    state.apply(Acknowledge(actor="Care manager", level=Level.L3), NIGHT)
    assert state.ack is None and state.assignee == "Care manager"


def notice_to(state: CaseState, kind: str, contacts: list[Contact]) -> Notify:
    return Notify(
        key=f"k-{kind}-{contacts[0].name}",
        kind=kind,
        case_id=state.case_id,
        tenant=state.tenant,
        level=state.level,
        team=state.team,
        recipients=contacts,
        text=kind,
    )


def test_sla_notices_held_overnight_are_dropped_once_the_case_is_resolved(tenants):
    state = opened(config(tenants))
    office = Contact(name="Office", address="office@nw.example", hours="business")
    assert staff.schedule(state, notice_to(state, "sla_warning", [office]), NIGHT) == []
    state.apply(Resolve(actor="sam", resolution="fixed"), NIGHT + timedelta(hours=1))
    assert staff.release(state, NY_OPENS) == []
    assert state.record.recent_events[-1].type == "notice_dropped"


def test_the_case_holds_a_bounded_number_of_notices(tenants):
    state = opened(config(tenants))
    for i in range(staff.HELD_KEPT + 5):
        person = Contact(name=f"person {i}", address=f"p{i}@nw.example", hours="business")
        staff.schedule(state, notice_to(state, "callback", [person]), NIGHT)
    assert len(state.held) == staff.HELD_KEPT
    assert state.held[0].notice.recipients[0].name == "person 5"  # the oldest made room
    dropped = [e for e in state.record.recent_events if e.type == "notice_dropped"]
    assert len(dropped) == 5


def test_an_sla_notice_held_for_a_level_the_case_has_left_is_dropped(tenants):
    state = opened(config(tenants, L2=[ON_CALL]))
    office = Contact(name="Office", address="office@nw.example", hours="business")
    staff.schedule(state, notice_to(state, "sla_warning", [office]), NIGHT)
    escalate(state)  # L1 -> L2: the L1 office's warning is no longer theirs to act on
    assert state.held == [] and state.next_due() != NY_OPENS
    assert state.record.recent_events[-1].reason == "the case moved on to L2 meanwhile"


def test_a_notice_that_bounces_later_goes_to_the_persons_next_channel(tenants):
    sam = {**SUPERVISOR, "then": [{"channel": "sms", "address": "+12025550143"}]}
    state = opened(config(tenants, L2=[sam]), at=NY_OPENS)
    [notice] = escalate(state, NY_OPENS)
    taken = NoticeSent(contact=0, hop=0, provider="sendgrid", provider_id="m-1")
    staff.delivered(state, notice, NoticeResult(delivered=1, sent=[taken]), NY_OPENS)
    bounce = DeliveryReport(provider="sendgrid", provider_id="m-1", status="failed")
    [again] = state.apply(bounce, NY_OPENS + timedelta(minutes=2))
    assert isinstance(again, Notify) and again.key == f"{notice.key}:0:b1"
    [who] = again.recipients
    assert (who.name, who.channel, who.address) == ("Shift supervisor", "sms", "+12025550143")
    assert again.ack_level is Level.L2 and again.summary
    failed = state.record.recent_events[-1]
    assert failed.type == "notice_failed" and failed.detail["then"] == "sms"
    # The text bounces too: nothing is left to try; it is recorded.
    staff.delivered(
        state,
        again,
        NoticeResult(
            delivered=1, sent=[NoticeSent(contact=0, hop=0, provider="twilio", provider_id="SM-9")]
        ),
        NY_OPENS,
    )
    assert (
        state.apply(
            DeliveryReport(
                provider="twilio", provider_id="SM-9", status="undelivered", error_code="30003"
            ),
            NY_OPENS + timedelta(minutes=3),
        )
        == []
    )
    last = state.record.recent_events[-1]
    assert last.reason == "sms undelivered (error 30003)" and last.detail["then"] is None


def test_a_bounce_after_the_acknowledgement_is_recorded_not_resent(tenants):
    sam = {**SUPERVISOR, "then": [{"channel": "sms", "address": "+12025550143"}]}
    state = opened(config(tenants, L2=[sam]), at=NY_OPENS)
    [notice] = escalate(state, NY_OPENS)
    taken = NoticeSent(contact=0, hop=0, provider="sendgrid", provider_id="m-1")
    staff.delivered(state, notice, NoticeResult(delivered=1, sent=[taken]), NY_OPENS)
    state.apply(Acknowledge(actor="Shift supervisor"), NY_OPENS + timedelta(minutes=1))
    bounce = DeliveryReport(provider="sendgrid", provider_id="m-1", status="failed")
    assert state.apply(bounce, NY_OPENS + timedelta(minutes=2)) == []
    assert [e.type for e in state.record.recent_events[-2:]] == ["notice_failed", "notice_dropped"]


def test_a_case_made_p1_tells_everyone_held_at_once_and_the_clock_counts_from_now(tenants):
    state = opened(config(tenants, L3=[{**SUPERVISOR, "hours": "business"}]))
    state.apply(Escalate(actor="sam", kind="hierarchical", to_level="L3", reason="legal"), NIGHT)
    assert state.ack is not None and state.ack.due == NY_OPENS + timedelta(minutes=30)
    later = NIGHT + timedelta(minutes=5)  # already at L3, P1's floor: no fast-track
    out = state.apply(SetPriority(actor="sam", priority="P1", reason="outage"), later)
    [told] = [e for e in out if isinstance(e, Notify) and e.kind == "escalation"]
    assert names(told) == ["Shift supervisor"] and state.held == []
    assert state.ack.due == later + timedelta(minutes=30)
    assert state.record.recent_events[-1].type == "notices_released"


def test_a_customer_asking_at_the_top_level_at_night_is_held_not_dropped(tenants):
    state = opened(config(tenants, L4=[{**SUPERVISOR, "hours": "business"}]))
    state.apply(Escalate(actor="sam", kind="hierarchical", to_level="L4", reason="legal"), NIGHT)
    state.apply(Acknowledge(actor="Shift supervisor"), NIGHT)
    from domain.commands import RequestEscalation

    state.apply(RequestEscalation(reason="I want the director"), NIGHT + timedelta(minutes=1))
    [held] = state.held
    assert held.notice.kind == "escalation" and held.notice.ack_level is None
    [told] = [n for n in state.tick(NY_OPENS) if isinstance(n, Notify)]
    assert told.kind == "escalation" and "I want the director" in told.text


def test_two_people_whose_notice_bounces_get_one_resend_each(tenants):
    a = {**SUPERVISOR, "then": [{"channel": "sms", "address": "+12025550143"}]}
    b = {"name": "Deputy", "address": "dep@nw.example",
         "then": [{"channel": "sms", "address": "+12025550144"}]}  # fmt: skip
    state = opened(config(tenants, L2=[a, b]), at=NY_OPENS)
    [notice] = escalate(state, NY_OPENS)
    taken = [
        NoticeSent(contact=i, hop=0, provider="sendgrid", provider_id=f"m-{i}") for i in (0, 1)
    ]
    staff.delivered(state, notice, NoticeResult(delivered=2, sent=taken), NY_OPENS)
    resent = []
    for i in (0, 1):
        bounce = DeliveryReport(provider="sendgrid", provider_id=f"m-{i}", status="failed")
        resent += state.apply(bounce, NY_OPENS + timedelta(minutes=1 + i))
    assert [n.key for n in resent] == [f"{notice.key}:0:b1", f"{notice.key}:1:b1"]
    assert [n.recipients[0].address for n in resent] == ["+12025550143", "+12025550144"]


def test_a_team_move_at_the_same_level_retires_the_old_teams_link_and_held_notice(tenants):
    billing = tenants["northwind-telecom"].escalation.teams["billing"].contacts[0].model_dump()
    cfg = config(tenants, L2=[ON_CALL])
    data = cfg.model_dump(mode="json")
    data["escalation"]["teams"]["billing"]["contacts"] = [billing | {"hours": "business"}]
    cfg = TenantConfig.model_validate(data)
    state = opened(cfg, category="billing")
    escalate(state)  # to L2 with the billing team: the billing desk's part is held
    assert state.ack is not None
    first = state.ack.number
    state.apply(
        Escalate(actor="sam", kind="functional", to_team="fraud", reason="looks like fraud"),
        NIGHT + timedelta(minutes=1),
    )
    assert state.ack.level is Level.L2 and state.ack.number != first
    with pytest.raises(Rejected, match="escalated again since"):
        state.apply(Acknowledge(actor="Billing desk", level=Level.L2, escalation=first), NIGHT)
    assert all(h.notice.team != "billing" for h in state.held)
    dropped = [e for e in state.record.recent_events if e.type == "notice_dropped"]
    assert dropped and dropped[-1].detail["recipients"] == "Billing desk"


def test_closing_drops_what_still_waits_on_record(tenants):
    state = opened(config(tenants))
    office = Contact(name="Office", address="office@nw.example", hours="business")
    staff.schedule(state, notice_to(state, "callback", [office]), NIGHT)
    from domain.commands import Close

    state.apply(Close(actor="sam"), NIGHT + timedelta(minutes=1))
    assert state.held == []
    assert [e.type for e in state.record.recent_events][-2:] == ["notice_dropped", "closed"]
