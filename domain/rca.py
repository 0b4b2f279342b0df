"""Root-cause analysis follow-ups: which resolved cases get one, and the RCA's own life.

An escalated, SLA-breached or P1 case (per the tenant's `[rca] when`) opens an RCA when it
is resolved: owned by the matrix level `owner_level` (and the case's team), due `due_in`
of business time after resolution, with reminders `remind_before` the due date (business
time too, so none lands at night). Overdue, the owner's manager (the next level up) is told
at once, then every `overdue_every`, doubling, at most `MAX_OVERDUE_NOTICES` times. It is
completed with a cause category from the tenant's list, the corrective action and its
owner. Pure: the workflow (`workflows/rca.py`) runs it on durable timers.
"""

from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from domain import matrix as routing
from domain.commands import Actor
from domain.effects import Notify, RcaStart
from domain.models import Level, Priority, Strict
from domain.templates import render
from domain.tenant import Contact, RcaReason, TenantPolicy

if TYPE_CHECKING:
    from domain.case import CaseState

MAX_OVERDUE_NOTICES = 5


class RcaStatus(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    DONE = "done"


class RcaComplete(Strict):
    actor: Actor
    cause_category: str = Field(min_length=1, max_length=64)
    corrective_action: str = Field(min_length=1, max_length=2000)
    action_owner: Actor


class RcaState(BaseModel):
    start: RcaStart
    status: RcaStatus = RcaStatus.OPEN
    reminders_sent: int = 0
    overdue_notices: int = 0
    completed_at: datetime | None = None
    completed_by: str | None = None
    cause_category: str | None = None
    corrective_action: str | None = None
    action_owner: str | None = None
    last_rejection: str | None = None
    notice_seq: int = 0


class RcaRecord(BaseModel):
    """The RCA's row in the case record store (kept current; its outcome when done)."""

    rca_id: str
    case_id: str
    tenant: str
    team: str
    reasons: list[str]
    owner: str
    status: RcaStatus
    opened_at: datetime
    due_at: datetime
    overdue: bool
    completed_at: datetime | None
    completed_by: str | None
    cause_category: str | None
    corrective_action: str | None
    action_owner: str | None


class RcaRejected(ValueError):
    pass


# ----- the case side ---------------------------------------------------------------------
def reasons(case: "CaseState") -> list[RcaReason]:
    """Why this resolved case needs an RCA under its tenant's rules (none: it does not)."""
    config = case.policy.config.rca
    if not config.enabled:
        return []
    found = {
        RcaReason.ESCALATED: case.escalation_count > 0,
        RcaReason.BREACHED: case.sla_breached,
        RcaReason.P1: case.priority is Priority.P1,
    }
    return [reason for reason in config.when if found[reason]]


def plan(case: "CaseState", why: list[RcaReason], now: datetime, number: int) -> RcaStart:
    """The RCA for `case`, resolved at `now`: owners, due date and reminders."""
    policy: TenantPolicy = case.policy
    config = policy.config.rca
    matrix = policy.config.escalation
    calendar = policy.business_calendar
    owner_level = Level(config.owner_level)
    manager_level = Level(min(int(owner_level) + 1, max(int(lv) for lv in matrix.levels)))
    due = calendar.add(now, config.due_in)
    reminders = sorted(
        calendar.add(now, config.due_in - before)
        for before in config.remind_before
        if timedelta(0) < before < config.due_in
    )
    return RcaStart(
        rca_id=f"rca-{case.case_id}-{number}",
        case_id=case.case_id,
        tenant=case.tenant,
        brand=policy.config.name,
        priority=case.priority,
        team=case.team,
        reasons=why,
        owner_level=owner_level,
        owners=routing.contacts_for(matrix, owner_level, case.team),
        managers=list(matrix.levels[manager_level].contacts)
        if manager_level != owner_level
        else [],
        opened_at=now,
        due_at=due,
        remind_at=reminders,
        overdue_every=config.overdue_every,
        categories=list(config.categories),
        templates={
            key: policy.config.template(key)
            for key in ("notify_rca_opened", "notify_rca_reminder", "notify_rca_overdue")
        },
    )


# ----- the RCA's own life ----------------------------------------------------------------
def next_due(rca: RcaState) -> datetime | None:
    """When time alone changes the RCA next."""
    if rca.status is RcaStatus.DONE:
        return None
    start = rca.start
    if rca.reminders_sent < len(start.remind_at):
        return start.remind_at[rca.reminders_sent]
    if rca.overdue_notices == 0:
        return start.due_at
    if rca.overdue_notices >= MAX_OVERDUE_NOTICES:
        return None
    return start.due_at + sum(
        (start.overdue_every * 2**i for i in range(rca.overdue_notices)), timedelta(0)
    )


def opened(rca: RcaState) -> list[Notify]:
    return [_notice(rca, "notify_rca_opened", rca.start.owners)]


def tick(rca: RcaState, now: datetime) -> list[Notify]:
    """What is due at `now`: reminders to the owner, then overdue notices to the manager."""
    out: list[Notify] = []
    while (due := next_due(rca)) is not None and due <= now:
        start = rca.start
        if rca.reminders_sent < len(start.remind_at):
            rca.reminders_sent += 1
            if start.remind_at[rca.reminders_sent - 1] < start.due_at:
                out.append(_notice(rca, "notify_rca_reminder", start.owners))
            continue
        rca.status = RcaStatus.OVERDUE
        rca.overdue_notices += 1
        out.append(_notice(rca, "notify_rca_overdue", start.managers + start.owners))
    return out


def check(rca: RcaState, command: RcaComplete) -> None:
    if rca.status is RcaStatus.DONE:
        raise RcaRejected(f"the RCA was completed already, by {rca.completed_by}")
    if command.cause_category not in rca.start.categories:
        known = ", ".join(rca.start.categories)
        raise RcaRejected(f"unknown cause category {command.cause_category!r}; one of: {known}")


def complete(rca: RcaState, command: RcaComplete, now: datetime) -> None:
    check(rca, command)
    rca.status = RcaStatus.DONE
    rca.completed_at = now
    rca.completed_by = command.actor
    rca.cause_category = command.cause_category
    rca.corrective_action = command.corrective_action
    rca.action_owner = command.action_owner


def record(rca: RcaState) -> RcaRecord:
    start = rca.start
    return RcaRecord(
        rca_id=start.rca_id,
        case_id=start.case_id,
        tenant=start.tenant,
        team=start.team,
        reasons=[r.value for r in start.reasons],
        owner=", ".join(c.name for c in start.owners),
        status=rca.status,
        opened_at=start.opened_at,
        due_at=start.due_at,
        overdue=rca.overdue_notices > 0,
        completed_at=rca.completed_at,
        completed_by=rca.completed_by,
        cause_category=rca.cause_category,
        corrective_action=rca.corrective_action,
        action_owner=rca.action_owner,
    )


NoticeKind = Literal["rca_opened", "rca_reminder", "rca_overdue"]


def _notice(rca: RcaState, template: str, recipients: list[Contact]) -> Notify:
    start = rca.start
    rca.notice_seq += 1
    fields = {
        "brand": start.brand,
        "case_id": start.case_id,
        "rca_id": start.rca_id,
        "priority": start.priority.value,
        "reasons": ", ".join(r.value for r in start.reasons),
        "due": f"{start.due_at:%Y-%m-%d %H:%M} UTC",
        "owner": ", ".join(c.name for c in start.owners),
        "team": start.team,
        "level": start.owner_level.label,
    }
    kind: NoticeKind = template.removeprefix("notify_")  # type: ignore[assignment]
    unique = list({(c.name, c.channel, c.address): c for c in recipients}.values())
    return Notify(
        key=f"{start.rca_id}:{rca.notice_seq}",
        kind=kind,
        case_id=start.case_id,
        tenant=start.tenant,
        level=start.owner_level,
        team=start.team,
        recipients=unique,
        text=render(start.templates[template], fields),
    )
