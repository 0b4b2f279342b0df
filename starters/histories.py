"""What the workflow histories say, for auditors and for rebuilding the store.

A case's histories (every run of `case-<id>`: continue-as-new, a reopening) hold every batch
its journal wrote to the case record store, as the activity's input, with the store's
answer as its result. So:

- `verify` checks the store against them: every message and event present, the same, and
  every stored body matching the SHA-256 the history holds; a difference names the case and
  the sequence number. This is what makes the store tamper-evident.
- `rebuild` writes them into a store again (idempotent writes, in order).
- `replay` replays histories against today's workflow code and reports non-determinism with
  the workflow and the event.
"""

import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.worker import Replayer

from domain.rca import RcaRecord
from domain.record import JournalBatch, JournalResult, TimelineEvent, TranscriptEntry, digest
from records.store import CaseStore
from workers.sandbox import workflow_runner

if TYPE_CHECKING:
    from records.audit import FullRecord

CONVERTER = pydantic_data_converter.payload_converter


# ----- reading histories -----------------------------------------------------------------------
async def run_ids(client: Client, workflow_id: str) -> list[str]:
    """Every run of a workflow id, oldest first (visibility)."""
    found = [
        (run.start_time, run.run_id)
        async for run in client.list_workflows(f'WorkflowId = "{workflow_id}"')
    ]
    return [run_id for _, run_id in sorted(found)]


async def histories(client: Client, workflow_id: str) -> list[WorkflowHistory]:
    out = []
    for run_id in await run_ids(client, workflow_id):
        handle = client.get_workflow_handle(workflow_id, run_id=run_id)
        out.append(await handle.fetch_history())
    return out


async def workflows(client: Client, query: str) -> AsyncIterator[tuple[str, str, str]]:
    """(workflow id, run id, type) of every run the visibility query finds."""
    async for run in client.list_workflows(query):
        yield run.id, run.run_id, run.workflow_type


def _completed(
    events: Sequence[HistoryEvent], activity: str, unfinished: list[Any] | None = None
) -> list[tuple[Any, Any]]:
    """(input payloads, result payloads) of each completed `activity`, in history order;
    the inputs of those not completed (running, or failed after they may have written) go
    to `unfinished`."""
    scheduled: dict[int, Any] = {}
    out = []
    for event in events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == activity:
                scheduled[event.event_id] = attrs.input.payloads
        elif event.HasField("activity_task_completed_event_attributes"):
            attrs2 = event.activity_task_completed_event_attributes
            if attrs2.scheduled_event_id in scheduled:
                out.append((scheduled.pop(attrs2.scheduled_event_id), attrs2.result.payloads))
    if unfinished is not None:
        unfinished.extend(scheduled.values())
    return out


def journal(history: WorkflowHistory) -> list[tuple[JournalBatch, JournalResult]]:
    """The batches the case's journal wrote, with what the store answered."""
    out = []
    for inputs, result in _completed(history.events, "journal_case"):
        [batch] = CONVERTER.from_payloads(inputs, [JournalBatch])
        [answer] = CONVERTER.from_payloads(result, [JournalResult]) if result else [None]
        out.append((batch, answer or JournalResult()))
    return out


def in_flight(history: WorkflowHistory) -> list[JournalBatch]:
    """Batches the journal sent that have no answer in the history (yet): the store may
    already hold them (it commits before the history records the completion)."""
    unfinished: list[Any] = []
    _completed(history.events, "journal_case", unfinished)
    return [CONVERTER.from_payloads(inputs, [JournalBatch])[0] for inputs in unfinished]


def rca_records(history: WorkflowHistory) -> list[RcaRecord]:
    out = []
    for inputs, _ in _completed(history.events, "record_rca"):
        [found] = CONVERTER.from_payloads(inputs, [RcaRecord])
        out.append(found)
    return out


# ----- verify ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    case_id: str
    kind: str  # message | event | case
    seq: int
    problem: str

    def __str__(self) -> str:
        return f"case {self.case_id} {self.kind} {self.seq}: {self.problem}"


def expected(
    batches: Sequence[tuple[JournalBatch, JournalResult]],
) -> tuple[dict[int, TranscriptEntry], dict[int, TimelineEvent]]:
    """The messages and events the histories say the store holds (by seq); a message the
    store refused as a duplicate of a provider id is not expected."""
    messages: dict[int, TranscriptEntry] = {}
    events: dict[int, TimelineEvent] = {}
    for batch, answer in batches:
        refused = set(answer.duplicates)
        for message in batch.messages:
            if message.seq not in refused:
                messages[message.seq] = message
        for event in batch.events:
            events[event.seq] = event
    return messages, events


@dataclass
class Verdict:
    differences: list[Difference] = field(default_factory=list)
    bodies_missing: int = 0  # long bodies not in the store (a rebuilt store): counted apart
    expired: int = 0  # rows older than the oldest history left (retention): not comparable


SUMMARY_FIELDS = (
    "tenant", "status", "priority", "level", "team", "escalations", "opened_at",
    "resolved_at", "closed_at", "csat_score", "nps_score",
)  # fmt: skip


def verify_case(
    found: "FullRecord",
    batches: Sequence[tuple[JournalBatch, JournalResult]],
    unfinished: Sequence[JournalBatch] = (),
) -> Verdict:
    """Compare a case's record as read from the store (read it *before* the histories: the
    journal commits first) with its journal batches; `unfinished` batches may or may not be
    in the store yet."""
    case_id = found.case_id
    want_messages, want_events = expected(batches)
    maybe_messages = {m.seq for b in unfinished for m in b.messages}
    maybe_events = {e.seq for b in unfinished for e in b.events}
    verdict = Verdict()
    out = verdict.differences
    erased = any(m.erased for m in found.messages)  # an erasure also clears event reasons
    got_messages = {m.seq: m for m in found.messages}
    for seq, want in sorted(want_messages.items()):
        got = got_messages.pop(seq, None)
        if got is None:
            out.append(Difference(case_id, "message", seq, "in the history, not in the store"))
            continue
        if (got.author, got.channel, got.at) != (want.author, want.channel, want.at):
            out.append(Difference(case_id, "message", seq, "author, channel or time differs"))
        if got.erased:
            continue  # erased for privacy (escalate customer erase): its text is gone by design
        if got.who != want.who:
            out.append(Difference(case_id, "message", seq, "its author's name differs"))
        if want.body is not None:
            if got.body is None or got.body.sha256 != want.body.sha256:
                out.append(Difference(case_id, "message", seq, "its body reference differs"))
            elif got.truncated:
                verdict.bodies_missing += 1
            elif digest(got.text) != want.body.sha256:
                out.append(
                    Difference(
                        case_id,
                        "message",
                        seq,
                        f"its stored body does not match the SHA-256 in the history "
                        f"({digest(got.text)[:12]} ≠ {want.body.sha256[:12]})",
                    )
                )
        elif got.text != want.text:
            out.append(
                Difference(
                    case_id,
                    "message",
                    seq,
                    f"text differs from the history ({digest(got.text)[:12]} ≠ "
                    f"{digest(want.text)[:12]})",
                )
            )
    # Histories before the oldest one left (a run past the namespace's retention) explain the
    # rows below its first seq: those cannot be compared, and are counted.
    oldest_message = min([*want_messages, *maybe_messages], default=1)
    for seq in sorted(set(got_messages) - maybe_messages):
        if seq < oldest_message:
            verdict.expired += 1
            continue
        out.append(Difference(case_id, "message", seq, "in the store, not in any history"))
    got_events = {e.seq: e for e in found.events}
    for seq, want_event in sorted(want_events.items()):
        got_event = got_events.pop(seq, None)
        if got_event is None:
            out.append(Difference(case_id, "event", seq, "in the history, not in the store"))
            continue
        same = (got_event.type, got_event.actor, got_event.at, got_event.detail) == (
            want_event.type,
            want_event.actor,
            want_event.at,
            want_event.detail,
        )
        if not same or (not erased and got_event.reason != want_event.reason):
            out.append(Difference(case_id, "event", seq, f"{want_event.type} differs"))
    oldest_event = min([*want_events, *maybe_events], default=1)
    for seq in sorted(set(got_events) - maybe_events):
        if seq < oldest_event:
            verdict.expired += 1
            continue
        out.append(Difference(case_id, "event", seq, "in the store, not in any history"))
    out += _summary_differences(found, batches, unfinished)
    return verdict


def _summary_differences(
    found: "FullRecord",
    batches: Sequence[tuple[JournalBatch, JournalResult]],
    unfinished: Sequence[JournalBatch],
) -> list[Difference]:
    """The summary row (what every metric reads) against the latest one the journal wrote."""
    if not batches:
        return []
    latest = max((b.summary for b, _ in batches), key=lambda s: s.messages + s.events)
    newer = [
        b.summary
        for b in unfinished
        if b.summary.messages + b.summary.events > latest.messages + latest.events
    ]
    if found.summary is None:
        return [Difference(found.case_id, "case", 0, "its summary row is missing")]
    candidates = [latest, *newer]
    for field_name in SUMMARY_FIELDS:
        got = getattr(found.summary, field_name)
        if all(getattr(c, field_name) != got for c in candidates):
            return [
                Difference(
                    found.case_id, "case", 0, f"its summary's {field_name} differs from the history"
                )
            ]
    return []


# ----- replay ----------------------------------------------------------------------------------
_EVENT = re.compile(r"HistoryEvent\(id: (\d+)|event (?:id )?(\d+)", re.IGNORECASE)


@dataclass(frozen=True)
class ReplayFailure:
    workflow_id: str
    run_id: str
    event_id: int | None
    error: str

    def __str__(self) -> str:
        at = f" at event {self.event_id}" if self.event_id is not None else ""
        return f"{self.workflow_id} (run {self.run_id}){at}: {self.error}"


_QUIET: Runtime | None = None


def _quiet_runtime() -> Runtime:
    """A runtime whose core logs only errors: a replay that fails is reported by us, once,
    not also as a warning per attempt."""
    global _QUIET
    if _QUIET is None:
        _QUIET = Runtime(
            telemetry=TelemetryConfig(
                logging=LoggingConfig(
                    filter=TelemetryFilter(core_level="ERROR", other_level="ERROR")
                )
            )
        )
    return _QUIET


def replayer(workflow_classes: Sequence[type] | None = None) -> Replayer:
    if workflow_classes is None:
        from workflows.case import CaseWorkflow
        from workflows.digest import BreachDigestWorkflow
        from workflows.rca import RcaWorkflow

        workflow_classes = [CaseWorkflow, RcaWorkflow, BreachDigestWorkflow]
    return Replayer(
        workflows=list(workflow_classes),
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
        runtime=_quiet_runtime(),
    )


async def replay_one(replay: Replayer, history: WorkflowHistory) -> ReplayFailure | None:
    """None if `history` replays on the code `replay` has; else the failure, with the event
    at which replay first diverges (from the error, else the shortest failing prefix)."""
    result = await replay.replay_workflow(history, raise_on_replay_failure=False)
    if result.replay_failure is None:
        return None
    error = str(result.replay_failure)
    found = _EVENT.search(error)
    if found:
        event_id: int | None = int(next(g for g in found.groups() if g))
    else:
        event_id = await _first_failing_event(replay, history)
    run_id = ""
    first = history.events[0] if history.events else None
    if first is not None and first.HasField("workflow_execution_started_event_attributes"):
        run_id = first.workflow_execution_started_event_attributes.original_execution_run_id
    message = re.sub(r"\s+", " ", error)
    detail = re.search(r'message: "([^"]+)"', message)
    return ReplayFailure(
        history.workflow_id, run_id, event_id, (detail.group(1) if detail else message)[:500]
    )


async def _first_failing_event(replay: Replayer, history: WorkflowHistory) -> int | None:
    """The last event of the shortest prefix of `history` that fails to replay."""
    events = list(history.events)
    low, high = 1, len(events)  # the whole history fails; find the first failing length
    while low < high:
        middle = (low + high) // 2
        prefix = WorkflowHistory(history.workflow_id, events[:middle])
        result = await replay.replay_workflow(prefix, raise_on_replay_failure=False)
        if result.replay_failure is None:
            low = middle + 1
        else:
            high = middle
    return events[low - 1].event_id if events else None


# ----- rebuild ---------------------------------------------------------------------------------
@dataclass
class Rebuilt:
    workflows: int = 0
    batches: int = 0
    messages: int = 0
    events: int = 0
    rcas: int = 0
    bodies_missing: int = 0  # claim-checked bodies: only their reference is in a history


def rebuild_one(store: CaseStore, runs: Sequence[WorkflowHistory], tally: Rebuilt) -> None:
    """Write one workflow's record (all its runs, in order) into the store; idempotent."""
    tally.workflows += 1
    for run in runs:
        for batch, _ in journal(run):
            # Conversations are the ingress's: a rebuild never ends one (a reopened case's
            # first run closing would otherwise cut its live conversation).
            written = store.write(batch, end_conversations=False)
            tally.batches += 1
            tally.messages += written.messages_written
            tally.events += written.events_written
            for message in batch.messages:
                if message.body is not None and store.body(batch.case_id, message.body.ref) is None:
                    tally.bodies_missing += 1
        for found in rca_records(run):
            store.write_rca(found)
            tally.rcas += 1
