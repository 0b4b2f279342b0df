"""Root-cause follow-ups: opened by a resolved case, reminded, escalated when overdue,
completed through an update, and outliving their case (time-skipping test server)."""

import asyncio
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from domain.rca import RcaStatus
from tests.workflows.support import (
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    query_once_started,
)
from tests.workflows.support import timeline as case_timeline

ESCALATE = {"actor": "sam", "kind": "hierarchical", "reason": "customer threatens to leave"}
DONE = {
    "actor": "sam",
    "cause_category": "training",
    "corrective_action": "refresher on the billing cycle for tier 1",
    "action_owner": "dana",
}


def rca_notices(recorder: Recorder, kind: str) -> list:
    return [n for n in recorder.notices if n.kind == kind]


async def test_an_escalated_case_opens_an_rca_that_reminds_escalates_and_outlives_it(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    client = time_env.client
    async with case_worker(client, recorder) as tq:
        handle = await open_case(client, tq, case_input())
        await handle.execute_update("escalate", ESCALATE)
        await handle.execute_update("resolve", {"actor": "sam", "resolution": "credit given"})
        events = await eventually(
            lambda: case_timeline(handle), lambda es: any(e.type == "rca_opened" for e in es)
        )
        [opened] = [e for e in events if e.type == "rca_opened"]
        rca_id = str(opened.detail["rca"])
        assert rca_id == f"rca-{handle.id.removeprefix('case-')}-1"
        assert opened.reason == "escalated"
        rca = client.get_workflow_handle(rca_id)
        await eventually(lambda: query_once_started(rca), lambda s: s is not None)
        # The RCA answers queries before its first notice's activity has run: wait for it.
        [notice] = await eventually(
            lambda: asyncio.sleep(0, rca_notices(recorder, "rca_opened")), lambda ns: bool(ns)
        )
        # Owners: northwind's L2 and the case's team.
        owners = ["Shift supervisor", "Supervisor on call", "Billing desk"]
        assert [c.name for c in notice.recipients] == owners
        assert "+1202" not in notice.text and rca_id in notice.text

        # The case ends; its RCA runs on (parent close policy ABANDON).
        await handle.signal("close", {"actor": "sam"})
        await handle.result()
        state = await rca.query("state")
        assert state["status"] == "open"

        # Reminders before the due date (business time), then overdue: the manager is told.
        await time_env.sleep(timedelta(days=7))
        state = await eventually(lambda: rca.query("state"), lambda s: s["status"] == "overdue")
        assert len(rca_notices(recorder, "rca_reminder")) == 2
        [overdue, *_] = rca_notices(recorder, "rca_overdue")
        assert [c.name for c in overdue.recipients] == ["Care manager", *owners]

        refused = None
        try:
            await rca.execute_update("complete", DONE | {"cause_category": "bad luck"})
        except WorkflowUpdateFailedError as exc:
            refused = str(getattr(exc.cause, "message", exc))
        assert refused is not None and "unknown cause category 'bad luck'" in refused
        done = await rca.execute_update("complete", DONE)
        assert done["status"] == "done" and done["cause_category"] == "training"
        assert done["overdue"] is True
        await rca.result()
    record = recorder.rcas[rca_id]
    assert record.status is RcaStatus.DONE and record.action_owner == "dana"
    assert record.corrective_action == DONE["corrective_action"]
    assert [w.status for w in recorder.rca_writes][:1] == [RcaStatus.OPEN]


async def test_a_bad_completion_from_the_web_ui_signal_is_shown_and_changes_nothing(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    client = time_env.client
    async with case_worker(client, recorder) as tq:
        handle = await open_case(client, tq, case_input(priority="P1"))
        await handle.execute_update("resolve", {"actor": "sam", "resolution": "fixed"})
        events = await eventually(
            lambda: case_timeline(handle), lambda es: any(e.type == "rca_opened" for e in es)
        )
        rca_id = next(str(e.detail["rca"]) for e in events if e.type == "rca_opened")
        rca = client.get_workflow_handle(rca_id)
        await eventually(lambda: query_once_started(rca), lambda s: s is not None)
        await rca.signal("complete", {"actor": "sam"})
        state = await eventually(lambda: rca.query("state"), lambda s: s["last_rejection"])
        assert state["status"] == "open" and "cause_category" in state["last_rejection"]
        await rca.signal("complete", DONE)
        assert (await rca.result())["status"] == "done"


@pytest.mark.parametrize("how", ["plain", "rule_off"])
async def test_a_case_the_rules_do_not_pick_gets_no_rca(
    time_env: WorkflowEnvironment, tenants, how: str
):
    if how == "rule_off":  # the tenant asks for RCAs on P1 only; this one was escalated
        rules = tenants["northwind-telecom"].rca.model_copy(update={"when": ["p1"]})
        config = tenants["northwind-telecom"].model_copy(update={"rca": rules})
        tenants = tenants | {"northwind-telecom": config}
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        if how == "rule_off":
            await handle.execute_update("escalate", ESCALATE)
        await handle.execute_update("resolve", {"actor": "sam", "resolution": "fixed"})
        await handle.signal("close", {"actor": "sam"})
        await handle.result()
        events = await case_timeline(handle)
    assert not any(e.type == "rca_opened" for e in events)
    assert rca_notices(recorder, "rca_opened") == []
