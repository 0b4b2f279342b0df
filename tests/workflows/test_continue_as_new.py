"""Long-lived cases continue as new without losing a signal, an update or a deadline."""

import asyncio
import statistics
from datetime import timedelta

from temporalio.testing import WorkflowEnvironment

from domain.models import Level
from domain.record import FLUSH_DELAY, WINDOW_MESSAGES, TranscriptEntry
from domain.tenant import ChatHandoffConfig
from domain.views import CaseView
from tests.workflows.support import (
    FIRST_RUN,
    Recorder,
    case_input,
    case_worker,
    eventually,
    open_case,
    state,
    transcript,
)
from workflows.case import CaseRun

MESSAGES = 60


async def _stored(recorder: Recorder, case_id: str) -> list[TranscriptEntry]:
    return recorder.stored_messages(case_id)


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
        window = await transcript(handle)
        latest = await time_env.client.get_workflow_handle(handle.id).describe()
        # Closing writes whatever is still unwritten before the workflow completes.
        await handle.signal("close", {"actor": "sam"})
        await handle.result()
        case_id = handle.id.removeprefix("case-")

    assert latest.run_id != FIRST_RUN[handle.id], "the case never continued as new"
    # The store has every message exactly once, numbered in arrival order.
    stored = recorder.stored_messages(case_id)
    assert [m.seq for m in stored] == list(range(1, MESSAGES + 2))
    texts = [m.text for m in stored[1:]]
    assert sorted(texts, key=lambda t: int(t.split()[1])) == [
        f"message {i}" for i in range(MESSAGES)
    ]
    # The case itself keeps only its recent window.
    assert [m.seq for m in window] == list(range(MESSAGES + 2 - WINDOW_MESSAGES, MESSAGES + 2))
    assert view.assignee == "dana"
    # State and timers carried exactly: same deadlines, same escalation, same pending ack.
    first = lambda v: next(c for c in v.clocks if c.kind == "resolution")  # noqa: E731
    assert first(after).deadline == first(before).deadline
    assert after.level == Level.L2 and len(after.escalations) == 1
    assert after.awaiting_ack is not None and after.awaiting_ack.due == view.awaiting_ack.due


async def test_an_inbound_text_costs_a_median_of_four_history_events(
    time_env: WorkflowEnvironment, tenants
):
    """A text that moves no deadline costs its signal and one workflow task: the deadline
    timer is kept, and the journal writes texts in batches (a flush every few minutes)
    instead of running an activity per message. (Chat handoff off: its offer after the
    seventh text and the offer's timeout are one-time actions, tested on their own.)"""
    no_chat = ChatHandoffConfig(enabled=False)
    recorder = Recorder(
        {k: t.model_copy(update={"chat_handoff": no_chat}) for k, t in tenants.items()}
    )
    async with case_worker(time_env.client, recorder) as tq:
        handle = await open_case(time_env.client, tq, case_input())
        await eventually(lambda: state(handle), lambda s: s.messages == 1)
        await time_env.sleep(FLUSH_DELAY)  # the opening batch is written
        costs = []
        texts = 20
        for i in range(texts):
            before = (await handle.describe()).history_length
            await handle.signal(
                "customer_message", {"channel": "sms", "text": f"and another thing #{i}"}
            )
            # Let it be handled on its own workflow task (no queries: the test server
            # records a workflow task for each query it forwards).
            await time_env.sleep(timedelta(minutes=1))
            costs.append((await handle.describe()).history_length - before)
        await time_env.sleep(FLUSH_DELAY)
        case_id = handle.id.removeprefix("case-")
        stored = await eventually(
            lambda: _stored(recorder, case_id), lambda m: len(m) == texts + 1, timeout=15
        )
    assert statistics.median(costs) <= 4, f"history events per text: {costs}"
    # A journal flush (its timer, activity and workflow task) every few texts, not per text.
    assert sum(costs) / texts <= 7, f"history events per text: {costs}"
    assert len(recorder.batches) <= 2 + texts // 4
    assert [m.text for m in stored[1:]] == [f"and another thing #{i}" for i in range(texts)]
