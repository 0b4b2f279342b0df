"""Acknowledging an escalation from its notice: the signed link, and a reply code by text."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.case import CaseState
from domain.commands import Escalate
from domain.models import CaseInput, Channel, Customer, Level
from domain.tenant import resolve
from ingress import links as links_module
from ingress.links import AckLinks
from records.channels import AckCode
from tests.ingress.conftest import NORTHWIND_NUMBER, Ingress
from tests.ingress.test_twilio import replies, text

T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
STAFF = "+12025550143"


def escalated(ingress: Ingress, case_id: str, levels: int = 1) -> CaseState:
    """A northwind case escalated `levels` times, taking updates through the fake."""
    tenants = ingress.app.state.services.tenants.tenants
    state, _ = CaseState.open(
        CaseInput(
            case_id=case_id,
            tenant="northwind-telecom",
            customer=Customer(id="cust-1", phone="+12025550123"),
            channel=Channel.SMS,
            message="My bill doubled",
            message_id="SM1",
        ),
        resolve(tenants["northwind-telecom"], range(2025, 2029)),
        "run-1",
        T0,
    )
    for _ in range(levels):
        state.apply(Escalate(actor="sam", kind="hierarchical", reason="angry"), T0)
    ingress.cases.states[case_id] = state
    return state


def link(
    ingress: Ingress,
    case_id: str,
    level: Level = Level.L2,
    who: str = "Sam",
    escalation: int | None = None,
) -> str:
    url = AckLinks.from_settings(ingress.settings).url(
        case_id, "northwind-telecom", level, who, f"{case_id}:run-1:1:0", escalation
    )
    return url.removeprefix(ingress.settings.public_url.rstrip("/"))


async def test_opening_the_link_changes_nothing_pressing_acknowledges_once(ingress: Ingress):
    state = escalated(ingress, "c-ack")
    path = link(ingress, "c-ack")
    page = await ingress.http.get(path)
    assert page.status_code == 200 and "Acknowledge case c-ack" in page.text
    assert state.ack is not None  # a mail scanner opening the link acknowledges nothing
    done = await ingress.http.post(path)
    assert done.status_code == 200 and "its owner is Sam" in done.text
    assert state.ack is None and state.assignee == "Sam"
    again = await ingress.http.post(path)  # a second press: the first one's answer
    assert again.status_code == 200
    assert [name for _, name, _ in ingress.cases.acts] == ["acknowledge"]
    assert ingress.cases.acts[0][2] == {"actor": "Sam", "level": 2, "escalation": None}


async def test_a_link_for_a_level_the_case_has_left_is_refused(ingress: Ingress):
    state = escalated(ingress, "c-moved", levels=2)
    refused = await ingress.http.post(link(ingress, "c-moved", Level.L2))
    assert refused.status_code == 409
    assert "waits for L3 to acknowledge, not L2" in refused.text
    assert state.ack is not None


async def test_an_altered_or_old_link_is_refused_with_its_reason(ingress: Ingress, monkeypatch):
    escalated(ingress, "c-old")
    path = link(ingress, "c-old")
    cut = await ingress.http.post(path[:-3])
    assert cut.status_code == 403 and "cut short" in cut.text

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[no-untyped-def, override]
            return datetime.now(tz) + timedelta(days=3, minutes=1)

    monkeypatch.setattr(links_module, "datetime", Later)
    old = await ingress.http.post(path)
    assert old.status_code == 403 and "expired" in old.text
    assert ingress.cases.acts == []


async def test_an_ended_case_says_so(ingress: Ingress):
    gone = await ingress.http.post(link(ingress, "c-gone"))
    assert gone.status_code == 410 and "has ended" in gone.text


def code(ingress: Ingress, case_id: str, number: str, key: str | None = None) -> None:
    proposal = AckCode(number, case_id, "northwind-telecom", 2, "Dana", datetime.now(UTC), 1)
    ingress.store.ack_code(
        key or f"{case_id}:run-1:1:0", STAFF, proposal, proposal.created_at + timedelta(days=3)
    )


@pytest.mark.parametrize("body", ["ACK 4821", "ack 4821", "Acknowledge #4821."])
async def test_staff_texting_the_code_back_acknowledge_the_case(ingress: Ingress, body: str):
    state = escalated(ingress, "c-sms")
    code(ingress, "c-sms", "4821")
    [answer] = replies(await text(ingress, body, from_=STAFF, to=NORTHWIND_NUMBER))
    assert answer == "Case c-sms is acknowledged at L2; its owner is Dana."
    assert state.ack is None and ingress.cases.calls == []  # no customer message was made


async def test_a_bare_ack_or_a_wrong_code_asks_for_the_code_and_acknowledges_nothing(
    ingress: Ingress,
):
    escalated(ingress, "c-one")
    escalated(ingress, "c-two")
    code(ingress, "c-one", "1111")
    code(ingress, "c-two", "2222")
    [answer] = replies(await text(ingress, "ack", from_=STAFF))
    assert answer.startswith("Reply ACK and the code from the notice: ")
    assert "ACK 1111 for case c-one" in answer and "ACK 2222 for case c-two" in answer
    [wrong] = replies(await text(ingress, "ack 3333", from_=STAFF))
    assert wrong.startswith("No escalation waits for code 3333 from this phone.")
    assert ingress.cases.acts == [] and ingress.cases.calls == []


async def test_a_staff_phone_with_no_live_code_is_answered_not_made_a_customer(ingress: Ingress):
    # +12025550143 is northwind's on-call supervisor: an old code is not a customer's text.
    [answer] = replies(await text(ingress, "ACK 4821", from_=STAFF))
    assert answer.startswith("No escalation waits for code 4821")
    assert ingress.cases.calls == []


async def test_a_link_from_before_a_team_move_is_refused(ingress: Ingress):
    state = escalated(ingress, "c-team")
    assert state.ack is not None
    before = state.ack.number
    from domain.commands import Escalate as Move

    state.apply(Move(actor="sam", kind="functional", to_team="fraud", reason="fraud"), T0)
    refused = await ingress.http.post(link(ingress, "c-team", escalation=before))
    assert refused.status_code == 409 and "escalated again since" in refused.text
    assert state.ack is not None


async def test_a_second_ack_says_the_case_is_already_taken(ingress: Ingress):
    escalated(ingress, "c-taken")
    code(ingress, "c-taken", "4821")
    replies(await text(ingress, "ACK 4821", from_=STAFF, sid="SMa"))
    [answer] = replies(await text(ingress, "ACK 4821", from_=STAFF, sid="SMb"))
    assert "no escalation is waiting for acknowledgement" in answer


async def test_a_customer_texting_ack_writes_to_their_case(ingress: Ingress):
    replies(await text(ingress, "ack"))
    assert ingress.cases.texts() == ["ack"]
