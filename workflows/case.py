"""CaseWorkflow: one durable workflow per customer case.

Handlers only validate and enqueue; one main loop applies commands in arrival
order, asks the domain what follows, and sleeps on a durable timer until the next
deadline (SLA warning or breach, acknowledgement timeout, auto-close) or the next
command, whichever comes first. Deliveries and the journal (the case record
store's writer) run as ordered background tasks, so a slow provider or a store
outage never holds back a deadline.
"""

import asyncio
import contextlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError
from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from domain import staff, views
    from domain.case import CaseState, Rejected
    from domain.channels import SendResult
    from domain.commands import COMMANDS, parse_command
    from domain.effects import (
        AskBot,
        BotAnswer,
        Effect,
        NoticeResult,
        Notify,
        ReplyToCustomer,
        StartRca,
    )
    from domain.problems import problems
    from domain.record import CARRY_BYTES, JournalResult, TimelineWindow, TranscriptWindow
    from domain.tenant import TenantPolicy
    from domain.views import CaseView
    from domain.workflow_io import (
        CaseRun,
        CaseStart,
        Outcome,
        Pending,
    )
    from workflows import visibility
    from workflows.retries import DELIVERY_RETRY

# The FAQ bot answers a person typing in a chat: a few quick tries, then a person takes over.
BOT_RETRY = RetryPolicy(initial_interval=timedelta(milliseconds=500), maximum_attempts=3)
# The journal retries a store outage for this long per attempt, then pauses briefly (so the
# case can continue as new meanwhile) and tries again: it never gives up.
JOURNAL_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=30),
)
JOURNAL_ATTEMPT = timedelta(minutes=5)
JOURNAL_PAUSE = timedelta(seconds=30)
# Temporal refuses signals past 10,000 per run: a journalling case continues as new well before.
MAX_SIGNALS_PER_RUN = 5_000
# With BURST_READY: sooner, so that the replay a worker does after any failed task of a busy
# case stays short (a 10,000-signal run took 3 s to replay, and 1,350 more signals arrived).
BURST_SIGNALS_PER_RUN = 2_000
# Patch: keep one durable timer while the next deadline is unchanged, instead of cancelling
# and restarting it on every message (two history events fewer per inbound text).
KEEP_DEADLINE_TIMER = "keep-deadline-timer"
# Patch: the case journals its record to the store and keeps only a bounded window.
CASE_JOURNAL = "case-journal"
# Patch: a customer message comes back sent, deferred (quiet hours) or refused, and a failed
# one is tried on the customer's other channel.
CHANNEL_OUTCOMES = "channel-outcomes"
# Patch: a text can make the case offer the web chat (a reply with a signed link).
CHAT_HANDOFF = "chat-handoff"
# Patch: the chat's events (offered, joined, back on SMS, bot handover) are journalled at
# once, so the chat page opens on the SMS story and the console sees the case move.
CHAT_EVENTS_URGENT = "chat-events-urgent"
# Patch: an escalated, breached or P1 case opens a root-cause follow-up (a child workflow)
# when it is resolved.
RCA_FOLLOW_UP = "rca-follow-up"
# Patch: a resolved case asks the customer for a rating (CSAT) and reads the answer.
CSAT = "csat-after-resolve"
# Patch: days after resolution the case asks whether the fix held; it closes or reopens on
# the answer (instead of auto-closing).
RESOLUTION_CHECK = "resolution-check"
# Patch: number words in a CSAT reply count only as whole words ("done" holds no "one").
CSAT_WORDS = "csat-words"
# Patch: a breach-caused escalation's acknowledgement deadline allows for the digest window
# its notice may wait in.
DIGEST_ACK_WAIT = "digest-ack-wait"
# Patch: resolving records whether the resolution clock was met (for SLA compliance).
RESOLUTION_MET = "resolution-met"
# Patch: a delivered staff notice is recorded in the timeline (`notice_sent`), for audit.
NOTICE_SENT = "notice-sent"
# Patch: a staff notice reports each channel that refused it (and the next one tried).
STAFF_ROUTES = "staff-routes"
# Patch: a non-P1 SLA alert goes to its team's digest (workflows.digest), not straight out.
BREACH_DIGEST = "breach-digest"
# Patch: a case under a burst of messages continues as new when it should. With a
# continue-as-new due, the journal writes its backlog down to half of what a new run may carry
# before it stops (it stopped at that carry limit itself, so every burst of messages drained
# pushed the backlog back over it: the case was never quiet enough, and ran on to Temporal's
# 10,000 signals); and a run takes at most BURST_SIGNALS_PER_RUN signals.
BURST_READY = "burst-ready"
# Patch: the journal's backlog is weighed as the JSON it travels as (escapes included), so
# its batches and what a continue-as-new carries stay under their limits whatever the text.
JSON_SIZES = "json-sizes"
# Patch: the tenant's policy is loaded by a local activity, within the case's first workflow
# task (it reads configuration the worker holds in memory): one activity and one workflow task
# fewer for every case that opens.
POLICY_LOCAL = "policy-local"
# Patch: every patch above, in one marker. Core records each `patched` call as a marker and a
# TemporalChangeVersion search-attribute upsert, and the server writes the case's visibility
# row once per upsert: fifteen of each on every new case. A case started with this patch
# records it alone and takes every patch in BASELINE_1_PATCHES from it (JSON_SIZES and
# POLICY_LOCAL came with it: only an older case, running on, records JSON_SIZES by name; none
# loads its policy again). The set is closed: a patch added later is asked for by its own
# name (a case started before it must replay without it).
BASELINE_1 = "baseline-1"
BASELINE_1_PATCHES = frozenset(
    {
        KEEP_DEADLINE_TIMER,
        CASE_JOURNAL,
        CHANNEL_OUTCOMES,
        CHAT_HANDOFF,
        CHAT_EVENTS_URGENT,
        RCA_FOLLOW_UP,
        CSAT,
        RESOLUTION_CHECK,
        CSAT_WORDS,
        DIGEST_ACK_WAIT,
        RESOLUTION_MET,
        NOTICE_SENT,
        STAFF_ROUTES,
        BREACH_DIGEST,
        BURST_READY,
        JSON_SIZES,
        POLICY_LOCAL,
    }
)
SYSTEM = "system"


def _patched(patch_id: str) -> bool:
    """`workflow.patched`, answered by BASELINE_1's marker for a case that recorded it.

    `run` asks for BASELINE_1 first, in the run's first task: a case that began before it
    (its first task replays without the marker) remembers False and asks for each patch by
    name, as it did before.
    """
    if patch_id in BASELINE_1_PATCHES and workflow.patched(BASELINE_1):
        return True
    return workflow.patched(patch_id)


def _describe(exc: ValidationError) -> str:
    return "; ".join(problems(exc))


class _Deliveries:
    """An ordered queue of effects carried out by activities, one at a time."""

    def __init__(
        self,
        on_failure: Callable[[Effect, str], None],
        on_result: Callable[[Effect, Any], None] | None = None,
    ) -> None:
        self.queue: list[Effect] = []
        self.busy = False
        self._on_failure = on_failure
        self._on_result = on_result

    @property
    def idle(self) -> bool:
        return not self.queue and not self.busy

    async def run(self) -> None:
        while True:
            await workflow.wait_condition(lambda: bool(self.queue))
            effect = self.queue[0]
            self.busy = True
            try:
                result = await _deliver(effect)
            except ActivityError as err:
                self._on_failure(effect, _reason(err))
            else:
                if self._on_result is not None:
                    self._on_result(effect, result)
            finally:
                self.queue.pop(0)
                self.busy = False


def _reason(err: ActivityError | ApplicationError) -> str:
    if isinstance(err, ApplicationError):
        return err.message
    return str(getattr(err.cause, "message", None) or err)


async def _deliver(effect: Effect) -> Any:
    if isinstance(effect, StartRca):
        # An RCA started already (by an earlier attempt) is the same RCA.
        with contextlib.suppress(WorkflowAlreadyStartedError):
            await workflow.start_child_workflow(
                "RcaWorkflow",
                effect.start,
                id=effect.start.rca_id,
                task_queue=workflow.info().task_queue,
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,  # it outlives the case
                static_summary=f"RCA for case {effect.start.case_id}",
            )
        return None
    if isinstance(effect, AskBot):
        return await workflow.execute_activity(
            "answer_from_faq",
            effect,
            result_type=BotAnswer,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=BOT_RETRY,
            summary="bot: FAQ answer",
        )
    if isinstance(effect, Notify) and effect.digest and _patched(BREACH_DIGEST):
        return await workflow.execute_activity(
            "post_to_digest",
            effect,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(hours=2),
            retry_policy=DELIVERY_RETRY,
            summary=f"digest: {effect.kind}",
        )
    result_type: type | None
    if isinstance(effect, Notify):
        activity = "notify_escalation"
        result_type = None
        if _patched(STAFF_ROUTES):
            result_type, effect = NoticeResult, effect.model_copy(update={"report": True})
    else:
        activity, result_type = "send_customer_message", SendResult
        if not _patched(CHANNEL_OUTCOMES):
            result_type = None  # an older run: the activity answered a bool
    return await workflow.execute_activity(
        activity,
        effect,
        result_type=result_type,
        start_to_close_timeout=timedelta(seconds=30),
        schedule_to_close_timeout=timedelta(hours=2),
        retry_policy=DELIVERY_RETRY,
        summary=f"{effect.type}: {getattr(effect, 'kind', effect.type)}",
    )


async def _load_policy(tenant: str) -> TenantPolicy:
    """The tenant's resolved policy: a local activity (from POLICY_LOCAL), else an activity."""
    load = workflow.execute_local_activity if _patched(POLICY_LOCAL) else workflow.execute_activity
    policy: TenantPolicy = await load(
        "load_tenant_policy",
        tenant,
        result_type=TenantPolicy,
        start_to_close_timeout=timedelta(seconds=30),
        retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1)),
    )
    return policy


class _Journal:
    """Writes the case's record to the store: one batch at a time, in order, never giving up.

    Entries wait up to the record's flush delay so that most inbound texts cost no
    activity; anything that changes who owns the case or its state goes at once.

    Its activity and timer carry no summary: a summary is one more payload per command, and
    the SDK's work per payload (an asyncio task and a pass into the sandbox each) stood out
    among the worker's costs in a py-spy profile of the SLA bench. Summaries stay where a
    supervisor reads them in the UI: the deadlines and the deliveries.
    """

    def __init__(self, state: CaseState, low_water: bool) -> None:
        self.state = state
        self.busy = False
        self.hurry = False  # the case has closed: write what is there now
        self.hold = False  # a continue-as-new is due: start no batch the new run can carry
        self.outage_logged = False
        # Under hold, a backlog this small waits for the new run (which may carry CARRY_BYTES).
        self.hold_below = CARRY_BYTES // 2 if low_water else CARRY_BYTES

    def _held(self) -> bool:
        return self.hold and self.state.record.unwritten_bytes() <= self.hold_below

    @property
    def idle(self) -> bool:
        return not self.busy and not self.state.record.pending

    def _due_or_later(self) -> bool:
        """Something to write, now or after the flush delay (not held back for a new run)."""
        return self.state.record.pending and not self._held()

    def _due(self) -> bool:
        at = self.state.record.flush_at()
        if at is None or self._held():
            return False
        return self.hurry or at <= workflow.now()

    async def run(self) -> None:
        record = self.state.record
        while True:
            await workflow.wait_condition(self._due_or_later)
            at = record.flush_at()
            if at is not None and not self._due():
                with contextlib.suppress(TimeoutError):
                    await workflow.wait_condition(
                        self._due,
                        timeout=max((at - workflow.now()).total_seconds(), 0.001),
                    )
            batch = self.state.journal_batch(workflow.now())
            if batch is None:
                continue
            self.busy = True
            try:
                result = await workflow.execute_activity(
                    "journal_case",
                    batch,
                    result_type=JournalResult,
                    start_to_close_timeout=timedelta(seconds=30),
                    schedule_to_close_timeout=JOURNAL_ATTEMPT,
                    retry_policy=JOURNAL_RETRY,
                )
            except ActivityError as err:
                self.busy = False
                if not self.outage_logged:
                    self.outage_logged = True
                    self.state.log(
                        workflow.now(),
                        "journal_delayed",
                        SYSTEM,
                        reason=f"the case record store is unavailable, retrying: {_reason(err)}",
                    )
                await workflow.sleep(JOURNAL_PAUSE, summary="journal retry pause")
                continue
            self.busy = False
            self.outage_logged = False
            self.state.journalled(batch, result, workflow.now())


def _signal_handler(name: str) -> Callable[..., None]:
    def handler(self: Any, payload: Any = None) -> None:
        self._signals += 1
        self._inbox.append(Pending(name=name, payload=payload))

    handler.__name__ = f"signal_{name}"
    return handler


def _update_handler(name: str) -> Callable[..., Any]:
    async def handler(self: Any, payload: Any = None) -> CaseView:
        return await self._run_update(name, payload)  # type: ignore[no-any-return]

    handler.__name__ = f"update_{name}"
    return handler


def _update_validator(name: str) -> Callable[..., None]:
    def validate(self: Any, payload: Any = None) -> None:
        self._validate_update(name, payload)

    validate.__name__ = f"validate_{name}"
    return validate


def _with_commands(cls: type) -> type:
    """Every command in `domain.commands.COMMANDS` as a signal and an update of the same name.

    Signals are for the Web UI and fire-and-forget callers (a bad payload is recorded
    as `rejected` in the timeline); updates answer the caller with the new state or
    the reason for refusing.
    """
    for spec in COMMANDS.values():
        signal = workflow.signal(name=spec.name, description=spec.signal_description)(
            _signal_handler(spec.name)
        )
        setattr(cls, f"signal_{spec.name}", signal)
        update = workflow.update(name=spec.name, description=spec.update_description)(
            _update_handler(spec.name)
        )
        update.validator(_update_validator(spec.name))
        setattr(cls, f"update_{spec.name}", update)
    return cls


@workflow.defn(name="CaseWorkflow")
@_with_commands
class CaseWorkflow:
    @workflow.init
    def __init__(self, case: dict[str, Any]) -> None:
        # The input is validated here rather than by the data converter: a start that does not
        # validate then fails the case with a clear reason in run(), instead of every task.
        self._failed: str | None = None
        try:
            start = CaseStart.model_validate(case)
        except ValidationError as exc:
            self._failed = f"invalid case input: {_describe(exc)}"
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
        self._staff = _Deliveries(self._delivery_failed, self._delivery_result)
        self._customer = _Deliveries(self._delivery_failed, self._delivery_result)
        # The FAQ bot's questions: their own queue, so a reply retrying for hours does not
        # hold the bot up, nor a slow FAQ the replies.
        self._bot = _Deliveries(self._delivery_failed, self._delivery_result)
        self._journal: _Journal | None = None
        self._signals = 0  # received by this run
        self._max_signals = MAX_SIGNALS_PER_RUN
        self._woken = False  # a delivery's outcome changed the case: look again

    # ----- main loop -----------------------------------------------------------------------
    @workflow.run
    async def run(self, case: dict[str, Any]) -> CaseView:
        if self._failed is not None:
            raise ApplicationError(self._failed, type="InvalidCaseInput", non_retryable=True)
        start = self._case
        workflow.patched(BASELINE_1)  # first, so that an older case stays on its own patches
        journal_on = _patched(CASE_JOURNAL)
        chat_on = _patched(CHAT_HANDOFF)
        chat_urgent = _patched(CHAT_EVENTS_URGENT)
        rca_on = _patched(RCA_FOLLOW_UP)
        csat_on = _patched(CSAT)
        verify_on = _patched(RESOLUTION_CHECK)
        queues = (self._staff, self._customer, self._bot)
        tasks = [asyncio.create_task(q.run()) for q in queues]
        if self._state is None:
            try:
                policy = await _load_policy(start.tenant)
            except (ActivityError, ApplicationError) as err:  # a local activity's: as raised
                self._failed = f"the case could not open: {_reason(err)}"
                raise ApplicationError(
                    self._failed, type="CaseOpenFailed", non_retryable=True
                ) from err
            self._state, effects = CaseState.open(
                start, policy, workflow.info().first_execution_run_id, workflow.now(), chat_on
            )
            self._queue(*effects)
        state = self._state
        state.chat_handoff_on = chat_on
        state.record.chat_events_urgent(chat_urgent)
        state.record.json_sizes(_patched(JSON_SIZES))
        state.rca_on = rca_on
        state.csat_on = csat_on
        state.verify_on = verify_on
        state.csat_words_on = _patched(CSAT_WORDS)
        state.digest_wait_on = _patched(DIGEST_ACK_WAIT)
        state.notice_sent_on = _patched(NOTICE_SENT)
        state.resolution_met_on = _patched(RESOLUTION_MET)
        burst_ready = _patched(BURST_READY)
        if burst_ready:
            self._max_signals = BURST_SIGNALS_PER_RUN
        if journal_on:
            self._journal = _Journal(state, low_water=burst_ready)
            tasks.append(asyncio.create_task(self._journal.run()))
        while not state.closed:
            self._drain(state)
            self._queue(*state.tick(workflow.now()))
            self._publish(state)
            if state.closed:
                break
            if self._journal is not None:
                self._journal.hold = self._should_continue()
            if self._should_continue() and self._quiescent():
                for task in tasks:
                    task.cancel()
                carried = CaseRun(
                    state=state, inbox=self._inbox, continue_after_events=self._continue_after
                )
                workflow.continue_as_new(
                    self._case.model_copy(update={"continued": carried}).model_dump(mode="json")
                )
            due = state.next_due()
            self._woken = False
            if _patched(KEEP_DEADLINE_TIMER):
                self._arm(due)
                await workflow.wait_condition(
                    lambda: (
                        bool(self._inbox)
                        or self._woken
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
        # Closed: finish what is owed (deliveries, the record), answer (reject) what still
        # arrives, then end.
        if self._journal is not None:
            self._journal.hurry = True
        while True:
            self._drain(state)
            self._publish(state)
            await workflow.wait_condition(
                lambda: (
                    bool(self._inbox)
                    or (
                        self._staff.idle
                        and self._customer.idle
                        and self._bot.idle
                        and (self._journal is None or self._journal.idle)
                        and workflow.all_handlers_finished()
                    )
                )
            )
            if not self._inbox:
                return views.view(state)

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
                outcome.view = views.view(state)
                self._outcomes[item.update_id] = outcome

    def _queue(self, *effects: Effect) -> None:
        for effect in effects:
            if isinstance(effect, Notify | StartRca):
                self._staff.queue.append(effect)
            elif isinstance(effect, AskBot):
                self._bot.queue.append(effect)
            else:
                self._customer.queue.append(effect)

    def _delivery_failed(self, effect: Effect, error: str) -> None:
        if self._state is None:
            return
        fallback = _patched(CHANNEL_OUTCOMES)
        self._queue(*self._state.delivery_failed(effect, error, workflow.now(), fallback))
        self._woken = True

    def _delivery_result(self, effect: Effect, result: Any) -> None:
        if self._state is not None and isinstance(effect, AskBot):
            self._queue(*self._state.bot_answered(effect, result, workflow.now()))
            self._woken = True
            return
        if self._state is not None and isinstance(result, NoticeResult):
            assert isinstance(effect, Notify)
            staff.delivered(self._state, effect, result, workflow.now())
            return
        if self._state is None or not isinstance(result, SendResult):
            return
        assert isinstance(effect, ReplyToCustomer)
        self._queue(*self._state.sent_outcome(effect, result, workflow.now()))
        self._woken = True

    def _should_continue(self) -> bool:
        info = workflow.info()
        return (
            info.is_continue_as_new_suggested()
            or info.get_current_history_length() >= self._continue_after
            or (self._journal is not None and self._signals >= self._max_signals)
        )

    def _quiescent(self) -> bool:
        """Nothing in flight that a new run could not pick up: no update, delivery or write."""
        journal = self._journal
        return (
            not self._inbox
            and self._staff.idle
            and self._customer.idle
            and self._bot.idle
            and workflow.all_handlers_finished()
            and (
                journal is None
                or (not journal.busy and journal.state.record.unwritten_bytes() <= CARRY_BYTES)
            )
        )

    def _publish(self, state: CaseState) -> None:
        workflow.set_current_details(views.summary(state))
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
            for key in visibility.CASE
            if self._published.get(key.name) != values[key.name]
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self._published = values

    # ----- intake: the signal and update handlers come from domain.commands.COMMANDS --------
    def _validate_update(self, name: str, payload: Any) -> None:
        try:
            command = parse_command(name, payload)
        except ValueError as exc:
            raise ApplicationError(str(exc), type="InvalidPayload", non_retryable=True) from None
        if self._state is not None and not self._inbox:
            try:
                self._state.check(command)
            except Rejected as exc:
                raise ApplicationError(str(exc), type="Rejected", non_retryable=True) from None

    async def _run_update(self, name: str, payload: Any) -> CaseView:
        self._next_update_id += 1
        update_id = self._next_update_id
        self._inbox.append(Pending(name=name, payload=payload, update_id=update_id))
        await workflow.wait_condition(lambda: update_id in self._outcomes)
        outcome = self._outcomes.pop(update_id)
        if outcome.error is not None:
            raise ApplicationError(outcome.error, type="Rejected", non_retryable=True)
        assert outcome.view is not None
        return outcome.view

    # ----- queries: bounded answers; the complete record is read from the store ------------
    def _opened(self) -> CaseState:
        if self._failed is not None:
            raise ApplicationError(self._failed, type="CaseFailed")
        if self._state is None:
            raise ApplicationError("the case is still opening; ask again in a moment")
        return self._state

    @workflow.query(
        name="state",
        description="Status, priority, level, owner, SLA clocks, recent escalations and messages",
    )
    def state(self) -> CaseView:
        return views.view(self._opened())

    @workflow.query(
        name="transcript",
        description="The most recent messages and the total count; the store has every one",
    )
    def transcript(self) -> TranscriptWindow:
        return self._opened().record.transcript()

    @workflow.query(
        name="timeline",
        description="The most recent audit events and the total count; the store has every one",
    )
    def timeline(self) -> TimelineWindow:
        return self._opened().record.timeline()
