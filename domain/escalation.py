"""Escalation: moving a case up the chain or to a team, and the acknowledgement ladder.

Every escalation names a new owner who must acknowledge in time; if they don't,
the case climbs again (at the top level the reminders back off instead).
"""

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from domain import effects, staff
from domain import matrix as routing
from domain.commands import Escalate, EscalationKind
from domain.durations import format_duration
from domain.effects import Effect
from domain.models import EscalationRecord, EscalationType, Level

if TYPE_CHECKING:
    from domain.case import CaseState

SYSTEM = "system"
# The case keeps its most recent escalations (and counts them all); the store has every one.
ESCALATIONS_KEPT = 20


class AckWait(BaseModel):
    """An escalation's new owner has not acknowledged yet."""

    level: Level
    since: datetime
    due: datetime
    reminders: int = 0
    number: int = Field(default=0, description="which escalation (the case's count then)")


def escalate(
    case: "CaseState",
    now: datetime,
    type_: EscalationType,
    actor: str,
    reason: str,
    to_level: Level | None = None,
    to_team: str | None = None,
) -> list[Effect]:
    """Move the case to a new owner, start the acknowledgement timer, notify them."""
    record = EscalationRecord(
        type=type_,
        from_level=case.level,
        to_level=to_level or case.level,
        from_team=case.team,
        to_team=to_team or case.team,
        reason=reason,
        actor=actor,
        at=now,
    )
    case.escalations.append(record)
    del case.escalations[:-ESCALATIONS_KEPT]
    case.escalation_count += 1
    case.level = record.to_level
    case.team = record.to_team or case.team
    case.assignee = None
    # The new owner's time to acknowledge starts when the first of them is at work to see it.
    owners = routing.contacts_for(case.matrix, case.level, case.team)
    due = staff.first_reachable(case, owners, now) + routing.ack_timeout(case.matrix, case.level)
    if type_ is EscalationType.TIME_BASED:  # its notice may wait for the team's digest
        due += staff.digest_wait(case)
    case.ack = AckWait(level=case.level, since=now, due=due, number=case.escalation_count)
    case.log(
        now,
        "escalated",
        actor,
        reason=reason,
        detail={
            "escalation_type": type_.value,
            "from_level": record.from_level.label,
            "to_level": record.to_level.label,
            "from_team": record.from_team,
            "to_team": record.to_team,
        },
    )
    breach = type_ is EscalationType.TIME_BASED
    return staff.notify(case, "escalation", "notify_escalation", now, breach=breach, reason=reason)


def on_request(case: "CaseState", cmd: Escalate, now: datetime) -> list[Effect]:
    """A person escalates: to a team, or up the chain (by default one level)."""
    if cmd.kind is EscalationKind.FUNCTIONAL:
        return escalate(
            case, now, EscalationType.FUNCTIONAL, cmd.actor, cmd.reason, to_team=cmd.to_team
        )
    to_level = cmd.to_level or routing.next_level(case.level)
    return escalate(case, now, EscalationType.HIERARCHICAL, cmd.actor, cmd.reason, to_level)


def customer_asked(case: "CaseState", now: datetime, reason: str, source: str) -> list[Effect]:
    """Honour the customer's request once: repeats while it is pending only reassure."""
    target = routing.next_level(case.level)
    if case.client_request_pending or target is None:
        case.log(
            now,
            "escalation_request_repeated",
            "customer",
            reason=reason,
            detail={"source": source, "level": case.level.label},
        )
        out: list[Effect] = [
            effects.reply(case, case.channel, effects.text(case, "escalation_ack_repeat"))
        ]
        if target is None and not case.client_request_pending:
            out += staff.notify(case, "escalation", "notify_escalation", now, reason=reason)
            case.client_request_pending = True
        return out
    out = escalate(case, now, EscalationType.CLIENT_INITIATED, "customer", reason, target)
    case.client_request_pending = True
    out.append(effects.reply(case, case.channel, effects.text(case, "escalation_ack")))
    return out


def fast_track(case: "CaseState", now: datetime, reason_prefix: str) -> list[Effect]:
    """P1 and VIP cases go straight to their floor level, whatever the queue."""
    matrix = case.matrix
    floor = routing.fast_track_floor(matrix, case.priority, case.customer.tier)
    if floor <= case.level:
        return []
    why = []
    if matrix.fast_track.priority.get(case.priority, Level.L1) == floor:
        why.append(case.priority.value)
    if matrix.fast_track.tier.get(case.customer.tier, Level.L1) == floor:
        why.append(f"{case.customer.tier.value} customer")
    reason = f"{reason_prefix} {' and '.join(why)}: fast-track to {floor.label}"
    return escalate(case, now, EscalationType.PRIORITY_BASED, SYSTEM, reason, floor)


def acknowledge(case: "CaseState", actor: str, now: datetime) -> None:
    assert case.ack is not None
    waited = now - case.ack.since
    case.log(
        now,
        "acknowledged",
        actor,
        detail={"level": case.ack.level.label, "waited_s": int(waited.total_seconds())},
    )
    case.ack = None
    case.client_request_pending = False
    if case.assignee is None:
        case.assignee = actor


def ack_timed_out(case: "CaseState", now: datetime) -> list[Effect]:
    """Nobody acknowledged in time: climb one level, or remind (backing off) at the top."""
    assert case.ack is not None
    waiting = case.ack
    timeout = routing.ack_timeout(case.matrix, waiting.level)
    target = routing.next_level(waiting.level)
    if target is not None:
        reason = f"no acknowledgement from {waiting.level.label} within {format_duration(timeout)}"
        return escalate(case, now, EscalationType.HIERARCHICAL, SYSTEM, reason, target)
    interval = routing.reminder_interval(case.matrix, waiting.level, waiting.reminders + 1)
    waiting.reminders += 1
    waiting.due = now + interval
    case.log(
        now,
        "ack_reminder",
        SYSTEM,
        detail={"level": waiting.level.label, "reminder": waiting.reminders},
    )
    return staff.notify(
        case, "ack_reminder", "ack_reminder", now, reason="awaiting acknowledgement"
    )
