"""The history tools on recorded histories: what the journal wrote, and replay catching a
workflow change made without a patch."""

from pathlib import Path

from temporalio.client import WorkflowHistory

from starters.histories import expected, journal, replay_one, replayer
from tests.workflows.altered import UnpatchedCaseWorkflow
from workflows.digest import BreachDigestWorkflow
from workflows.rca import RcaWorkflow

HISTORIES = Path(__file__).resolve().parent.parent / "histories"


def recorded(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(
        f"case-replay-{name}", (HISTORIES / f"{name}.json").read_text()
    )


def test_the_journal_batches_in_a_history_are_the_cases_record():
    history = recorded("staff_notices")
    messages, events = expected(journal(history))
    assert list(messages) == [1]
    assert sorted(events) == list(range(1, len(events) + 1))  # every event, no gap
    kinds = [e.type for _, e in sorted(events.items())]
    assert kinds[0] == "opened" and "notice_failed" in kinds and kinds[-1] == "closed"


async def test_replay_passes_on_todays_code_and_names_the_event_of_a_change_without_a_patch():
    history = recorded("ladder")
    assert await replay_one(replayer(), history) is None
    changed = replayer([UnpatchedCaseWorkflow, RcaWorkflow, BreachDigestWorkflow])
    failure = await replay_one(changed, history)
    assert failure is not None and failure.workflow_id == "case-replay-ladder"
    assert "Nondeterminism" in failure.error or "nondetermin" in failure.error.lower()
    assert failure.event_id is not None and failure.event_id > 0
