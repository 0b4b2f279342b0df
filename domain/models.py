"""The case vocabulary shared by workflows, activities and starters."""

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Annotated

import phonenumbers
from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, EmailStr, Field


class Channel(StrEnum):
    SMS = "sms"
    CHAT = "chat"
    EMAIL = "email"
    VOICE = "voice"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"

    @property
    def rank(self) -> int:
        """1 is the most urgent."""
        return int(self.value[1])


class Tier(StrEnum):
    STANDARD = "standard"
    VIP = "vip"


class Level(IntEnum):
    L1 = 1  # agent
    L2 = 2  # supervisor
    L3 = 3  # manager
    L4 = 4  # executive / client liaison

    @property
    def label(self) -> str:
        return f"L{self.value}"


class CaseStatus(StrEnum):
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class EscalationType(StrEnum):
    HIERARCHICAL = "hierarchical"
    FUNCTIONAL = "functional"
    TIME_BASED = "time_based"
    PRIORITY_BASED = "priority_based"
    CLIENT_INITIATED = "client_initiated"


def _level(value: object) -> object:
    if isinstance(value, str) and len(value.strip()) == 2 and value.strip()[0] in "Ll":
        return value.strip()[1:]
    return value


# Accepts 3, "3" or "L3" from people and config files.
LevelInput = Annotated[Level, BeforeValidator(_level)]


def _e164(value: str) -> str:
    try:
        parsed = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number in E.164 form (+<country><number>): {exc}") from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValueError("not a valid phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


E164Phone = Annotated[str, AfterValidator(_e164)]


class Strict(BaseModel):
    """Inputs from outside: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Customer(Strict):
    id: str = Field(min_length=1, max_length=128)
    name: str | None = None
    phone: E164Phone | None = None
    email: EmailStr | None = None
    tier: Tier = Tier.STANDARD


class BodyRef(Strict):
    """A message body kept in the case record store (claim check); payloads carry only this."""

    ref: str = Field(min_length=1, max_length=200, description="the store's key for the body")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    bytes: int = Field(gt=0)


class Reopening(Strict):
    """A closed case the customer wrote to again, reopened with what it had (the tenant's
    `after_close.message = "reopen"`): its level, team, priority, owner and record so far."""

    closed_at: datetime
    level: LevelInput
    team: str
    priority: Priority
    assignee: str | None = None
    escalations: int = Field(ge=0)
    messages: int = Field(ge=0, description="the record's last message seq")
    events: int = Field(ge=0, description="the record's last event seq")
    first_response_at: datetime | None = Field(
        default=None, description="the case's first answer (its first-response time stays)"
    )


class CaseInput(Strict):
    """What a backend service gives to open a case."""

    case_id: str = Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")
    tenant: str = Field(min_length=1, max_length=64)
    customer: Customer
    channel: Channel
    category: str | None = None
    priority: Priority | None = None
    subject: str | None = Field(default=None, max_length=500)
    message: str = Field(
        min_length=1, max_length=20_000, description="the first message (its preview with `body`)"
    )
    message_id: str | None = Field(
        default=None, description="provider id of the first message, so a retried open is deduped"
    )
    body: BodyRef | None = Field(
        default=None, description="claim check: the first message's full body is in the store"
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
        description="VADER compound score of the first message, set by the client",
    )
    reopens: Reopening | None = Field(
        default=None, description="set when this run reopens the closed case of the same id"
    )


class Author(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"
    BOT = "bot"  # the tenant's first-line chat bot


class EscalationRecord(BaseModel):
    type: EscalationType
    from_level: Level
    to_level: Level
    from_team: str | None
    to_team: str | None
    reason: str
    actor: str
    at: datetime


class Config(BaseModel):
    """A section of a tenant file: unknown keys refused, never changed once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)
