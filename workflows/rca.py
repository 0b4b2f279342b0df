"""RcaWorkflow: a root-cause follow-up, started by a resolved case and outliving it.

Its case starts it as a child (parent close policy ABANDON: the case may close and end
while the RCA runs on). It notifies its owners, reminds them before the due date, tells
the owner's manager when it is overdue (then at a doubling interval, bounded), and ends
when it is completed through the `complete` update (or the signal of the same name, from
the Web UI: a bad one is recorded as the last rejection). Its row in the case record store
is kept current and holds the outcome. The decisions are in `domain/rca.py`.
"""

import contextlib
from datetime import timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain import rca
    from domain.effects import Notify, RcaStart
    from domain.problems import problems
    from domain.rca import RcaComplete, RcaRecord, RcaRejected, RcaState, RcaStatus
    from workflows import visibility
    from workflows.retries import DELIVERY_RETRY

COMPLETE_EXAMPLE = (
    '{"actor": "sam", "cause_category": "training", '
    '"corrective_action": "refresher on refunds", "action_owner": "dana"}'
)


def _parse(payload: Any) -> RcaComplete:
    if not isinstance(payload, dict):
        raise RcaRejected(f"expected one JSON object like {COMPLETE_EXAMPLE}")
    try:
        return RcaComplete.model_validate(payload)
    except ValidationError as exc:
        raise RcaRejected("; ".join(problems(exc))) from None


@workflow.defn(name="RcaWorkflow")
class RcaWorkflow:
    def __init__(self) -> None:
        self._state: RcaState | None = None
        self._published: str | None = None

    @workflow.run
    async def run(self, start: RcaStart) -> RcaRecord:
        state = RcaState(start=start)
        self._state = state
        self._publish(state)
        for notice in rca.opened(state):
            await self._notify(notice)
        await self._record(state)
        while state.status is not RcaStatus.DONE:
            before = state.status
            for notice in rca.tick(state, workflow.now()):
                await self._notify(notice)
            if state.status is not before:
                self._publish(state)
                await self._record(state)
            due = rca.next_due(state)
            timeout = None if due is None else max(due - workflow.now(), timedelta(seconds=1))
            with contextlib.suppress(TimeoutError):  # the next reminder or overdue notice
                await workflow.wait_condition(
                    lambda: state.status is RcaStatus.DONE, timeout=timeout
                )
        self._publish(state)
        await self._record(state)
        await workflow.wait_condition(workflow.all_handlers_finished)
        return rca.record(state)

    async def _notify(self, notice: Notify) -> None:
        try:
            await workflow.execute_activity(
                "notify_escalation",
                notice,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(hours=2),
                retry_policy=DELIVERY_RETRY,  # as the case's own notices
                summary=f"notify: {notice.kind}",
            )
        except ActivityError as err:
            workflow.logger.warning("RCA notice not delivered: %s", err.cause or err)

    async def _record(self, state: RcaState) -> None:
        await workflow.execute_activity(
            "record_rca",
            rca.record(state),
            start_to_close_timeout=timedelta(seconds=30),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
            summary="record: RCA",
        )

    def _publish(self, state: RcaState) -> None:
        start = state.start
        values: dict[str, str] = {
            visibility.RCA_STATUS.name: state.status.value,
            visibility.TENANT.name: start.tenant,
            visibility.ASSIGNED_TEAM.name: start.team,
        }
        keys = (visibility.RCA_STATUS, visibility.TENANT, visibility.ASSIGNED_TEAM)
        if self._published != state.status.value:
            workflow.upsert_search_attributes([k.value_set(values[k.name]) for k in keys])
            self._published = state.status.value
        owners = ", ".join(c.name for c in start.owners)
        reasons = ", ".join(r.value for r in start.reasons)
        lines = [
            f"**RCA {state.status.value}** for case {start.case_id} ({start.priority.value}; "
            f"{reasons}) · owner {owners} · due {start.due_at:%Y-%m-%d %H:%M} UTC",
            f"Complete it with the `complete` update or signal: {COMPLETE_EXAMPLE} "
            f"(cause_category one of: {', '.join(start.categories)})",
        ]
        if state.status is RcaStatus.DONE:
            lines.append(
                f"cause: {state.cause_category} · action: {state.corrective_action} "
                f"(owner {state.action_owner})"
            )
        if state.last_rejection:
            lines.append(f"last rejected: {state.last_rejection}")
        workflow.set_current_details("\n\n".join(lines))

    def _apply(self, payload: Any) -> RcaRecord:
        assert self._state is not None
        command = _parse(payload)
        rca.complete(self._state, command, workflow.now())
        self._publish(self._state)
        return rca.record(self._state)

    @workflow.update(
        name="complete",
        description="Complete the RCA with its cause, the corrective action and its owner; "
        f"answers with the RCA, or refuses with the reason. JSON: {COMPLETE_EXAMPLE}",
    )
    async def complete(self, payload: Any = None) -> RcaRecord:
        return self._apply(payload)

    @complete.validator
    def _validate_complete(self, payload: Any = None) -> None:
        if self._state is None:
            raise ApplicationError("the RCA is still opening", non_retryable=True)
        try:
            rca.check(self._state, _parse(payload))
        except RcaRejected as exc:
            raise ApplicationError(str(exc), type="InvalidPayload", non_retryable=True) from None

    @workflow.signal(
        name="complete",
        description=f"Complete the RCA (a bad one is shown as rejected). JSON: {COMPLETE_EXAMPLE}",
    )
    def complete_signal(self, payload: Any = None) -> None:
        if self._state is None:
            return
        try:
            self._apply(payload)
        except RcaRejected as exc:
            self._state.last_rejection = str(exc)
            self._publish(self._state)

    @workflow.query(name="state", description="The RCA: owner, due date, status, outcome.")
    def state(self) -> RcaState | None:
        return self._state
