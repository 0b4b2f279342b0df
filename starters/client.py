"""The typed async client API that backend services use to open, steer and read cases.

Cases are reached through Temporal; their complete record (every message and event)
is read from the case record store, never by asking the workflow for all of it.
"""

import asyncio
import contextlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.commands import NAMES, Command, CustomerMessage, InboundMessage
from domain.models import BodyRef, CaseInput, CaseStatus, Channel
from domain.record import (
    CLAIM_CHECK_BYTES,
    CaseSnapshot,
    ErasureReport,
    TimelinePage,
    TimelineWindow,
    TranscriptPage,
    TranscriptWindow,
    preview,
)
from domain.sentiment import compound
from domain.views import CaseView
from records.store import CaseStore
from service.settings import Settings
from workers.worker import connect
from workflows import visibility
from workflows.case import CaseWorkflow


def workflow_id(case_id: str) -> str:
    return f"case-{case_id}"


def static_summary(case: CaseInput) -> str:
    """What the Web UI shows for the case; no personal data, no message text."""
    priority = case.priority.value + " " if case.priority else ""
    return (
        f"{priority}{case.category or 'general'} case for {case.tenant}, "
        f"opened on {case.channel.value} ({case.customer.tier.value} customer)"
    )


class CaseSummary(BaseModel):
    case_id: str
    status: str | None
    priority: str | None
    tenant: str | None
    channel: str | None
    level: int | None
    team: str | None
    sla_breached: bool | None
    started: datetime | None
    running: bool


def list_query(
    tenant: str | None = None,
    status: str | None = None,
    priority: str | None = None,
    breached: bool | None = None,
    team: str | None = None,
) -> str:
    """A visibility query over the case search attributes; values are quoted safely."""

    def quoted(value: str) -> str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"

    clauses = ["WorkflowType = 'CaseWorkflow'"]
    for key, value in (
        (visibility.TENANT, tenant),
        (visibility.CASE_STATUS, status),
        (visibility.CASE_PRIORITY, priority),
        (visibility.ASSIGNED_TEAM, team),
    ):
        if value is not None:
            clauses.append(f"{key.name} = {quoted(value)}")
    if breached is not None:
        clauses.append(f"{visibility.SLA_BREACHED.name} = {'true' if breached else 'false'}")
    return " AND ".join(clauses)


RUN_LIMIT_RETRIES = 20


def _between_runs(exc: RPCError) -> bool:
    """A refusal that the case's next run lifts: a run's signal limit, or a run closing."""
    return "limit" in exc.message or (
        exc.status is RPCStatusCode.RESOURCE_EXHAUSTED and "workflow is closing" in exc.message
    )


class CaseClosed(RuntimeError):
    """The case has ended; a new message belongs to a new case."""

    def __init__(self, case_id: str) -> None:
        super().__init__(f"case {case_id} is closed")
        self.case_id = case_id


class NoStore(RuntimeError):
    """The call needs the case record store and this client was built without one."""


def _sentiment(message: CustomerMessage) -> float | None:
    """The text's sentiment, for the SMS-to-chat trigger (texts only: the chat is for them)."""
    return compound(message.text) if message.channel is Channel.SMS else None


class CaseClient:
    def __init__(
        self, client: Client, task_queue: str = "escalations", store: CaseStore | None = None
    ) -> None:
        self.client = client
        self.task_queue = task_queue
        self.store = store

    @classmethod
    async def connect(cls, settings: Settings) -> "CaseClient":
        return cls(await connect(settings), settings.task_queue, CaseStore(settings.records_url))

    def _store(self) -> CaseStore:
        if self.store is None:
            raise NoStore("this CaseClient has no case record store (pass store=CaseStore(url))")
        return self.store

    async def _claim_check(self, case_id: str, text: str) -> tuple[str, BodyRef | None]:
        """A body over CLAIM_CHECK_BYTES goes to the store first; the case gets its reference."""
        if len(text.encode("utf-8")) <= CLAIM_CHECK_BYTES:
            return text, None
        ref = await asyncio.to_thread(self._store().put_body, case_id, text)
        return preview(text), ref

    def handle(self, case_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id(case_id))

    async def open_case(self, case: CaseInput) -> WorkflowHandle[CaseWorkflow, CaseView]:
        """Open a case; opening the same case_id again while it runs returns the running case."""
        if case.message_id is None:
            case = case.model_copy(update={"message_id": f"open-{uuid.uuid4().hex}"})
        if case.body is None:
            text, body = await self._claim_check(case.case_id, case.message)
            case = case.model_copy(update={"message": text, "body": body})
        if case.sentiment is None and case.channel is Channel.SMS:
            case = case.model_copy(update={"sentiment": compound(case.message)})
        return await self.client.start_workflow(
            CaseWorkflow.run,
            case.model_dump(mode="json", exclude_none=True),
            id=workflow_id(case.case_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=static_summary(case),
        )

    async def post_customer_message(
        self, case: CaseInput | str, message: CustomerMessage | InboundMessage
    ) -> bool:
        """Deliver a customer message; given a CaseInput, a case that does not exist is opened.

        Returns False, sending nothing, when the store already holds the message's provider
        id (a provider retry arriving after the case has forgotten it). A body over
        CLAIM_CHECK_BYTES is stored first and travels by reference. The message needs a
        provider_message_id (one is made up if missing) so that a signal-with-start for a
        new case does not record the opening message twice.
        """
        case_id = case if isinstance(case, str) else case.case_id
        if message.provider_message_id is None:
            message = message.model_copy(update={"provider_message_id": f"msg-{uuid.uuid4().hex}"})
        elif self.store is not None and await asyncio.to_thread(
            self.store.has_message, case_id, message.provider_message_id
        ):
            return False
        if isinstance(message, InboundMessage) or (message.body is None and message.text):
            text, body = await self._claim_check(case_id, message.text)
            message = CustomerMessage.model_validate(
                {**message.model_dump(exclude={"text", "body"}), "text": text, "body": body}
            )
        if isinstance(message, CustomerMessage) and message.sentiment is None:
            message = message.model_copy(update={"sentiment": _sentiment(message)})
        payload = message.model_dump(mode="json", exclude_none=True)
        if isinstance(case, str):
            try:
                await self._signal_through_run_limits(case, payload)
            except RPCError as exc:
                if exc.status is RPCStatusCode.NOT_FOUND:
                    raise CaseClosed(case) from exc
                raise
            return True
        start = case.model_copy(
            update={
                "message": message.text or case.message,
                "message_id": message.provider_message_id,
                "channel": message.channel,
                "body": message.body,
                "via": message.via or case.via,
                "sentiment": getattr(message, "sentiment", None),
            }
        )
        for attempt in range(2):
            try:
                await self.client.start_workflow(
                    CaseWorkflow.run,
                    start.model_dump(mode="json", exclude_none=True),
                    id=workflow_id(case.case_id),
                    task_queue=self.task_queue,
                    start_signal="customer_message",
                    start_signal_args=[payload],
                    static_summary=static_summary(start),
                    # A closed case's id is never reused for a new case (its record is in the
                    # store), only to reopen that case (the tenant's after_close = "reopen").
                    id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE
                    if case.reopens
                    else WorkflowIDReusePolicy.REJECT_DUPLICATE,
                )
                return True
            except WorkflowAlreadyStartedError as exc:
                if case.reopens is None:
                    raise CaseClosed(case.case_id) from exc
                if attempt == 0 and await self._still_closing(case.case_id):
                    continue  # the closed run has now finished: reopen it
                # reopened a moment ago by another message: this one joins it
                return await self.post_customer_message(case.case_id, message)
        raise CaseClosed(case.case_id)

    async def _still_closing(self, case_id: str, wait: float = 30.0) -> bool:
        """Whether the running case is the closed one finishing its last writes (then wait,
        up to `wait` seconds, until it has ended); False if it is open (reopened already)."""
        handle = self.handle(case_id)
        try:
            view = await handle.query("state", result_type=CaseView)
        except RPCError:
            return False
        if view.status is not CaseStatus.CLOSED:
            return False
        with contextlib.suppress(Exception):  # it ended (its result, or its failure)
            await asyncio.wait_for(handle.result(), timeout=wait)
        return True

    async def _signal_through_run_limits(self, case_id: str, payload: Mapping[str, Any]) -> None:
        """Signal a message; wait out the moment a busy case is continuing as new.

        Temporal refuses signals past its per-run limit, and any signal while a run is
        closing ("workflow is closing": its continue-as-new is being written). The case
        continues as new well before the limit, but a burst can reach the old run first. The
        new run takes them.
        """
        for attempt in range(RUN_LIMIT_RETRIES):
            try:
                await self.handle(case_id).signal("customer_message", payload)
                return
            except RPCError as exc:
                if not _between_runs(exc) or attempt == RUN_LIMIT_RETRIES - 1:
                    raise
                await asyncio.sleep(0.2 * (attempt + 1))

    async def signal(
        self, case_id: str, name: str, payload: Mapping[str, Any] | Command | None
    ) -> None:
        """Fire-and-forget; a payload the case cannot use is recorded in its timeline."""
        body = (
            payload.model_dump(mode="json", exclude_none=True)
            if isinstance(payload, BaseModel)
            else payload
        )
        await self.handle(case_id).signal(name, body)

    async def act(self, case_id: str, command: Command, update_id: str | None = None) -> CaseView:
        """Apply a command and wait for the verdict: the new state, or WorkflowUpdateFailedError.

        With `update_id`, a retry of the same action (after a timeout, a double click) is
        applied once: Temporal answers it with the first one's outcome."""
        name = NAMES[type(command)]
        payload = command.model_dump(mode="json", exclude_none=True)
        return await self.update(case_id, name, payload, update_id)

    async def update(
        self,
        case_id: str,
        name: str,
        payload: Mapping[str, Any] | None,
        update_id: str | None = None,
    ) -> CaseView:
        result: CaseView = await self.handle(case_id).execute_update(
            name, payload, id=update_id, result_type=CaseView
        )
        return result

    async def state(self, case_id: str) -> CaseView:
        result: CaseView = await self.handle(case_id).query("state", result_type=CaseView)
        return result

    async def recent_transcript(self, case_id: str) -> TranscriptWindow:
        """The case's own window: its latest messages and the total, live from the workflow."""
        result: TranscriptWindow = await self.handle(case_id).query(
            "transcript", result_type=TranscriptWindow
        )
        return result

    async def recent_timeline(self, case_id: str) -> TimelineWindow:
        result: TimelineWindow = await self.handle(case_id).query(
            "timeline", result_type=TimelineWindow
        )
        return result

    async def transcript(
        self,
        case_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        since: datetime | None = None,
        limit: int = 100,
        newest: bool = False,
    ) -> TranscriptPage:
        """A page of the complete transcript from the store (full bodies, in order)."""
        return await asyncio.to_thread(
            self._store().transcript,
            case_id,
            after=after,
            before=before,
            since=since,
            limit=limit,
            newest=newest,
        )

    async def timeline(
        self,
        case_id: str,
        *,
        after: int | None = None,
        before: int | None = None,
        since: datetime | None = None,
        limit: int = 100,
        newest: bool = False,
    ) -> TimelinePage:
        """A page of the complete audit timeline from the store."""
        return await asyncio.to_thread(
            self._store().timeline,
            case_id,
            after=after,
            before=before,
            since=since,
            limit=limit,
            newest=newest,
        )

    async def record_summary(self, case_id: str) -> CaseSnapshot | None:
        """The store's summary row (still there after the workflow's retention has passed)."""
        return await asyncio.to_thread(self._store().summary, case_id)

    async def erase_customer(self, tenant: str, customer_id: str) -> ErasureReport:
        """Redact one customer's messages in the store; counts and times stay for metrics."""
        return await asyncio.to_thread(
            self._store().erase_customer, tenant, customer_id, datetime.now(UTC)
        )

    async def list_cases(self, limit: int = 50, **filters: Any) -> list[CaseSummary]:
        found = []
        async for wf in self.client.list_workflows(list_query(**filters), limit=limit):
            sa = wf.typed_search_attributes
            found.append(
                CaseSummary(
                    case_id=wf.id.removeprefix("case-"),
                    status=sa.get(visibility.CASE_STATUS),
                    priority=sa.get(visibility.CASE_PRIORITY),
                    tenant=sa.get(visibility.TENANT),
                    channel=sa.get(visibility.CASE_CHANNEL),
                    level=sa.get(visibility.ESCALATION_LEVEL),
                    team=sa.get(visibility.ASSIGNED_TEAM),
                    sla_breached=sa.get(visibility.SLA_BREACHED),
                    started=wf.start_time,
                    running=wf.status is not None and wf.status.name == "RUNNING",
                )
            )
        return found
