"""Test doubles for the case's activities, and helpers to run a case on the test server."""

import asyncio
import contextlib
import tomllib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.digest import DigestActivities
from activities.journal import JournalActivities
from activities.tenants import TenantActivities
from domain.channels import Outcome, SendResult
from domain.effects import (
    AskBot,
    BotAnswer,
    NoticeFailure,
    NoticeResult,
    NoticeSent,
    Notify,
    ReplyToCustomer,
)
from domain.models import CaseInput, Channel
from domain.rca import RcaRecord
from domain.record import (
    JournalBatch,
    JournalResult,
    TimelineEvent,
    TimelineWindow,
    TranscriptEntry,
    TranscriptWindow,
)
from domain.tenant import TenantConfig, TenantPolicy, resolve
from domain.views import CaseView
from records.store import CaseStore
from tests.conftest import TENANTS_DIR
from workers.sandbox import workflow_runner
from workflows.case import CaseRun, CaseStart, CaseWorkflow
from workflows.digest import BreachDigestWorkflow
from workflows.rca import RcaWorkflow

T = TypeVar("T")


def tenant_variant(base: str, new_id: str, **changes: Any) -> TenantConfig:
    """A sample tenant with some fields replaced (dotted keys reach into tables)."""
    raw = tomllib.loads((TENANTS_DIR / f"{base}.toml").read_text())
    raw["id"] = new_id
    for dotted, value in changes.items():
        node = raw
        *path, last = dotted.split("__")
        for part in path:
            node = node.setdefault(part, {})
        node[last] = value
    return TenantConfig.model_validate(raw)


@dataclass
class Recorder:
    """Stands in for delivery: records what the case asked to send."""

    tenants: dict[str, TenantConfig]
    notices: list[Notify] = field(default_factory=list)
    replies: list[ReplyToCustomer] = field(default_factory=list)
    fail_customer: bool = False
    dead_channels: set[Channel] = field(default_factory=set)
    dead_staff_channels: set[Channel] = field(default_factory=set)  # refuse staff notices
    # Scripted answers per channel (deferred, refused), used up in order; then "sent".
    outcomes: dict[Channel, list[SendResult]] = field(default_factory=dict)
    held: list[ReplyToCustomer] = field(default_factory=list)
    # The journal's store: keyed by (case, seq) like the real one, so a retry changes nothing.
    messages: dict[tuple[str, int], TranscriptEntry] = field(default_factory=dict)
    events: dict[tuple[str, int], TimelineEvent] = field(default_factory=dict)
    batches: list[JournalBatch] = field(default_factory=list)
    store_down: bool = False
    faq_down: bool = False
    rcas: dict[str, RcaRecord] = field(default_factory=dict)
    rca_writes: list[RcaRecord] = field(default_factory=list)
    questions: list[str] = field(default_factory=list)
    refused_writes: int = 0

    @activity.defn(name="load_tenant_policy")
    async def load_tenant_policy(self, tenant: str) -> TenantPolicy:
        if tenant not in self.tenants:
            raise ApplicationError(
                f"unknown tenant {tenant!r}", type="UnknownTenant", non_retryable=True
            )
        return resolve(self.tenants[tenant], range(2025, 2029))

    @activity.defn(name="record_rca")
    async def record_rca(self, found: RcaRecord) -> None:
        self.rcas[found.rca_id] = found
        self.rca_writes.append(found)

    @activity.defn(name="answer_from_faq")
    async def answer_from_faq(self, asked: AskBot) -> BotAnswer:
        """The real FAQ retrieval over the tenants' FAQ files; `faq_down` fails it."""
        if self.faq_down:
            raise ApplicationError("FAQ index unavailable")
        self.questions.append(asked.question)
        return await TenantActivities(self.tenants).answer_from_faq(asked)

    @activity.defn(name="notify_escalation")
    async def notify_escalation(self, notice: Notify) -> NoticeResult:
        """Each recipient on their first channel not in `dead_staff_channels`, as the real
        activity walks a contact's channels."""
        self.notices.append(notice)
        result = NoticeResult()
        for index, contact in enumerate(notice.recipients):
            routes = contact.routes
            for hop, route in enumerate(routes):
                if route.channel not in self.dead_staff_channels:
                    result.delivered += 1
                    result.sent.append(
                        NoticeSent(
                            contact=index,
                            hop=hop,
                            provider="recorder",
                            provider_id=f"id-{notice.key}:{index}",
                        )
                    )
                    break
                then = routes[hop + 1].channel if hop + 1 < len(routes) else None
                result.failures.append(
                    NoticeFailure(
                        contact=contact.name,
                        channel=route.channel,
                        reason=f"{route.channel.value} refused",
                        then=then,
                    )
                )
        return result

    @activity.defn(name="send_customer_message")
    async def send_customer_message(self, message: ReplyToCustomer) -> SendResult:
        if self.fail_customer or message.channel in self.dead_channels:
            raise ApplicationError(
                "number is opted out", type="PermanentDeliveryError", non_retryable=True
            )
        scripted = self.outcomes.get(message.channel)
        if scripted:
            result = scripted.pop(0)
            if result.outcome is not Outcome.SENT:
                self.held.append(message)
                return result
        self.replies.append(message)
        return SendResult(
            outcome=Outcome.SENT, provider="recorder", provider_id=f"id-{message.key}"
        )

    @activity.defn(name="journal_case")
    async def journal_case(self, batch: JournalBatch) -> JournalResult:
        if self.store_down:
            self.refused_writes += 1
            raise ApplicationError("database is locked", type="StoreUnavailable")
        self.batches.append(batch)
        result = JournalResult()
        for m in batch.messages:
            if self.messages.setdefault((batch.case_id, m.seq), m) is m:
                result.messages_written += 1
        for e in batch.events:
            if self.events.setdefault((batch.case_id, e.seq), e) is e:
                result.events_written += 1
        return result

    def stored_messages(self, case_id: str) -> list[TranscriptEntry]:
        return [m for (c, _), m in sorted(self.messages.items()) if c == case_id]

    def stored_events(self, case_id: str) -> list[TimelineEvent]:
        return [e for (c, _), e in sorted(self.events.items()) if c == case_id]

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notices]

    async def delivered(self, check: Callable[["Recorder"], bool], timeout: float = 15) -> None:
        """Deliveries run after the state changes: wait until they show what `check` wants."""

        async def me() -> Recorder:
            return self

        await eventually(me, check, timeout)


STARTED: dict[str, list[WorkflowHandle[Any, Any]]] = {}
FIRST_RUN: dict[str, str] = {}


@asynccontextmanager
async def case_worker(
    client: Client, recorder: Recorder, store: CaseStore | None = None
) -> AsyncIterator[str]:
    """A worker on a fresh task queue; cases still running at the end are terminated,
    so their timers cannot hold up time skipping for the next test. With `store`, the
    real journal activity writes to it instead of the recorder's dictionary."""
    task_queue = f"cases-{uuid.uuid4()}"
    journals = JournalActivities(store) if store else None
    journal = journals.journal_case if journals else recorder.journal_case
    record_rca = journals.record_rca if journals else recorder.record_rca
    STARTED[task_queue] = []
    try:
        async with Worker(
            client,
            task_queue=task_queue,
            workflows=[CaseWorkflow, RcaWorkflow, BreachDigestWorkflow],
            workflow_runner=workflow_runner(),
            activities=[
                record_rca,
                recorder.load_tenant_policy,
                recorder.answer_from_faq,
                recorder.notify_escalation,
                recorder.send_customer_message,
                DigestActivities(client, task_queue, recorder.tenants).post_to_digest,
                journal,
            ],
        ):
            yield task_queue
    finally:
        for handle in STARTED.pop(task_queue):
            with contextlib.suppress(RPCError):  # already finished
                # by id only: the handle's own run may have continued as new
                await client.get_workflow_handle(handle.id).terminate("test finished")


def case_input(tenant: str = "northwind-telecom", **overrides: Any) -> CaseInput:
    data: dict[str, Any] = {
        "case_id": f"t-{uuid.uuid4().hex[:10]}",
        "tenant": tenant,
        "customer": {
            "id": "cust-1",
            "name": "Ada",
            "phone": "+12025550123",
            "email": "ada@example.com",
        },
        "channel": "sms",
        "category": "billing",
        "message": "My bill is higher than usual this month.",
    }
    data.update(overrides)
    return CaseInput.model_validate(data)


async def open_case(
    client: Client, task_queue: str, case: CaseInput, run: CaseRun | None = None
) -> WorkflowHandle[CaseWorkflow, CaseView]:
    start = CaseStart(**case.model_dump(), continued=run).model_dump(mode="json")
    started = await client.start_workflow(
        CaseWorkflow.run, start, id=f"case-{case.case_id}", task_queue=task_queue
    )
    STARTED.setdefault(task_queue, []).append(started)
    FIRST_RUN[started.id] = started.result_run_id or ""
    # By id only, so signals, queries and updates follow the case across continue-as-new.
    return client.get_workflow_handle_for(CaseWorkflow.run, started.id)


async def eventually(
    probe: Callable[[], Awaitable[T]], check: Callable[[T], bool], timeout: float = 15
) -> T:
    """Poll `probe` until `check` holds; fail with the last value after `timeout` seconds.

    A query that times out counts as "not yet": the time-skipping test server can hold a
    query for its whole deadline when it lands on a run that is just continuing as new.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    value: Any = None
    while True:
        try:
            value = await probe()
        except RPCError as exc:
            # the SDK reports its own rpc_timeout as CANCELLED "Timeout expired"
            if exc.status not in (RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.CANCELLED):
                raise
            value = exc
        else:
            if check(value):
                return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last value: {value!r}")
        await asyncio.sleep(0.05)


async def state(handle: WorkflowHandle[Any, Any]) -> CaseView:
    return await handle.query("state", result_type=CaseView, rpc_timeout=timedelta(seconds=2))


async def timeline(handle: WorkflowHandle[Any, Any]) -> list[TimelineEvent]:
    """The case's recent events (its window; the store has them all)."""
    window = await handle.query("timeline", result_type=TimelineWindow)
    return window.events


async def transcript(handle: WorkflowHandle[Any, Any]) -> list[TranscriptEntry]:
    window = await handle.query("transcript", result_type=TranscriptWindow)
    return window.entries


async def query_once_started(handle: WorkflowHandle[Any, Any], name: str = "state") -> Any:
    """A query's answer, or None while the workflow is not started yet (a child whose start
    trails the event that announced it)."""
    try:
        return await handle.query(name)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return None
        raise
