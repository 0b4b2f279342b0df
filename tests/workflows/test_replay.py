"""Determinism: recorded case histories replay against today's CaseWorkflow.

`tests/histories/*.json` are recorded from today's code (`make histories` re-records them).
Older folders hold histories that running cases may still have, and must keep replaying
(a change that alters commands goes behind `workflow.patched`):
`v1/` from before the `keep-deadline-timer` patch, `v2/` from before `case-journal`
(when the workflow kept its whole transcript and wrote no record to the store), `v3/` from
before `channel-outcomes` (when a customer message's delivery answered a bool and a failed
one was only recorded); `v4/` from before `chat-events-urgent` and the FAQ bot (chats offered,
one joined then quiet, one never opened, both back on SMS, with the chat's events journalled
late); `v5/` from before `staff-routes` and `breach-digest` (a staff notice answered a count,
and every SLA alert went straight out); `v6/` from before `burst-ready` (a case continued
as new after 5,000 signals, its journal holding at the carry limit); `v7/` from before
`baseline-1` (every scenario's case, each patch recorded by a marker of its own).
"""

import json
import os
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from tests.workflows.scenarios import SCENARIOS
from tests.workflows.support import FIRST_RUN, Recorder, case_worker
from workers.sandbox import workflow_runner
from workflows.case import BASELINE_1, BASELINE_1_PATCHES, CaseWorkflow
from workflows.digest import BreachDigestWorkflow
from workflows.rca import RcaWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"
RECORD = os.environ.get("ESCALATE_RECORD_HISTORIES") == "1"


def replayer() -> Replayer:
    return Replayer(
        workflows=[CaseWorkflow, RcaWorkflow, BreachDigestWorkflow],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )


@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_scenario_replays_deterministically(name, time_env: WorkflowEnvironment, tenants):
    recorder = Recorder(tenants)
    async with case_worker(time_env.client, recorder) as tq:
        handle = await SCENARIOS[name](time_env, tq, recorder)
        first_run = time_env.client.get_workflow_handle(handle.id, run_id=FIRST_RUN[handle.id])
        history = await first_run.fetch_history()
    await replayer().replay_workflow(history)
    started = history.events[0].workflow_execution_started_event_attributes
    if started.workflow_type.name == "CaseWorkflow":
        markers, upserts = patches_recorded(history)
        assert markers[0] == BASELINE_1, "the baseline must be the run's first patch"
        assert not set(markers) & BASELINE_1_PATCHES, "a baseline patch was recorded alone"
        assert upserts == len(markers), "one TemporalChangeVersion upsert per marker"
    if RECORD:
        HISTORIES.mkdir(exist_ok=True)
        (HISTORIES / f"{name}.json").write_text(
            json.dumps(json.loads(history.to_json()), indent=1) + "\n"
        )


def patches_recorded(history: WorkflowHistory) -> tuple[list[str], int]:
    """The patch ids of a history's patch markers, in order, and its TemporalChangeVersion upserts."""
    markers, upserts = [], 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            attrs = event.marker_recorded_event_attributes
            if attrs.marker_name == "core_patch":
                (payload,) = attrs.details["patch-data"].payloads
                markers.append(json.loads(payload.data)["id"])
        elif event.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES:
            fields = event.upsert_workflow_search_attributes_event_attributes.search_attributes
            upserts += "TemporalChangeVersion" in fields.indexed_fields
    return markers, upserts


def test_an_older_history_records_each_patch_alone():
    """The v7 histories (recorded before the baseline) hold the patches one marker each: still replayed."""
    history = WorkflowHistory.from_json("v6", (HISTORIES / "v7" / "ladder.json").read_text())
    markers, upserts = patches_recorded(history)
    assert BASELINE_1 not in markers
    assert len(markers) >= 10 and set(markers) <= BASELINE_1_PATCHES
    assert upserts == len(markers)


def recorded() -> list[Path]:
    return sorted(HISTORIES.glob("**/*.json"))


def test_histories_are_recorded_for_every_scenario():
    current = {p.stem for p in HISTORIES.glob("*.json")}
    assert current == set(SCENARIOS), "run `make histories`"


@pytest.mark.parametrize("path", recorded(), ids=lambda p: str(p.relative_to(HISTORIES)))
async def test_recorded_history_replays(path: Path):
    history = WorkflowHistory.from_json(f"case-replay-{path.stem}", path.read_text())
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name}: {result.replay_failure}"
