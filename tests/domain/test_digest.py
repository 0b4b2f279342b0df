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
