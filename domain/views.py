"""How a case is shown: the `state` query, the Web UI's current details, the store's summary row.

Every view is bounded: counts and recent items, never the whole story.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from domain import conversation
from domain.durations import format_duration
from domain.escalation import AckWait
from domain.models import CaseStatus, Channel, EscalationRecord, Level, Priority
from domain.record import CaseSnapshot, TranscriptEntry
from domain.sla import ClockKind

if TYPE_CHECKING:
    from domain.case import CaseState


class ClockView(BaseModel):
    kind: ClockKind
    target: str
    deadline: datetime | None
    warn_at: datetime | None
    round_the_clock: bool
    paused: bool
    warned: bool
    breached: bool
    met: bool | None


class ChatView(BaseModel):
    """The SMS-to-chat handoff, once the chat was offered."""

    offered_at: datetime
    reasons: list[str]
    joined_at: datetime | None
    active: bool
    gives_up_at: datetime | None = None  # back to SMS then, unless the customer joins/writes
    handoff_errors: int = 0
    bot: str | None = Field(
        default=None, description="the tenant's FAQ bot: answering, handed_over, or None (off)"
    )


class CaseView(BaseModel):
    """What the `state` query and every update answer."""

    case_id: str
    tenant: str
    status: CaseStatus
    priority: Priority
    tier: str
    channel: Channel
    category: str | None
    level: Level
    team: str
    assignee: str | None
    opened_at: datetime
    first_response_at: datetime | None = None
    resolved_at: datetime | None
    closes_at: datetime | None
    sla_breached: bool
    awaiting_ack: AckWait | None
    clocks: list[ClockView]
    escalations: list[EscalationRecord]
    escalation_count: int = 0
    messages: int
    events: int = 0
    last_messages: list[TranscriptEntry] = []
    last_rejection: str | None
    chat: ChatView | None = None


LAST_MESSAGES = 5


def view(case: "CaseState") -> CaseView:
    return CaseView(
        case_id=case.case_id,
        tenant=case.tenant,
        status=case.status,
        priority=case.priority,
        tier=case.customer.tier.value,
        channel=case.channel,
        category=case.category,
        level=case.level,
        team=case.team,
        assignee=case.assignee,
        opened_at=case.opened_at,
        first_response_at=case.first_response_at,
        resolved_at=case.resolved_at,
        closes_at=case.closes_at,
        sla_breached=case.sla_breached,
        awaiting_ack=case.ack,
        clocks=[
            ClockView(
                kind=c.kind,
                target=format_duration(c.target),
                deadline=c.deadline,
                warn_at=c.warn_at,
                round_the_clock=c.round_the_clock,
                paused=c.paused,
                warned=c.warned,
                breached=c.breached,
                met=c.met,
            )
            for c in case.clocks.values()
        ],
        escalations=list(case.escalations),
        escalation_count=case.escalation_count,
        messages=case.record.held,
        events=case.record.events,
        last_messages=case.record.recent_messages[-LAST_MESSAGES:],
        chat=None
        if case.chat_offered_at is None
        else ChatView(
            offered_at=case.chat_offered_at,
            reasons=case.chat_offer_reasons,
            joined_at=case.chat_joined_at,
            active=case.chat_active,
            gives_up_at=conversation.chat_due(case),
            handoff_errors=case.handoff_errors,
            bot=None
            if not case.policy.config.chat_bot.enabled
            else ("handed_over" if case.bot_handed_over else "answering"),
        ),
        last_rejection=case.last_rejection,
    )


def snapshot(case: "CaseState", now: datetime) -> CaseSnapshot:
    """The store's summary row for the case as it stands."""
    return CaseSnapshot(
        case_id=case.case_id,
        tenant=case.tenant,
        customer_id=case.customer.id,
        channel=case.channel,
        status=case.status.value,
        priority=case.priority.value,
        level=int(case.level),
        team=case.team,
        assignee=case.assignee,
        sla_breached=case.sla_breached,
        opened_at=case.opened_at,
        first_response_at=case.first_response_at,
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        messages=case.record.messages,
        events=case.record.events,
        escalations=case.escalation_count,
        updated_at=now,
        chat_state=chat_state(case),
        csat_asked_at=case.csat_asked_at,
        csat_score=case.csat_score,
        nps_score=case.nps_score,
        review=case.csat_review,
    )


def chat_state(case: "CaseState") -> str | None:
    """Where the case stands with the web chat: None until it was offered."""
    if case.chat_offered_at is None:
        return None
    if case.chat_active:
        return "joined" if case.chat_joined_at is not None else "waiting"
    return "quiet" if case.chat_joined_at is not None else "not_joined"


def summary(case: "CaseState") -> str:
    """One paragraph for the Web UI's current details; no personal data."""
    level_title = case.policy.config.escalation.levels[case.level].title
    lines = [
        f"**{case.status.value.replace('_', ' ')}** · {case.priority.value} · "
        f"{case.level.label} ({level_title}) · team {case.team} · {case.channel.value}",
        f"assignee: {case.assignee or 'unassigned'} · escalations: {case.escalation_count} · "
        f"messages: {case.record.held} · "
        f"SLA breached: {'yes' if case.sla_breached else 'no'}",
    ]
    if case.ack is not None:
        lines.append(
            f"waiting for {case.ack.level.label} to acknowledge "
            f"(due {case.ack.due:%Y-%m-%d %H:%M} UTC)"
        )
    upcoming = sorted(
        (c.deadline, c.kind.value) for c in case.clocks.values() if c.deadline and not c.breached
    )
    if upcoming:
        lines.append(f"next SLA deadline: {upcoming[0][1]} at {upcoming[0][0]:%Y-%m-%d %H:%M} UTC")
    if case.last_rejection:
        lines.append(f"last rejected signal: {case.last_rejection}")
    return "\n\n".join(lines)
