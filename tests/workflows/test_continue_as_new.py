"""Long-lived cases continue as new without losing a signal, an update or a deadline."""

import asyncio
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.case import CaseView
from domain.models import Level, TranscriptEntry
from tests.workflows.support import (
    FIRST_RUN,
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
)
from workflows.case import CaseRun

MESSAGES = 60


async def test_signals_racing_continue_as_new_are_all_kept_with_state_and_timers(
    time_env: WorkflowEnvironment, tenants
):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(
            time_env.client, tq, case_input(priority="P2"), run=CaseRun(continue_after_events=40)
        )
        before = await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await handle.signal("request_escalation", {})
        await eventually(lambda: state(handle), lambda s: s.level == Level.L2)

        async def send(i: int) -> None:
            await handle.signal(
                "customer_message",
                {"channel": "sms", "text": f"message {i}", "provider_message_id": f"SM{i}"},
            )

        # Bursts, so signals keep arriving while a continue-as-new is being decided.
        for start in range(0, MESSAGES, 10):
            await asyncio.gather(*(send(i) for i in range(start, start + 10)))
        # Duplicates from provider retries, also racing.
        await asyncio.gather(*(send(i) for i in range(0, MESSAGES, 7)))
        view = await handle.execute_update(
            "assign", {"actor": "sam", "assignee": "dana"}, result_type=CaseView
        )
        after = await eventually(lambda: state(handle), lambda s: s.messages == MESSAGES + 1)
        transcript = await handle.query("transcript", result_type=list[TranscriptEntry])
        latest = await time_env.client.get_workflow_handle(handle.id).describe()

    assert latest.run_id != FIRST_RUN[handle.id], "the case never continued as new"
    texts = [t.text for t in transcript[1:]]
    assert sorted(texts, key=lambda t: int(t.split()[1])) == [
        f"message {i}" for i in range(MESSAGES)
    ]
    assert len(set(texts)) == MESSAGES
    assert view.assignee == "dana"
    # State and timers carried exactly: same deadlines, same escalation, same pending ack.
    first = lambda v: next(c for c in v.clocks if c.kind == "resolution")  # noqa: E731
    assert first(after).deadline == first(before).deadline
    assert after.level == Level.L2 and len(after.escalations) == 1
    assert after.awaiting_ack is not None and after.awaiting_ack.due == view.awaiting_ack.due


async def test_each_inbound_text_adds_only_a_few_history_events(
    time_env: WorkflowEnvironment, tenants
):
    """The deadline timer is kept while the next deadline is unchanged: a text that does not
    move it costs its signal and one workflow task, not a timer cancelled and restarted."""
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        before = (await handle.describe()).history_length
        texts = 10
        for i in range(texts):
            await handle.signal(
                "customer_message", {"channel": "sms", "text": f"and another thing #{i}"}
            )
            # Let it be handled on its own workflow task (no queries: the test server
            # records a workflow task for each query it forwards).
            await time_env.sleep(timedelta(minutes=1))
        after = (await handle.describe()).history_length
        assert (await state(handle)).messages == texts + 1
    per_text = (after - before) / texts
    assert per_text <= 4, f"{per_text:.1f} history events per inbound text"
