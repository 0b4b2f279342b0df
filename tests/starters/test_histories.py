"""The history tools on recorded histories: what the journal wrote, and replay catching a
workflow change made without a patch."""

from pathlib import Path

from temporalio.client import WorkflowHistory

from starters.histories import expected, journal, replay_one, replayer, verify_case
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


def test_verify_allows_what_is_in_flight_and_catches_what_was_deleted(tmp_path):
    from records import migrate
    from records.audit import record
    from records.store import CaseStore, sqlite_url
    from tests.records.test_store import batch, event, message

    url = sqlite_url(tmp_path / "r.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url)
    done = batch([message(1)], [event(1, "opened", None)], case_id="c-v")
    store.write(done)
    late = batch([message(2)], [event(2, "escalated", "why")], case_id="c-v")
    store.write(late)  # committed; its completion is not in the history yet
    from domain.record import JournalResult

    verdict = verify_case(record(store, "c-v"), [(done, JournalResult())], [late])
    assert verdict.differences == []
    # Without the in-flight batch in the history, the same rows are unexplained.
    unexplained = verify_case(record(store, "c-v"), [(done, JournalResult())])
    assert [str(d) for d in unexplained.differences] == [
        "case c-v message 2: in the store, not in any history",
        "case c-v event 2: in the store, not in any history",
    ]
    # A deleted event, and a summary changed behind the journal's back.
    with store.engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM case_events WHERE case_id = 'c-v' AND seq = 1")
        conn.exec_driver_sql("UPDATE cases SET escalations = 9 WHERE case_id = 'c-v'")
    found = verify_case(record(store, "c-v"), [(done, JournalResult()), (late, JournalResult())])
    assert [str(d) for d in found.differences] == [
        "case c-v event 1: in the history, not in the store",
        "case c-v case 0: its summary's escalations differs from the history",
    ]
    store.close()


def test_rows_before_the_oldest_history_left_are_counted_not_reported(tmp_path):
    """A case whose first run is past the namespace's retention: only the later run's
    batches remain; the earlier rows cannot be compared, and are not called tampering."""
    from domain.record import JournalResult
    from records import migrate
    from records.audit import record
    from records.store import CaseStore, sqlite_url
    from tests.records.test_store import batch, event, message

    url = sqlite_url(tmp_path / "r.sqlite3")
    migrate.upgrade(url)
    store = CaseStore(url)
    store.write(batch([message(1)], [event(1, "opened", None)], case_id="c-old"))
    later = batch([message(2)], [event(2, "reopened", None)], case_id="c-old")
    store.write(later)
    verdict = verify_case(record(store, "c-old"), [(later, JournalResult())])
    assert verdict.differences == [] and verdict.expired == 2
    store.close()
