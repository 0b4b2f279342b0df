"""The case's commands: one JSON object each, sent as a signal or as an update.

`COMMANDS` is the one table the workflow, the client and the CLI are built from:
adding a command is one model and one line there.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, model_validator

from domain.channels import DeliveryStatus
from domain.models import BodyRef, Channel, LevelInput, Priority, Strict
from domain.problems import problems
from domain.record import PREVIEW_CHARS

Actor = Annotated[str, Field(min_length=1, max_length=128)]
Text = Annotated[str, Field(min_length=1, max_length=20_000)]


class CustomerMessage(Strict):
    channel: Channel
    text: str = Field(default="", max_length=20_000)
    media_count: int = Field(default=0, ge=0, le=50)
    provider_message_id: str | None = Field(default=None, max_length=128)
    sent_at: datetime | None = None
    body: BodyRef | None = Field(
        default=None, description="claim check: the full body is in the store, `text` previews it"
    )
    via: str | None = Field(
        default=None,
        max_length=254,
        description="the tenant number or address the customer wrote to (replies go from it)",
    )
    sentiment: float | None = Field(
        default=None,
        ge=-1.0,
        le=1.0,
        description="VADER compound score of the text, set by the client (-1 negative to 1)",
    )

    @model_validator(mode="after")
    def _has_content(self) -> "CustomerMessage":
        if not self.text and self.media_count == 0:
            raise ValueError("a customer message needs text or media")
        if self.body is not None and len(self.text) > PREVIEW_CHARS:
            raise ValueError(
                f"with a body reference, text is its preview (at most {PREVIEW_CHARS} characters)"
            )
        return self


# What a backend service may hand the client API in one message; over CLAIM_CHECK_BYTES the
# client stores the body first and the case gets a reference (signals carry at most 20,000).
MAX_BODY_CHARS = 2_000_000


class InboundMessage(Strict):
    """A customer message as a backend service hands it to the client API (any length)."""

    channel: Channel
    text: str = Field(default="", max_length=MAX_BODY_CHARS)
    media_count: int = Field(default=0, ge=0, le=50)
    provider_message_id: str | None = Field(default=None, max_length=128)
    sent_at: datetime | None = None
    via: str | None = Field(default=None, max_length=254)


class AgentMessage(Strict):
    agent: Actor
    text: Text
    channel: Channel | None = None
    message_id: str | None = Field(
        default=None,
        max_length=128,
        description="the sender's id for this reply (the console sends one): a resend is ignored",
    )


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
    level: LevelInput | None = Field(
        default=None,
        description="only if the case waits for this level (a link or code in a notice sets it)",
    )
    escalation: int | None = Field(
        default=None, description="only if the case waits on this escalation (set by a notice)"
    )


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


class DeliveryReport(Strict):
    """A provider's report that a message to the customer did not arrive."""

    provider: str = Field(min_length=1, max_length=16)
    provider_id: str = Field(min_length=1, max_length=128)
    status: DeliveryStatus
    error_code: str | None = Field(default=None, max_length=32)


class SmsConsent(Strict):
    """The customer opted out of (or back into) texts from the tenant's number."""

    opted_out: bool
    keyword: str = Field(min_length=1, max_length=32)


class ChatJoined(Strict):
    """The customer opened the chat page from the link they were texted."""


class Rate(Strict):
    """The customer's rating from the email's link or the chat's widget (not a text reply)."""

    score: int = Field(ge=1, le=5, description="CSAT, 1 (poor) to 5 (great)")
    nps: int | None = Field(
        default=None, ge=0, le=10, description="how likely to recommend, 0 to 10 (optional)"
    )
    source: Literal["link", "chat"]


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
    | DeliveryReport
    | SmsConsent
    | ChatJoined
    | Rate
)


@dataclass(frozen=True)
class CommandSpec:
    """A command's public contract: its name, payload, what it does and a payload to paste."""

    name: str
    model: type[Command]
    does: str
    example: dict[str, Any]
    empty_payload_ok: bool = False

    @property
    def signal_description(self) -> str:
        return f"{self.does} JSON: {json.dumps(self.example)}"

    @property
    def update_description(self) -> str:
        return (
            f"{self.does} Answers with the case's new state, or refuses with the reason "
            f"(nothing changes). JSON: {json.dumps(self.example)}"
        )


_SPECS = [
    CommandSpec(
        "customer_message",
        CustomerMessage,
        "A customer message on any channel; a repeated provider_message_id is ignored.",
        {"channel": "sms", "text": "Still no refund", "provider_message_id": "SM123"},
    ),
    CommandSpec(
        "agent_message",
        AgentMessage,
        "An agent replies to the customer; meets the response SLA.",
        {"agent": "dana", "text": "I've refunded the charge", "channel": "sms"},
    ),
    CommandSpec(
        "request_escalation",
        RequestEscalation,
        "The customer asks for escalation (honoured once while it is pending).",
        {"reason": "wants a supervisor"},
        empty_payload_ok=True,
    ),
    CommandSpec(
        "escalate",
        Escalate,
        "Escalate up the chain (kind hierarchical, to_level optional) or to a team "
        "(kind functional, to_team).",
        {"actor": "sam", "kind": "hierarchical", "to_level": "L3", "reason": "legal threat"},
    ),
    CommandSpec(
        "assign",
        Assign,
        "Give the case an owner (and optionally a team).",
        {"actor": "sam", "assignee": "dana", "team": "billing"},
    ),
    CommandSpec(
        "acknowledge",
        Acknowledge,
        "The escalation's new owner takes the case; stops the acknowledgement ladder. With "
        "level (L2), only while the case waits for that level.",
        {"actor": "sam"},
    ),
    CommandSpec(
        "set_priority",
        SetPriority,
        "Change priority; recomputes every SLA deadline, fast-tracks if it rose.",
        {"actor": "sam", "priority": "P1", "reason": "area outage"},
    ),
    CommandSpec(
        "await_customer",
        AwaitCustomer,
        "Pause the SLA clocks until the customer replies.",
        {"actor": "dana"},
    ),
    CommandSpec(
        "resolve",
        Resolve,
        "Resolve the case; it closes by itself after the tenant's auto_close_after.",
        {"actor": "dana", "resolution": "refund issued"},
    ),
    CommandSpec(
        "reopen",
        Reopen,
        "Reopen a resolved case with a new resolution clock.",
        {"actor": "dana", "reason": "fix did not hold"},
    ),
    CommandSpec(
        "close", Close, "Close the case for good; the workflow completes.", {"actor": "sam"}
    ),
    CommandSpec(
        "delivery_report",
        DeliveryReport,
        "A provider reports a customer message failed (the ingress sends this); the case "
        "tries the customer's other channel.",
        {
            "provider": "twilio",
            "provider_id": "SM123",
            "status": "undelivered",
            "error_code": "30003",
        },
    ),
    CommandSpec(
        "sms_consent",
        SmsConsent,
        "The customer opted out of texts (STOP) or back in (START); the ingress sends this.",
        {"opted_out": True, "keyword": "STOP"},
    ),
    CommandSpec(
        "rate",
        Rate,
        "The customer rated the help from the email's link or the chat's widget (the ingress "
        "sends this); only while the case waits for a rating.",
        {"score": 4, "nps": 9, "source": "link"},
    ),
    CommandSpec(
        "chat_joined",
        ChatJoined,
        "The customer opened the web chat from their link; the ingress sends this.",
        {},
        empty_payload_ok=True,
    ),
]

COMMANDS: dict[str, CommandSpec] = {spec.name: spec for spec in _SPECS}
NAMES: dict[type[Command], str] = {spec.model: spec.name for spec in _SPECS}


def parse_command(name: str, payload: Any) -> Command:
    """The payload as its command model; raises ValueError with a readable reason."""
    spec = COMMANDS.get(name)
    if spec is None:
        raise ValueError(f"unknown command {name!r}; one of: {', '.join(COMMANDS)}")
    if payload is None and spec.empty_payload_ok:
        payload = {}
    if payload is None:
        raise ValueError(f"missing payload: send one JSON object for {name!r}")
    if not isinstance(payload, dict):
        raise ValueError(f"expected one JSON object for {name!r}, got {type(payload).__name__}")
    try:
        return spec.model.model_validate(payload)
    except ValidationError as exc:
        raise ValueError("; ".join(problems(exc))) from None
