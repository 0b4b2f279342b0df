"""The typed client API that backend services use, against the time-skipping server."""

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.commands import Acknowledge, CustomerMessage, Escalate
from domain.models import Level
from starters.client import CaseClient
from tests.workflows.support import STARTED, Recorder, case_input, case_worker, eventually


async def test_a_message_for_an_unknown_case_opens_it_once_and_later_ones_append(
    time_env: WorkflowEnvironment, tenants
):
    async with case_worker(time_env.client, Recorder(tenants)) as tq:
        cases = CaseClient(time_env.client, tq)
        case = case_input(message="(first message goes here)")
        first = CustomerMessage(
            channel="sms", text="My internet is down", provider_message_id="SM-1"
        )
        await cases.post_customer_message(case, first)
        STARTED[tq].append(cases.handle(case.case_id))
        await cases.post_customer_message(case, first)  # a provider retry of the same webhook
        await cases.post_customer_message(
            case, CustomerMessage(channel="sms", text="Still down", provider_message_id="SM-2")
        )
        await cases.post_customer_message(
            case.case_id, CustomerMessage(channel="chat", text="Now on chat")
        )
        transcript = await eventually(
            lambda: _transcript(cases, case.case_id), lambda t: len(t) == 3
        )
    assert [t.text for t in transcript] == ["My internet is down", "Still down", "Now on chat"]


async def _transcript(cases: CaseClient, case_id: str):
    try:
        return await cases.transcript(case_id)
    except Exception:  # still opening
        return []


async def test_open_is_idempotent_and_act_returns_the_new_state_or_the_reason(
    time_env: WorkflowEnvironment, tenants
):
    async with case_worker(time_env.client, Recorder(tenants)) as tq:
        cases = CaseClient(time_env.client, tq)
        case = case_input()
        handle = await cases.open_case(case)
        STARTED[tq].append(handle)
        again = await cases.open_case(case)
        assert again.result_run_id == handle.result_run_id
        await eventually(lambda: _transcript(cases, case.case_id), lambda t: len(t) == 1)
        view = await cases.act(
            case.case_id, Escalate(actor="sam", kind="hierarchical", reason="angry customer")
        )
        assert view.level == Level.L2
        await cases.act(case.case_id, Acknowledge(actor="sam"))
        with pytest.raises(WorkflowUpdateFailedError):
            await cases.act(case.case_id, Acknowledge(actor="sam"))
        timeline = await cases.timeline(case.case_id)
    # A validator rejection answers the caller and leaves no trace in the case's history.
    assert [e.type for e in timeline if e.type in ("escalated", "acknowledged", "rejected")] == [
        "escalated",
        "acknowledged",
    ]
