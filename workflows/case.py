"""CaseWorkflow: one durable workflow per customer case.

Handlers only validate and enqueue; one main loop applies commands in arrival
order, asks the domain what follows, and sleeps on a durable timer until the next
deadline (SLA warning or breach, acknowledgement timeout, auto-close) or the next
command, whichever comes first. Deliveries run in ordered background queues so a
slow provider never holds back a deadline.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field, ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.case import CaseState, CaseView, Effect, Notify, Rejected
    from domain.commands import COMMANDS, CommandName
    from domain.models import CaseInput, TimelineEvent, TranscriptEntry
    from domain.problems import problems
    from domain.tenant import TenantPolicy
    from workflows import visibility

# Deliveries give up after this and are recorded as failed, so a dead provider is visible.
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=12,
    non_retryable_error_types=["InvalidRecipient", "PermanentDeliveryError"],
)
DEFAULT_CONTINUE_AFTER_EVENTS = 10_000
# Patch: keep one durable timer while the next deadline is unchanged, instead of cancelling
# and restarting it on every message (two history events fewer per inbound text).
KEEP_DEADLINE_TIMER = "keep-deadline-timer"


class Pending(BaseModel):
    """A signal or update waiting for the main loop; `payload` is the raw JSON as sent."""

    name: CommandName
    payload: Any = None
    update_id: int | None = None


class Outcome(BaseModel):
    view: CaseView | None = None
    error: str | None = None


class CaseRun(BaseModel):
    """What a continued run carries over (and the knobs tests use to force it)."""

    state: CaseState | None = None
    inbox: list[Pending] = Field(default_factory=list)
    continue_after_events: int = DEFAULT_CONTINUE_AFTER_EVENTS


class CaseStart(CaseInput):
    """The start input: the public CaseInput, plus what a continued run carries."""

    continued: CaseRun | None = None


def _describe(exc: ValidationError) -> str:
    return "; ".join(problems(exc))


def parse_command(name: CommandName, payload: Any) -> Any:
    """The payload as its command model; raises ValueError with a readable reason."""
    model = COMMANDS[name]
    if payload is None:
        raise ValueError(f"missing payload: send one JSON object for {name!r}")
    if not isinstance(payload, dict):
        raise ValueError(f"expected one JSON object for {name!r}, got {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise ValueError(_describe(exc)) from None


class _Deliveries:
    """An ordered queue of effects carried out by activities, one at a time."""

    def __init__(self, on_failure: Callable[[Effect, str], None]) -> None:
        self.queue: list[Effect] = []
        self.busy = False
        self._on_failure = on_failure

    @property
    def idle(self) -> bool:
        return not self.queue and not self.busy

    async def run(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.queue))
            effect = self.queue[0]
            self.busy = True
            try:
                await _deliver(effect)
            except ActivityError as err:
                self._on_failure(effect, str(getattr(err.cause, "message", None) or err))
            finally:
                self.queue.pop(0)
                self.busy = False


async def _deliver(effect: Effect) -> None:
    activity = "notify_escalation" if isinstance(effect, Notify) else "send_customer_message"
    await workflow.execute_activity(
        activity,
        effect,
        start_to_close_timeout=timedelta(seconds=30),
        schedule_to_close_timeout=timedelta(hours=2),
        retry_policy=DELIVERY_RETRY,
        summary=f"{effect.type}: {getattr(effect, 'kind', effect.type)}",
    )


@workflow.defn(name="CaseWorkflow")
class CaseWorkflow:
    @workflow.init
    def __init__(self, case: dict[str, Any]) -> None:
        # The input is validated here rather than by the data converter: a start that does not
        # validate then fails the case with a clear reason in run(), instead of every task.
        self._invalid_start: str | None = None
        try:
            start = CaseStart.model_validate(case)
        except ValidationError as exc:
            self._invalid_start = _describe(exc)
            start = CaseStart.model_construct()  # type: ignore[call-arg]  # never used: run() fails first
        run = start.continued or CaseRun()
        self._case = start.model_copy(update={"continued": None})
        self._state: CaseState | None = run.state
        self._inbox: list[Pending] = list(run.inbox)
        self._continue_after = run.continue_after_events
        self._outcomes: dict[int, Outcome] = {}
        self._timer: asyncio.Task[None] | None = None
        self._timer_due: datetime | None = None
        self._next_update_id = 0
        self._published: dict[str, Any] = {}
        self._staff = _Deliveries(self._delivery_failed)
        self._customer = _Deliveries(self._delivery_failed)

    # ----- main loop -----------------------------------------------------------------------
    @workflow.run
    async def run(self, case: dict[str, Any]) -> CaseView:
        if self._invalid_start is not None:
            raise ApplicationError(
                f"invalid case input: {self._invalid_start}",
                type="InvalidCaseInput",
                non_retryable=True,
            )
        start = self._case
        deliveries = [asyncio.create_task(q.run()) for q in (self._staff, self._customer)]
        if self._state is None:
            policy = await workflow.execute_activity(
                "load_tenant_policy",
                start.tenant,
                result_type=TenantPolicy,
                start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
            )
            self._state, effects = CaseState.open(
                start, policy, workflow.info().first_execution_run_id, workflow.now()
            )
            self._queue(*effects)
        state = self._state
        while not state.closed:
            self._drain(state)
            self._queue(*state.tick(workflow.now()))
            self._publish(state)
            if state.closed:
                break
            if self._should_continue() and self._quiescent():
                for task in deliveries:
                    task.cancel()
                carried = CaseRun(
                    state=state, inbox=self._inbox, continue_after_events=self._continue_after
                )
                workflow.continue_as_new(
                    self._case.model_copy(update={"continued": carried}).model_dump(mode="json")
                )
            due = state.next_due()
            if workflow.patched(KEEP_DEADLINE_TIMER):
                self._arm(due)
                await workflow.wait_condition(
                    lambda: (
                        bool(self._inbox)
                        or (self._timer is not None and self._timer.done())
                        or (self._should_continue() and self._quiescent())
                    )
                )
                continue
            # Cases started before KEEP_DEADLINE_TIMER: a fresh timer on every wake-up.
            timeout = None
            if due is not None:
                timeout = max((due - workflow.now()).total_seconds(), 0.001)
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or (self._should_continue() and self._quiescent()),
                    timeout=timeout,
                    timeout_summary="next SLA / acknowledgement deadline",
                )
        # Closed: finish what is owed and answer (reject) what still arrives, then end.
        while True:
            self._drain(state)
            self._publish(state)
            await workflow.wait_condition(
                lambda: (
                    bool(self._inbox)
                    or (
                        self._staff.idle
                        and self._customer.idle
                        and workflow.all_handlers_finished()
                    )
                )
            )
            if not self._inbox:
                return state.view()

    def _arm(self, due: datetime | None) -> None:
        """Have exactly one timer running, for `due`; keep it if `due` has not moved."""
        if self._timer is not None and not self._timer.done() and due == self._timer_due:
            return
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer, self._timer_due = None, due
        if due is not None:
            delay = max((due - workflow.now()).total_seconds(), 0.001)
            self._timer = asyncio.create_task(
                workflow.sleep(delay, summary="next SLA / acknowledgement deadline")
            )

    def _drain(self, state: CaseState) -> None:
        now = workflow.now()
        while self._inbox:
            item = self._inbox.pop(0)
            outcome = Outcome()
            try:
                command = parse_command(item.name, item.payload)
            except ValueError as exc:
                actor = item.payload.get("actor") if isinstance(item.payload, dict) else None
                state.reject(item.name, str(exc), now, actor if isinstance(actor, str) else None)
                outcome.error = str(exc)
            else:
                try:
                    self._queue(*state.apply(command, now))
                except Rejected as exc:
                    state.reject(item.name, str(exc), now, getattr(command, "actor", None))
                    outcome.error = str(exc)
            if item.update_id is not None:
                outcome.view = state.view()
                self._outcomes[item.update_id] = outcome

    def _queue(self, *effects: Effect) -> None:
        for effect in effects:
            (self._staff if isinstance(effect, Notify) else self._customer).queue.append(effect)

    def _delivery_failed(self, effect: Effect, error: str) -> None:
        if self._state is None:
            return
        self._state.delivery_failed(effect, error, workflow.now())

    def _should_continue(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._continue_after
        )

    def _quiescent(self) -> bool:
        return (
            not self._inbox
            and self._staff.idle
            and self._customer.idle
            and workflow.all_handlers_finished()
        )

    def _publish(self, state: CaseState) -> None:
        workflow.set_current_details(state.summary())
        values: dict[str, Any] = {
            visibility.CASE_STATUS.name: state.status.value,
            visibility.CASE_PRIORITY.name: state.priority.value,
            visibility.TENANT.name: state.tenant,
            visibility.CASE_CHANNEL.name: state.channel.value,
            visibility.ESCALATION_LEVEL.name: int(state.level),
            visibility.SLA_BREACHED.name: state.sla_breached,
            visibility.ASSIGNED_TEAM.name: state.team,
        }
        changed = [
            key.value_set(values[key.name])
            for key in visibility.ALL
            if self._published.get(key.name) != values[key.name]
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published = values

    # ----- intake --------------------------------------------------------------------------
    def _enqueue_signal(self, name: CommandName, payload: Any) -> None:
        self._inbox.append(Pending(name=name, payload=payload))

    def _validate_update(self, name: CommandName, payload: Any) -> None:
        try:
            command = parse_command(name, payload)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="InvalidPayload", non_retryable=True) from None
        if self._state is not None and not self._inbox:
            try:
                self._state.check(command)
            except Rejected as exc:
                raise ApplicationError(str(exc), type="Rejected", non_retryable=True) from None

    async def _run_update(self, name: CommandName, payload: Any) -> CaseView:
        self._next_update_id += 1
        update_id = self._next_update_id
        self._inbox.append(Pending(name=name, payload=payload, update_id=update_id))
        await workflow.wait_condition(lambda: update_id in self._outcomes)
        outcome = self._outcomes.pop(update_id)
        if outcome.error is not None:
            raise ApplicationError(outcome.error, type="Rejected", non_retryable=True)
        assert outcome.view is not None
        return outcome.view

    # ----- signals: one JSON object each, validated in the loop so rejections are visible --
    @workflow.signal(
        name="customer_message",
        description='A customer message: {"channel": "sms", "text": "...", "provider_message_id": "SM1"}',
    )
    def customer_message(self, payload: Any = None) -> None:
        self._enqueue_signal("customer_message", payload)

    @workflow.signal(
        name="agent_message",
        description='An agent replies to the customer: {"agent": "dana", "text": "...", "channel": "sms"}',
    )
    def agent_message(self, payload: Any = None) -> None:
        self._enqueue_signal("agent_message", payload)

    @workflow.signal(
        name="request_escalation",
        description='The customer asks for escalation: {"reason": "wants a supervisor"}',
    )
    def request_escalation(self, payload: Any = None) -> None:
        self._enqueue_signal("request_escalation", payload if payload is not None else {})

    @workflow.signal(
        name="escalate",
        description='Escalate: {"actor": "sam", "kind": "hierarchical", "to_level": "L3", "reason": "..."} '
        'or {"actor": "sam", "kind": "functional", "to_team": "billing", "reason": "..."}',
    )
    def escalate(self, payload: Any = None) -> None:
        self._enqueue_signal("escalate", payload)

    @workflow.signal(
        name="assign",
        description='Assign an owner: {"actor": "sam", "assignee": "dana", "team": "billing"}',
    )
    def assign(self, payload: Any = None) -> None:
        self._enqueue_signal("assign", payload)

    @workflow.signal(
        name="acknowledge",
        description='The escalation owner takes the case (stops the ladder): {"actor": "sam"}',
    )
    def acknowledge(self, payload: Any = None) -> None:
        self._enqueue_signal("acknowledge", payload)

    @workflow.signal(
        name="set_priority",
        description='Change priority, recomputes SLA deadlines: {"actor": "sam", "priority": "P1", "reason": "..."}',
    )
    def set_priority(self, payload: Any = None) -> None:
        self._enqueue_signal("set_priority", payload)

    @workflow.signal(
        name="await_customer",
        description='Pause SLA clocks until the customer replies: {"actor": "sam"}',
    )
    def await_customer(self, payload: Any = None) -> None:
        self._enqueue_signal("await_customer", payload)

    @workflow.signal(
        name="resolve",
        description='Resolve the case: {"actor": "sam", "resolution": "refund issued"}',
    )
    def resolve(self, payload: Any = None) -> None:
        self._enqueue_signal("resolve", payload)

    @workflow.signal(
        name="reopen", description='Reopen a resolved case: {"actor": "sam", "reason": "..."}'
    )
    def reopen(self, payload: Any = None) -> None:
        self._enqueue_signal("reopen", payload)

    @workflow.signal(name="close", description='Close the case for good: {"actor": "sam"}')
    def close(self, payload: Any = None) -> None:
        self._enqueue_signal("close", payload)

    # ----- the same actions as updates, for callers that must know at once ------------------
    @workflow.update(name="customer_message", description="customer_message, acknowledged")
    async def customer_message_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("customer_message", payload)

    @customer_message_update.validator
    def _v_customer_message(self, payload: Any = None) -> None:
        self._validate_update("customer_message", payload)

    @workflow.update(name="agent_message", description="agent_message, acknowledged")
    async def agent_message_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("agent_message", payload)

    @agent_message_update.validator
    def _v_agent_message(self, payload: Any = None) -> None:
        self._validate_update("agent_message", payload)

    @workflow.update(name="request_escalation", description="request_escalation, acknowledged")
    async def request_escalation_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("request_escalation", payload or {})

    @request_escalation_update.validator
    def _v_request_escalation(self, payload: Any = None) -> None:
        self._validate_update("request_escalation", payload or {})

    @workflow.update(name="escalate", description="escalate, acknowledged")
    async def escalate_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("escalate", payload)

    @escalate_update.validator
    def _v_escalate(self, payload: Any = None) -> None:
        self._validate_update("escalate", payload)

    @workflow.update(name="assign", description="assign, acknowledged")
    async def assign_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("assign", payload)

    @assign_update.validator
    def _v_assign(self, payload: Any = None) -> None:
        self._validate_update("assign", payload)

    @workflow.update(name="acknowledge", description="acknowledge, acknowledged")
    async def acknowledge_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("acknowledge", payload)

    @acknowledge_update.validator
    def _v_acknowledge(self, payload: Any = None) -> None:
        self._validate_update("acknowledge", payload)

    @workflow.update(name="set_priority", description="set_priority, acknowledged")
    async def set_priority_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("set_priority", payload)

    @set_priority_update.validator
    def _v_set_priority(self, payload: Any = None) -> None:
        self._validate_update("set_priority", payload)

    @workflow.update(name="await_customer", description="await_customer, acknowledged")
    async def await_customer_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("await_customer", payload)

    @await_customer_update.validator
    def _v_await_customer(self, payload: Any = None) -> None:
        self._validate_update("await_customer", payload)

    @workflow.update(name="resolve", description="resolve, acknowledged")
    async def resolve_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("resolve", payload)

    @resolve_update.validator
    def _v_resolve(self, payload: Any = None) -> None:
        self._validate_update("resolve", payload)

    @workflow.update(name="reopen", description="reopen, acknowledged")
    async def reopen_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("reopen", payload)

    @reopen_update.validator
    def _v_reopen(self, payload: Any = None) -> None:
        self._validate_update("reopen", payload)

    @workflow.update(name="close", description="close, acknowledged")
    async def close_update(self, payload: Any = None) -> CaseView:
        return await self._run_update("close", payload)

    @close_update.validator
    def _v_close(self, payload: Any = None) -> None:
        self._validate_update("close", payload)

    # ----- queries -------------------------------------------------------------------------
    def _opened(self) -> CaseState:
        if self._state is None:
            raise ApplicationError("the case is still opening; ask again in a moment")
        return self._state

    @workflow.query(
        name="state", description="Status, priority, level, team, SLA clocks, escalations"
    )
    def state(self) -> CaseView:
        return self._opened().view()

    @workflow.query(name="transcript", description="Every message on every channel, in order")
    def transcript(self) -> list[TranscriptEntry]:
        return self._opened().transcript

    @workflow.query(name="timeline", description="The audit log: every event, actor and reason")
    def timeline(self) -> list[TimelineEvent]:
        return self._opened().timeline
