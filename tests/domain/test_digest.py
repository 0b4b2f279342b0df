"""Gathering a window's SLA alerts into digests."""

from datetime import timedelta

from domain.digest import digest_id, gather
from domain.effects import Notify
from domain.models import Level
from domain.tenant import Contact

SUP = Contact(name="Supervisors", address="sup@nw.example")
NIGHT = Contact(name="Night desk", address="night@nw.example")


def alert(case_id: str, *recipients: Contact, kind: str = "sla_warning") -> Notify:
    return Notify(
        key=f"{case_id}:r:1",
        kind=kind,
        case_id=case_id,
        tenant="northwind-telecom",
        level=Level.L2,
        team="billing",
        recipients=list(recipients),
        text=f"Case {case_id}: first_response SLA is due soon.",
        summary="a paragraph",
    )


def test_a_windows_alerts_become_one_digest_per_set_of_recipients():
    batch = [
        alert("a", SUP, NIGHT),
        alert("b", SUP, NIGHT),
        alert("b", SUP, NIGHT, kind="sla_breach"),
        alert("c", SUP),
    ]
    [digest, lone] = gather(batch, timedelta(minutes=10), "digest-x:run:1")
    assert digest.kind == "breach_digest" and digest.key == "digest-x:run:1:0"
    assert digest.text == "3 SLA alerts on 2 cases for team billing (L2) in the last 10m:"
    assert [n.case_id for n in digest.items] == ["a", "b", "b"]
    assert all(n.summary is None for n in digest.items)  # a digest lists, it does not retell
    assert [c.name for c in digest.recipients] == ["Supervisors", "Night desk"]
    assert lone == batch[3]  # alone in its group: sent as itself


def test_one_digest_per_tenant_team_and_level():
    assert digest_id(alert("a", SUP)) == "digest-northwind-telecom-billing-L2"


def test_a_big_window_goes_as_several_digests_and_counts_what_was_not_kept():
    from domain.digest import DIGEST_MAX

    batch = [alert(f"c{i}", SUP) for i in range(DIGEST_MAX + 3)]
    first, second = gather(batch, timedelta(minutes=10), "d:r:1", overflow=7)
    assert len(first.items) == DIGEST_MAX and len(second.items) == 3
    assert "(and 7 more not listed: see the team's list)" in first.text
    assert "more not listed" not in second.text
    assert first.key != second.key


def test_a_breach_escalation_allows_for_the_digest_in_its_ack_deadline(tenants):
    from datetime import UTC, datetime

    from domain import escalation
    from domain.case import CaseState
    from domain.models import CaseInput, EscalationType
    from domain.tenant import resolve

    t0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    case = CaseInput(
        case_id="c-d", tenant="northwind-telecom", customer={"id": "x", "phone": "+12025550123"},
        channel="sms", message="hi",
    )  # fmt: skip
    policy = resolve(tenants["northwind-telecom"], range(2025, 2029))
    for wait_on, extra in [(False, timedelta(0)), (True, timedelta(minutes=10))]:
        state, _ = CaseState.open(case, policy, "r", t0)
        state.digest_wait_on = wait_on
        escalation.escalate(state, t0, EscalationType.TIME_BASED, "system", "breach", Level.L2)
        assert state.ack is not None
        assert state.ack.due == t0 + timedelta(minutes=20) + extra
