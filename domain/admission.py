"""Whether a command fits the case as it stands: the reason it does not, or nothing.

Checked before a command changes anything, so an update is refused to its caller and
a signal is recorded as rejected, with the same words either way.
"""

from typing import TYPE_CHECKING

from domain.commands import (
    Acknowledge,
    Assign,
    AwaitCustomer,
    Command,
    CustomerMessage,
    DeliveryReport,
    Escalate,
    EscalationKind,
    Rate,
    Reopen,
    Resolve,
    SetPriority,
    SmsConsent,
)
from domain.models import CaseStatus, Level

if TYPE_CHECKING:
    from domain.case import CaseState


class Rejected(ValueError):
    """A command that does not fit the case as it stands; the case is unchanged."""


def check(case: "CaseState", command: Command) -> None:
    """Raise Rejected if `command` cannot apply now; changes nothing."""
    if case.closed and not isinstance(command, CustomerMessage | DeliveryReport | SmsConsent):
        raise Rejected("the case is closed")
    match command:
        case Escalate(kind=EscalationKind.HIERARCHICAL, to_level=to_level):
            if case.level is Level.L4:
                raise Rejected("the case is already at the top level (L4)")
            if to_level is not None and to_level <= case.level:
                raise Rejected(
                    f"to_level {to_level.label} is not above the current level {case.level.label}"
                )
        case Escalate(kind=EscalationKind.FUNCTIONAL, to_team=to_team):
            check_team(case, to_team)
            if to_team == case.team:
                raise Rejected(f"the case is already with team {to_team!r}")
        case Assign(team=team):
            if team is not None:
                check_team(case, team)
        case Acknowledge(level=level, escalation=escalation):
            if case.ack is None:
                raise Rejected("no escalation is waiting for acknowledgement")
            if level is not None and level != case.ack.level:
                raise Rejected(
                    f"the case has moved on: it waits for {case.ack.level.label} to "
                    f"acknowledge, not {level.label}"
                )
            if escalation is not None and escalation != case.ack.number:
                raise Rejected(
                    "the case has moved on: it was escalated again since (to team "
                    f"{case.team}); the new notice asks the new owner"
                )
        case SetPriority(priority=priority):
            if priority is case.priority:
                raise Rejected(f"the case is already {priority.value}")
        case AwaitCustomer():
            if case.status is not CaseStatus.OPEN:
                raise Rejected(
                    f"only an open case can wait on the customer (it is {case.status.value})"
                )
        case Resolve():
            if case.status is CaseStatus.RESOLVED:
                raise Rejected("the case is already resolved")
        case Rate():
            if case.status is not CaseStatus.RESOLVED:
                raise Rejected(
                    f"the case is {case.status.value.replace('_', ' ')}: a rating is for "
                    "a resolved case"
                )
        case Reopen():
            if case.status is not CaseStatus.RESOLVED:
                raise Rejected(f"only a resolved case can be reopened (it is {case.status.value})")
        case _:
            pass


def check_team(case: "CaseState", team: str | None) -> None:
    if team not in case.matrix.teams:
        known = ", ".join(sorted(case.matrix.teams))
        raise Rejected(f"unknown team {team!r}; known teams: {known}")
