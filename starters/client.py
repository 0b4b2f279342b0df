"""The typed async client API that backend services use to open and steer cases."""

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy

from domain.case import CaseView
from domain.commands import COMMANDS, Command, CommandName, CustomerMessage
from domain.models import CaseInput, TimelineEvent, TranscriptEntry
from service.settings import Settings
from workers.worker import connect
from workflows import visibility
from workflows.case import CaseWorkflow

_NAMES: dict[type[BaseModel], CommandName] = {model: name for name, model in COMMANDS.items()}  # type: ignore[misc]


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


class CaseClient:
    def __init__(self, client: Client, task_queue: str = "escalations") -> None:
        self.client = client
        self.task_queue = task_queue

    @classmethod
    async def connect(cls, settings: Settings) -> "CaseClient":
        return cls(await connect(settings), settings.task_queue)

    def handle(self, case_id: str) -> WorkflowHandle[Any, Any]:
        return self.client.get_workflow_handle(workflow_id(case_id))

    async def open_case(self, case: CaseInput) -> WorkflowHandle[CaseWorkflow, CaseView]:
        """Open a case; opening the same case_id again while it runs returns the running case."""
        if case.message_id is None:
            case = case.model_copy(update={"message_id": f"open-{uuid.uuid4().hex}"})
        return await self.client.start_workflow(
            CaseWorkflow.run,
            case.model_dump(mode="json", exclude_none=True),
            id=workflow_id(case.case_id),
            task_queue=self.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            static_summary=static_summary(case),
        )

    async def post_customer_message(self, case: CaseInput | str, message: CustomerMessage) -> None:
        """Deliver a customer message; given a CaseInput, a case that does not exist is opened.

        The message needs a provider_message_id (one is made up if missing) so that a
        signal-with-start for a new case does not record the opening message twice.
        """
        if message.provider_message_id is None:
            message = message.model_copy(update={"provider_message_id": f"msg-{uuid.uuid4().hex}"})
        payload = message.model_dump(mode="json", exclude_none=True)
        if isinstance(case, str):
            await self.handle(case).signal("customer_message", payload)
            return
        start = case.model_copy(
            update={
                "message": message.text or case.message,
                "message_id": message.provider_message_id,
                "channel": message.channel,
            }
        )
        await self.client.start_workflow(
            CaseWorkflow.run,
            start.model_dump(mode="json", exclude_none=True),
            id=workflow_id(case.case_id),
            task_queue=self.task_queue,
            start_signal="customer_message",
            start_signal_args=[payload],
            static_summary=static_summary(start),
        )

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

    async def act(self, case_id: str, command: Command) -> CaseView:
        """Apply a command and wait for the verdict: the new state, or WorkflowUpdateFailedError."""
        name = _NAMES[type(command)]
        return await self.update(case_id, name, command.model_dump(mode="json", exclude_none=True))

    async def update(self, case_id: str, name: str, payload: Mapping[str, Any] | None) -> CaseView:
        result: CaseView = await self.handle(case_id).execute_update(
            name, payload, result_type=CaseView
        )
        return result

    async def state(self, case_id: str) -> CaseView:
        result: CaseView = await self.handle(case_id).query("state", result_type=CaseView)
        return result

    async def transcript(self, case_id: str) -> list[TranscriptEntry]:
        result: list[TranscriptEntry] = await self.handle(case_id).query(
            "transcript", result_type=list[TranscriptEntry]
        )
        return result

    async def timeline(self, case_id: str) -> list[TimelineEvent]:
        result: list[TimelineEvent] = await self.handle(case_id).query(
            "timeline", result_type=list[TimelineEvent]
        )
        return result

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
