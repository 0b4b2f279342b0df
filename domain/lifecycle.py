"""A case's life: opened (or reopened after it closed), resolved, reopened, closed.

Each step sets the status and its times, starts or stops the SLA clocks and records
itself in the timeline; what it asks for next (a first reply, an RCA, a CSAT question)
comes back as effects.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from domain import clocks, conversation, csat, escalation, rca, staff
from domain.commands import CustomerMessage, Resolve
from domain.effects import Effect, StartRca
from domain.models import CaseInput, CaseStatus, Reopening
from domain.record import CaseRecord
from domain.sla import ClockKind

if TYPE_CHECKING:
    from domain.case import CaseState

SYSTEM = "system"


def opened(case: "CaseState", start: CaseInput, now: datetime) -> list[Effect]:
    """A new case (or a new run of a closed one) takes its first message."""
    if start.reopens is not None:
        _carry_over(case, start.reopens)
    case.log(
        now,
        "opened",
        SYSTEM,
        detail={
            "priority": case.priority.value,
            "channel": start.channel.value,
            "team": case.team,
            "tier": start.customer.tier.value,
        },
    )
    if start.reopens is not None:
        case.log(
            now,
            "reopened",
            "customer",
            reason="the customer wrote after the case closed",
            detail={
                "closed_at": start.reopens.closed_at.isoformat(),
                "level": start.reopens.level.label,
            },
        )
    # A case reopened after its first answer waits for the next one, not a first one.
    answered = start.reopens is not None and start.reopens.first_response_at is not None
    response = ClockKind.NEXT_RESPONSE if answered else ClockKind.FIRST_RESPONSE
    for kind in (response, ClockKind.RESOLUTION):
        clocks.start(case, kind, now)
    effects = escalation.fast_track(case, now, reason_prefix="opened as")
    first = CustomerMessage(
        channel=start.channel,
        text=start.message,
        provider_message_id=start.message_id,
        body=start.body,
        via=start.via,
        sentiment=start.sentiment,
    )
    return effects + conversation.customer_wrote(case, first, now, opening=True)


def _carry_over(case: "CaseState", was: Reopening) -> None:
    """This run reopens a closed case: its owner, level and team as they were, its record
    continuing from its last entries (the store has those)."""
    case.level = was.level
    if was.team in case.matrix.teams:
        case.team = was.team
    case.priority = was.priority
    case.assignee = was.assignee
    case.escalation_count = was.escalations
    case.first_response_at = was.first_response_at
    case.record = CaseRecord(messages=was.messages, events=was.events)


def resolve(case: "CaseState", command: Resolve, now: datetime) -> list[Effect]:
    case.status = CaseStatus.RESOLVED
    case.resolved_at = now
    case.verify_asked_at = None
    case.resolution = command.resolution
    if case.resolution_met_on:
        clocks.met_by_resolution(case, command.actor, now)
    clocks.stop_all(case, now)
    case.ack = None
    case.client_request_pending = False
    case.log(now, "resolved", command.actor, reason=command.resolution)
    return _root_cause(case, now) + csat.ask(case, now)


def _root_cause(case: "CaseState", now: datetime) -> list[Effect]:
    """An escalated, breached or P1 case opens an RCA follow-up when it is resolved."""
    why = rca.reasons(case) if case.rca_on else []
    if not why:
        return []
    case.rcas_opened += 1
    start = rca.plan(case, why, now, case.rcas_opened)
    case.log(
        now,
        "rca_opened",
        SYSTEM,
        reason=", ".join(r.value for r in why),
        detail={"rca": start.rca_id, "due": start.due_at.isoformat()},
    )
    return [StartRca(key=f"{case.case_id}:{start.rca_id}", start=start)]


def reopen(case: "CaseState", actor: str, reason: str, now: datetime) -> list[Effect]:
    case.status = CaseStatus.OPEN
    case.resolved_at = None
    clocks.start(case, ClockKind.RESOLUTION, now)
    case.log(now, "reopened", actor, reason=reason)
    return []


def close(case: "CaseState", actor: str, now: datetime, reason: str | None) -> list[Effect]:
    staff.drop_all(case, now, "the case closed before their shift started")
    clocks.stop_all(case, now)
    case.status = CaseStatus.CLOSED
    case.closed_at = now
    case.ack = None
    case.log(now, "closed", actor, reason=reason)
    return []
