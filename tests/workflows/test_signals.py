"""The signal/update contract: bad input is rejected visibly and never wedges a case."""

import json
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from domain.commands import COMMANDS, parse_command
from domain.models import Level
from domain.views import CaseView
from tests.workflows.support import (
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
    timeline,
    transcript,
)
from workflows import visibility


async def test_malformed_ui_signals_are_rejected_visibly_and_the_case_keeps_running(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("escalate", {"actor": "sam", "kind": "sideways", "reason": "x"})
        await handle.signal("set_priority", {"actor": "sam", "priority": "P9"})
        await handle.signal("assign", {"assignee": "dana"})
        await handle.signal("acknowledge", "sam")
        await handle.signal("resolve")
        await handle.signal(
            "escalate",
            {"actor": "sam", "kind": "functional", "to_team": "astrology", "reason": "x"},
        )
        await handle.signal(
            "escalate", {"actor": "sam", "kind": "hierarchical", "reason": "valid at last"}
        )
        view = await eventually(lambda: state(handle), lambda s: s.level == Level.L2)
        events = await timeline(handle)
        meta = await handle.query("__temporal_workflow_metadata")

    rejected = [e for e in events if e.type == "rejected"]
    assert [e.detail["signal"] for e in rejected] == [
        "escalate",
        "set_priority",
        "assign",
        "acknowledge",
        "resolve",
        "escalate",
    ]
    reasons = [e.reason for e in rejected]
    assert "kind: Input should be 'hierarchical' or 'functional'" in reasons[0]
    assert "priority" in reasons[1] and "actor: Field required" in reasons[2]
    assert "expected one JSON object" in reasons[3] and "missing payload" in reasons[4]
    assert "unknown team 'astrology'" in reasons[5]
    assert rejected[0].actor == "sam"
    assert view.status == "open" and view.escalations[-1].reason == "valid at last"
    assert "unknown team 'astrology'" in (view.last_rejection or "")
    assert "last rejected signal: escalate: unknown team" in meta.current_details


async def test_updates_reject_bad_payloads_and_impossible_actions_at_once(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        with pytest.raises(WorkflowUpdateFailedError) as bad_shape:
            await handle.execute_update("set_priority", {"actor": "sam", "priority": "urgent"})
        with pytest.raises(WorkflowUpdateFailedError) as nothing_to_ack:
            await handle.execute_update("acknowledge", {"actor": "sam"})
        with pytest.raises(WorkflowUpdateFailedError) as not_resolved:
            await handle.execute_update("reopen", {"actor": "sam", "reason": "?"})
        view = await handle.execute_update(
            "assign", {"actor": "sam", "assignee": "dana", "team": "fraud"}, result_type=CaseView
        )
    assert "priority" in str(bad_shape.value.cause)
    assert "no escalation is waiting for acknowledgement" in str(nothing_to_ack.value.cause)
    assert "only a resolved case can be reopened" in str(not_resolved.value.cause)
    assert (view.assignee, view.team) == ("dana", "fraud")


async def test_customer_messages_are_idempotent_and_cross_channel_in_one_transcript(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input(message_id="SM0"))
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal(
            "customer_message",
            {"channel": "sms", "text": "First opening retry", "provider_message_id": "SM0"},
        )
        await handle.signal(
            "customer_message",
            {
                "channel": "sms",
                "text": "photo of the bill",
                "media_count": 2,
                "provider_message_id": "MM1",
            },
        )
        await handle.signal(
            "customer_message",
            {
                "channel": "sms",
                "text": "photo of the bill",
                "media_count": 2,
                "provider_message_id": "MM1",
            },
        )
        await handle.signal(
            "agent_message",
            {"agent": "dana", "text": "Thanks, let's continue in chat", "channel": "chat"},
        )
        await handle.signal(
            "customer_message",
            {"channel": "chat", "text": "I'm in the chat now", "provider_message_id": "CH1"},
        )
        view = await eventually(lambda: state(handle), lambda s: s.messages == 4)
        messages = await transcript(handle)
        desc = await handle.describe()
        await recorder.delivered(lambda r: any(m.channel == "chat" for m in r.replies))
    assert [(t.author, t.channel) for t in messages] == [
        ("customer", "sms"),
        ("customer", "sms"),
        ("agent", "chat"),
        ("customer", "chat"),
    ]
    assert [t.seq for t in messages] == [1, 2, 3, 4]
    assert view.channel == "chat"
    sa = desc.typed_search_attributes
    assert sa.get(visibility.CASE_CHANNEL) == "chat"
    assert sa.get(visibility.TENANT) == "northwind-telecom"
    assert sa.get(visibility.ESCALATION_LEVEL) == 1
    assert sa.get(visibility.SLA_BREACHED) is False
    assert sa.get(visibility.ASSIGNED_TEAM) == "billing"
    assert sa.get(visibility.CASE_STATUS) == "open"
    # The agent's reply went to the customer, on the channel the agent chose.
    assert (
        recorder.replies[-1].channel == "chat" and "continue in chat" in recorder.replies[-1].text
    )
    # next response clock started when the customer wrote after the agent's reply
    assert any(c.kind == "next_response" and c.met is None for c in view.clocks)


async def test_resolve_reopen_on_customer_reply_and_auto_close(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        resolved = await handle.execute_update(
            "resolve", {"actor": "dana", "resolution": "credited $20"}, result_type=CaseView
        )
        assert resolved.status == "resolved" and resolved.closes_at is not None
        await handle.signal(
            "customer_message", {"channel": "sms", "text": "Still wrong on the new bill"}
        )
        await eventually(lambda: state(handle), lambda s: s.status == "open")
        await handle.execute_update("resolve", {"actor": "dana", "resolution": "fixed the plan"})
        await time_env.sleep(timedelta(days=7, minutes=1))
        final = await handle.result()
        events = await timeline(handle)
    assert final.status == "closed"
    types = [e.type for e in events]
    assert types.count("resolved") == 2 and "reopened" in types
    closed = next(e for e in events if e.type == "closed")
    # The resolution check asked after 3 days; nobody answered in 2: silence closes it.
    assert "verification_asked" in types and "verification_silent" in types
    assert closed.actor == "system" and closed.reason == "resolution check: no answer"


async def test_a_failed_delivery_is_recorded_not_retried_forever(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants, fail_customer=True)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("agent_message", {"agent": "dana", "text": "We are on it"})
        events = await eventually(
            lambda: timeline(handle), lambda t: any(e.type == "delivery_failed" for e in t)
        )
        view = await state(handle)
    failed = next(e for e in events if e.type == "delivery_failed")
    assert "opted out" in (failed.reason or "")
    assert view.status == "open"


async def test_close_ends_the_workflow_with_its_final_state(time_env: WorkflowEnvironment, tenants):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("close", {"actor": "sam"})
        final = await handle.result()
    assert final.status == "closed" and all(c.met is not None for c in final.clocks)


async def test_unknown_tenant_fails_the_case_with_a_clear_error(
    time_env: WorkflowEnvironment, tenants
):
    from temporalio.client import WorkflowFailureError

    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input("nobody-inc"))
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    reason = failure.value.cause
    assert isinstance(reason, ApplicationError) and reason.type == "CaseOpenFailed"
    assert reason.message.startswith("the case could not open: unknown tenant 'nobody-inc'")


async def test_an_invalid_start_input_fails_the_case_with_the_reason(
    time_env: WorkflowEnvironment, tenants
):
    from temporalio.client import WorkflowFailureError

    recorder = Recorder(tenants)
    raw = case_input().model_dump(mode="json")
    raw["customer"]["phone"] = "555-0100"
    raw["priority"] = "P7"
    async with case_worker(time_env.client, recorder) as tq:
        handle = await time_env.client.start_workflow(
            "CaseWorkflow", raw, id="case-raw-start", task_queue=tq
        )
        with pytest.raises(WorkflowFailureError) as failure:
            await handle.result()
    message = str(failure.value.cause)
    assert "invalid case input" in message and "customer.phone" in message and "priority" in message


async def test_actions_racing_a_close_are_answered_not_left_hanging(
    time_env: WorkflowEnvironment, tenants
):
    import asyncio

    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("close", {"actor": "sam"})
        racing = asyncio.gather(
            *(
                handle.execute_update("assign", {"actor": "sam", "assignee": f"a{i}"})
                for i in range(5)
            ),
            return_exceptions=True,
        )
        outcomes = await asyncio.wait_for(racing, timeout=20)
        final = await handle.result()
    assert final.status == "closed" and final.assignee is None
    assert all(isinstance(o, Exception) for o in outcomes), outcomes


async def test_an_action_pressed_twice_with_one_update_id_is_applied_once(
    time_env: WorkflowEnvironment, tenants
):
    """What the console relies on when an agent presses again after no answer."""
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        payload = {"actor": "sam", "kind": "hierarchical", "reason": "hospital"}
        first = await handle.execute_update("escalate", payload, id="console-escalate-1")
        again = await handle.execute_update("escalate", payload, id="console-escalate-1")
        other = await handle.execute_update("escalate", payload, id="console-escalate-2")
    assert first["level"] == again["level"] == 2 and other["level"] == 3


async def test_the_web_ui_lists_every_command_as_a_signal_and_an_update_with_its_example(
    time_env: WorkflowEnvironment, tenants
):
    """What the Web UI's Send a Signal dropdown reads (the workflow's metadata query) is the
    COMMANDS table, whole: each name as a signal and an update, described, with an example
    JSON that the case accepts."""
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        meta = await handle.query("__temporal_workflow_metadata")
    signals = {d.name: d.description for d in meta.definition.signal_definitions}
    updates = {d.name: d.description for d in meta.definition.update_definitions}
    assert set(signals) == set(updates) == set(COMMANDS)
    for name, spec in COMMANDS.items():
        assert signals[name] == spec.signal_description and updates[name] == spec.update_description
        assert json.dumps(spec.example) in signals[name], name
        assert len(spec.does) > 30, name  # says what it does, not just its name
        parse_command(name, spec.example)  # the example is a valid payload
    queries = {d.name: d.description for d in meta.definition.query_definitions}
    assert {"state", "transcript", "timeline"} <= set(queries)
    assert all(queries[q] for q in ("state", "transcript", "timeline"))
