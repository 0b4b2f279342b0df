"""Every escalation type and the acknowledgement ladder, through the real workflow."""

from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.models import EscalationType, Level
from domain.views import CaseView
from tests.workflows.support import (
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
    timeline,
)


async def test_acknowledgement_ladder_climbs_l1_to_l4_then_reminds_with_backoff(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(category="billing"))
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("request_escalation", {"reason": "the customer wants a supervisor"})
        at_l2 = await eventually(lambda: state(handle), lambda s: s.level == Level.L2)
        assert at_l2.awaiting_ack is not None

        # Northwind: L2 acks in 20m, L3 in 30m, L4 in 1h; reminders double up to 4h.
        await time_env.sleep(timedelta(minutes=21))
        await eventually(lambda: state(handle), lambda s: s.level == Level.L3)
        await time_env.sleep(timedelta(minutes=31))
        at_l4 = await eventually(lambda: state(handle), lambda s: s.level == Level.L4)
        await time_env.sleep(timedelta(hours=1, minutes=1))
        await eventually(
            lambda: state(handle), lambda s: s.awaiting_ack and s.awaiting_ack.reminders == 1
        )
        # Next reminder 2h later, then 4h, then 4h (capped): 3 more within 10h, not 10 more.
        await time_env.sleep(timedelta(hours=10, minutes=1))
        reminded = await eventually(lambda: state(handle), lambda s: s.awaiting_ack.reminders == 4)
        await recorder.delivered(lambda r: r.kinds().count("ack_reminder") == 4)

        view = await handle.execute_update(
            "acknowledge", {"actor": "liaison-kim"}, result_type=CaseView
        )
        assert view.awaiting_ack is None and view.assignee == "liaison-kim"
        await time_env.sleep(timedelta(hours=8))
        after_ack = await state(handle)

    ladder = [(e.type, e.from_level, e.to_level) for e in at_l4.escalations]
    assert ladder == [
        (EscalationType.CLIENT_INITIATED, Level.L1, Level.L2),
        (EscalationType.HIERARCHICAL, Level.L2, Level.L3),
        (EscalationType.HIERARCHICAL, Level.L3, Level.L4),
    ]
    assert "no acknowledgement from L2 within 20m" in at_l4.escalations[1].reason
    assert reminded.level == Level.L4
    assert recorder.kinds().count("ack_reminder") == 4
    assert after_ack.level == Level.L4 and recorder.kinds().count("ack_reminder") == 4
    # each escalation notified the new level's contacts
    escalation_notices = [n for n in recorder.notices if n.kind == "escalation"]
    assert [n.level for n in escalation_notices] == [Level.L2, Level.L3, Level.L4]
    assert any("liaison@" in c.address for c in escalation_notices[-1].recipients)


async def test_functional_routing_at_open_and_on_escalate(time_env: WorkflowEnvironment, tenants):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(category="Network"))
        opened = await eventually(lambda: state(handle), lambda s: s.messages == 1)
        view = await handle.execute_update(
            "escalate",
            {
                "actor": "dana",
                "kind": "functional",
                "to_team": "billing",
                "reason": "double charge",
            },
            result_type=CaseView,
        )
        await recorder.delivered(lambda r: len(r.notices) == 1)
    assert opened.team == "technical"
    assert view.team == "billing" and view.level == Level.L1
    record = view.escalations[-1]
    assert (record.type, record.from_team, record.to_team) == (
        EscalationType.FUNCTIONAL,
        "technical",
        "billing",
    )
    assert any("billing@" in c.address for c in recorder.notices[-1].recipients)


async def test_hierarchical_escalation_by_a_supervisor(time_env: WorkflowEnvironment, tenants):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        view = await handle.execute_update(
            "escalate",
            {"actor": "sam", "kind": "hierarchical", "to_level": "L3", "reason": "legal threat"},
            result_type=CaseView,
        )
    record = view.escalations[-1]
    assert (record.type, record.from_level, record.to_level, record.actor) == (
        EscalationType.HIERARCHICAL,
        Level.L1,
        Level.L3,
        "sam",
    )
    assert record.reason == "legal threat"


async def test_p1_and_vip_fast_track_at_open_with_round_the_clock_sla(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        p1 = await open_case(time_env.client, tq, case_input(priority="P1", category="outage"))
        vip = await open_case(
            time_env.client,
            tq,
            case_input(customer={"id": "key-account-9", "phone": "+12025550188", "tier": "vip"}),
        )
        p1_view = await eventually(lambda: state(p1), lambda s: s.messages == 1)
        vip_view = await eventually(lambda: state(vip), lambda s: s.messages == 1)
    assert (
        p1_view.level == Level.L3 and p1_view.escalations[0].type == EscalationType.PRIORITY_BASED
    )
    assert "P1" in p1_view.escalations[0].reason
    assert vip_view.level == Level.L2 and "vip customer" in vip_view.escalations[0].reason
    assert all(c.round_the_clock for c in p1_view.clocks + vip_view.clocks)


async def test_keyword_escalates_once_per_request_and_reassures_the_customer(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal(
            "customer_message",
            {"channel": "sms", "text": "This is useless. MANAGER!!", "provider_message_id": "SM1"},
        )
        await handle.signal(
            "customer_message",
            {"channel": "sms", "text": "i said... a manager, now", "provider_message_id": "SM2"},
        )
        await handle.signal(
            "customer_message",
            {
                "channel": "sms",
                "text": "My manager-approved order is late",
                "provider_message_id": "SM3",
            },
        )
        view = await eventually(lambda: state(handle), lambda s: s.messages == 4)
        replies = await eventually(lambda: _replies(recorder), lambda r: len(r) == 3)
    client_escalations = [e for e in view.escalations if e.type == EscalationType.CLIENT_INITIATED]
    assert len(client_escalations) == 1 and view.level == Level.L2
    assert "'manager'" in client_escalations[0].reason
    assert "support supervisor now owns case" in replies[0].text
    assert "already with our support supervisor" in replies[1].text
    assert all(r.channel == "sms" and r.to == "+12025550123" for r in replies)


async def _replies(recorder: Recorder):
    return list(recorder.replies)


async def test_every_escalation_is_logged_with_type_actor_reason_and_time(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(priority="P2"))
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal(
            "escalate",
            {"actor": "sam", "kind": "hierarchical", "reason": "needs a refund approval"},
        )
        await eventually(lambda: state(handle), lambda s: s.level == Level.L2)
        events = await timeline(handle)
        await recorder.delivered(lambda r: len(r.notices) == 1)
    escalated = [e for e in events if e.type == "escalated"]
    assert len(escalated) == 1
    event = escalated[0]
    assert event.actor == "sam" and event.reason == "needs a refund approval"
    assert event.detail["escalation_type"] == "hierarchical"
    assert (event.detail["from_level"], event.detail["to_level"]) == ("L1", "L2")
    assert recorder.notices[-1].kind == "escalation"
