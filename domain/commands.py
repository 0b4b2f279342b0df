"""Payloads of the case's signals and updates: one JSON object each."""

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from domain.models import Channel, LevelInput, Priority, Strict

Actor = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(min_length=1, max_length=20_000)]


class CustomerMessage(Strict):
    channel: Channel
    text: str = Field(default="", max_length=20_000)
    media_count: int = Field(default=0, ge=0, le=50)
    provider_message_id: str | None = Field(default=None, max_length=128)
    sent_at: datetime | None = None

    @model_validator(mode="after")
    def _has_content(self) -> "CustomerMessage":
        if not self.text and self.media_count == 0:
            raise ValueError("a customer message needs text or media")
        return self


class AgentMessage(Strict):
    agent: Actor
    text: Text
    channel: Channel | None = None


class RequestEscalation(Strict):
    reason: str | None = Field(default=None, max_length=1000)


class EscalationKind(StrEnum):
    HIERARCHICAL = "hierarchical"
    FUNCTIONAL = "functional"


class Escalate(Strict):
    actor: Actor
    kind: EscalationKind
    to_level: LevelInput | None = None
    to_team: str | None = Field(default=None, min_length=1, max_length=64)
    reason: str = Field(min_length=1, max_length=1000)

    @model_validator(mode="after")
    def _target_fits_kind(self) -> "Escalate":
        if self.kind is EscalationKind.FUNCTIONAL and not self.to_team:
            raise ValueError("a functional escalation needs to_team")
        if self.kind is EscalationKind.HIERARCHICAL and self.to_team:
            raise ValueError("a hierarchical escalation takes to_level, not to_team")
        if self.kind is EscalationKind.FUNCTIONAL and self.to_level:
            raise ValueError("a functional escalation takes to_team, not to_level")
        return self


class Assign(Strict):
    actor: Actor
    assignee: Actor
    team: str | None = Field(default=None, min_length=1, max_length=64)


class Acknowledge(Strict):
    actor: Actor


class SetPriority(Strict):
    actor: Actor
    priority: Priority
    reason: str | None = Field(default=None, max_length=1000)


class AwaitCustomer(Strict):
    actor: Actor


class Resolve(Strict):
    actor: Actor
    resolution: Text


class Reopen(Strict):
    actor: Actor
    reason: str = Field(min_length=1, max_length=1000)


class Close(Strict):
    actor: Actor


Command = (
    CustomerMessage
    | AgentMessage
    | RequestEscalation
    | Escalate
    | Assign
    | Acknowledge
    | SetPriority
    | AwaitCustomer
    | Resolve
    | Reopen
    | Close
)

# Signal/update name -> payload model. The names are the public contract.
COMMANDS: dict[str, type[Command]] = {
    "customer_message": CustomerMessage,
    "agent_message": AgentMessage,
    "request_escalation": RequestEscalation,
    "escalate": Escalate,
    "assign": Assign,
    "acknowledge": Acknowledge,
    "set_priority": SetPriority,
    "await_customer": AwaitCustomer,
    "resolve": Resolve,
    "reopen": Reopen,
    "close": Close,
}

CommandName = Literal[
    "customer_message",
    "agent_message",
    "request_escalation",
    "escalate",
    "assign",
    "acknowledge",
    "set_priority",
    "await_customer",
    "resolve",
    "reopen",
    "close",
]
