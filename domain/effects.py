"""What a case asks the world to do: notify staff, reply to the customer.

The case decides; activities carry these out. Each effect has a key derived from
the case (never random), so a retried delivery is recognised as the same one.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from domain import matrix as routing
from domain.models import Channel, Level, Priority
from domain.templates import render
from domain.tenant import Contact, RcaReason

if TYPE_CHECKING:
    from domain.case import CaseState

NoticeKind = Literal[
    "escalation",
    "ack_reminder",
    "sla_warning",
    "sla_breach",
    "callback",
    "chat_handover",
    "rca_opened",
    "rca_reminder",
    "rca_overdue",
    "csat_low",
    "breach_digest",
]
# Notices that ask their recipients to acknowledge (they carry a link and a reply code).
ACK_REQUESTS = frozenset({"escalation", "ack_reminder"})


class Notify(BaseModel):
    """Tell staff about the case (escalation, reminder, SLA warning or breach)."""

    type: Literal["notify"] = "notify"
    key: str
    kind: NoticeKind
    case_id: str
    tenant: str
    level: Level
    team: str | None
    recipients: list[Contact]
    text: str
    summary: str | None = Field(
        default=None, description="one paragraph on the case, no customer data (see brief())"
    )
    in_chat: bool = Field(default=False, description="the case is in the web chat now")
    ack_level: Level | None = Field(
        default=None, description="the level asked to acknowledge (a link and a reply code)"
    )
    ack_escalation: int | None = Field(
        default=None, description="which escalation asks (a team move keeps the level)"
    )
    digest: bool = Field(
        default=False, description="an SLA alert that may go out in its team's digest"
    )
    report: bool = Field(
        default=False,
        description="the caller reads the result (the refusals); else a notice nobody got fails",
    )
    items: list["Notify"] = Field(
        default_factory=list, description="a digest: the notices it gathers (case_id: the first)"
    )


class NoticeFailure(BaseModel):
    """A notice one recipient's channel refused for good, and the channel tried next."""

    contact: str
    channel: Channel
    reason: str = Field(max_length=300)
    then: Channel | None = Field(default=None, description="None: no channel was left")


class NoticeSent(BaseModel):
    """A recipient's notice a provider took (a bounce reported later names its id)."""

    contact: int = Field(description="the recipient's index in the notice")
    hop: int = Field(description="the index of the channel it went on in the contact's routes")
    provider: str
    provider_id: str


class NoticeResult(BaseModel):
    """What became of a notice: new deliveries, every channel that refused it, and what the
    providers took (SendGrid and Twilio; the outbox reports nothing later)."""

    delivered: int = 0
    failures: list[NoticeFailure] = Field(default_factory=list)
    sent: list[NoticeSent] = Field(default_factory=list)


class ReplyToCustomer(BaseModel):
    """Send the customer a message on their channel."""

    type: Literal["reply"] = "reply"
    key: str
    case_id: str
    tenant: str
    channel: Channel
    to: str | None
    text: str
    sender: str | None = Field(
        default=None, description="the tenant number or address the customer wrote to"
    )
    last_inbound_at: datetime | None = Field(
        default=None, description="the customer's last message on this channel (quiet hours)"
    )
    fallback_from: Channel | None = Field(
        default=None, description="set when this is a retry on another channel"
    )
    options: str | None = Field(
        default=None, description='appended to a text: "Reply YES for a call back"'
    )
    chat_link: bool = Field(
        default=False, description="`{chat_link}` in the text becomes the case's signed link"
    )
    rating_link: bool = Field(
        default=False, description="`{rating_link}` in the text becomes the signed rating page"
    )

    @property
    def body(self) -> str:
        """What the customer receives: the text and, on SMS, the options offered."""
        return f"{self.text}\n{self.options}" if self.options else self.text


class AskBot(BaseModel):
    """Ask the tenant's FAQ bot for an answer to what the customer wrote in the chat."""

    type: Literal["bot"] = "bot"
    key: str
    case_id: str
    tenant: str
    question: str = Field(max_length=1000)


class BotAnswer(BaseModel):
    """The FAQ entry that answers the question, or none."""

    answer: str | None = None
    matched: str | None = Field(default=None, description="the FAQ question it matched")
    score: float = 0.0
    coverage: float = 0.0


class RcaStart(BaseModel):
    """What the case hands its RCA: everything it needs, and no customer data."""

    rca_id: str
    case_id: str
    tenant: str
    brand: str
    priority: Priority
    team: str
    reasons: list[RcaReason]
    owner_level: Level
    owners: list[Contact]
    managers: list[Contact]
    opened_at: datetime
    due_at: datetime
    remind_at: list[datetime]
    overdue_every: timedelta
    categories: list[str]
    templates: dict[str, str]


class StartRca(BaseModel):
    """Open the case's root-cause follow-up: a child workflow that outlives the case."""

    type: Literal["rca"] = "rca"
    key: str
    start: RcaStart


Effect = Notify | ReplyToCustomer | AskBot | StartRca


def _key(case: "CaseState") -> str:
    case.effect_seq += 1
    return f"{case.case_id}:{case.origin[:12]}:{case.effect_seq}"


def _fields(case: "CaseState", extra: dict[str, str]) -> dict[str, object]:
    config = case.policy.config
    team = config.escalation.teams.get(case.team)
    return {
        "brand": config.name,
        "case_id": case.case_id,
        "level": case.level.label,
        "level_title": config.escalation.levels[case.level].title,
        "team": case.team,
        "team_title": team.title if team else case.team,
        "priority": case.priority.value,
        "customer_name": case.customer.name,
        **extra,
    }


def text(case: "CaseState", template: str, **extra: str) -> str:
    """The tenant's template `template`, filled in for this case."""
    return render(case.policy.config.template(template), _fields(case, extra))


def ask_bot(case: "CaseState", question: str) -> AskBot:
    return AskBot(
        key=_key(case), case_id=case.case_id, tenant=case.tenant, question=question[:1000]
    )


def brief(case: "CaseState") -> str:
    """Who, what, how long and the SLA state in one paragraph: no transcript, no phone
    number or email (the staff open the case for those)."""
    category = case.category or "uncategorised"
    parts = [
        f"A {case.customer.tier.value} customer's {category} case on {case.channel.value}, open since "
        f"{case.opened_at:%Y-%m-%d %H:%M} UTC, {case.record.messages} messages, "
        f"escalated {case.escalation_count} time{'s' if case.escalation_count != 1 else ''}."
    ]
    breached = sorted(c.kind.value for c in case.clocks.values() if c.breached)
    upcoming = sorted(
        (c.deadline, c.kind.value) for c in case.clocks.values() if c.deadline and not c.breached
    )
    if breached:
        parts.append(f"SLA breached: {', '.join(breached).replace('_', ' ')}.")
    if upcoming:
        at, kind = upcoming[0]
        parts.append(f"Next SLA deadline: {kind.replace('_', ' ')} at {at:%Y-%m-%d %H:%M} UTC.")
    if not breached and not upcoming:
        parts.append("No SLA clock running.")
    return " ".join(parts)


def notify(case: "CaseState", kind: NoticeKind, template: str, **extra: str) -> Notify:
    """Notify the contacts of the case's current level (and team) with a tenant template."""
    return Notify(
        key=_key(case),
        kind=kind,
        case_id=case.case_id,
        tenant=case.tenant,
        level=case.level,
        team=case.team,
        recipients=routing.contacts_for(case.matrix, case.level, case.team),
        text=text(case, template, **extra),
        summary=brief(case),
        in_chat=case.chat_active and case.chat_joined_at is not None,
        ack_level=case.ack.level if case.ack is not None and kind in ACK_REQUESTS else None,
        ack_escalation=case.ack.number if case.ack is not None and kind in ACK_REQUESTS else None,
    )


def reply(
    case: "CaseState", channel: Channel, message: str, options: bool = True
) -> ReplyToCustomer:
    """Send `message` to the customer's address on `channel`.

    The first text of a case offers the tenant's other options ("Reply YES for a call back").
    """
    to = {
        Channel.SMS: case.customer.phone,
        Channel.VOICE: case.customer.phone,
        Channel.EMAIL: case.customer.email,
        Channel.CHAT: case.customer.id,
    }[channel]
    offer = None
    if channel is Channel.SMS and options and not case.callback_offered:
        offer = case.policy.config.sms_options() or None
        case.callback_offered = offer is not None
    return ReplyToCustomer(
        key=_key(case),
        case_id=case.case_id,
        tenant=case.tenant,
        channel=channel,
        to=to,
        text=message,
        sender=case.sms_number if channel is Channel.SMS else None,
        last_inbound_at=case.last_inbound.get(channel),
        options=offer,
    )
