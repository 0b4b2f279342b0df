"""A case's SLA clocks: started, paused, resumed, re-targeted and ticked together.

`domain.sla` is one clock's arithmetic; this module applies the tenant's policy to
the case's clocks and turns warnings and breaches into escalations.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain import escalation, sla, staff
from domain import matrix as routing
from domain.calendar import BusinessCalendar
from domain.commands import SetPriority
from domain.durations import format_duration
from domain.effects import Effect
from domain.models import CaseStatus, EscalationType, Priority
from domain.sla import ClockEvent, ClockKind, SlaClock

if TYPE_CHECKING:
    from domain.case import CaseState

SYSTEM = "system"


def calendar(case: "CaseState", round_the_clock: bool | None = None) -> BusinessCalendar:
    always = case.round_the_clock if round_the_clock is None else round_the_clock
    return case.policy.round_the_clock_calendar if always else case.policy.business_calendar


def _calendar_of(case: "CaseState", clock: SlaClock) -> BusinessCalendar:
    return calendar(case, clock.round_the_clock)


def _share(case: "CaseState") -> float:
    return case.policy.config.sla.warning_share


def target(case: "CaseState", kind: ClockKind, priority: Priority | None = None) -> timedelta:
    targets = case.policy.config.sla.targets[priority or case.priority]
    value: timedelta = getattr(targets, kind.value)
    return value


def start(case: "CaseState", kind: ClockKind, now: datetime) -> None:
    """(Re)start a clock with the case's current target; paused if the case waits."""
    rtc = case.round_the_clock
    case.clocks[kind] = sla.start(
        kind, target(case, kind), now, calendar(case, rtc), _share(case), rtc
    )
    if case.status is CaseStatus.AWAITING_CUSTOMER:
        sla.pause(case.clocks[kind], now, calendar(case, rtc))


def pause_all(case: "CaseState", now: datetime) -> None:
    for clock in case.clocks.values():
        sla.pause(clock, now, _calendar_of(case, clock))


def resume_all(case: "CaseState", now: datetime) -> None:
    for clock in case.clocks.values():
        sla.resume(clock, now, _calendar_of(case, clock), _share(case))


def stop_all(case: "CaseState", now: datetime) -> None:
    for clock in case.clocks.values():
        sla.stop(clock, now, _calendar_of(case, clock))


def met_by_resolution(case: "CaseState", actor: str, now: datetime) -> None:
    """The case is resolved: its resolution clock, if it runs, is met (or met late), on
    record like a response clock (the reports count it)."""
    clock = case.clocks.get(ClockKind.RESOLUTION)
    if clock is not None and not clock.stopped:
        sla.stop(clock, now, _calendar_of(case, clock))
        case.log(
            now,
            "sla_met" if clock.met else "sla_met_late",
            actor,
            detail={"clock": ClockKind.RESOLUTION.value},
        )


def met_by_reply(case: "CaseState", actor: str, now: datetime) -> None:
    """An agent replied: the first/next response clocks that run are met (or met late)."""
    for kind in (ClockKind.FIRST_RESPONSE, ClockKind.NEXT_RESPONSE):
        clock = case.clocks.get(kind)
        if clock is not None and not clock.stopped:
            sla.stop(clock, now, _calendar_of(case, clock))
            case.log(
                now, "sla_met" if clock.met else "sla_met_late", actor, detail={"clock": kind.value}
            )


def next_due(case: "CaseState") -> datetime | None:
    due = [d for d in (sla.next_due(c) for c in case.clocks.values()) if d is not None]
    return min(due, default=None)


def tick(case: "CaseState", now: datetime) -> list[Effect]:
    """Warnings and breaches that have come due by `now`."""
    out: list[Effect] = []
    for clock in list(case.clocks.values()):
        for event in sla.tick(clock, now):
            if event is ClockEvent.WARNING:
                out += _warning(case, clock, now)
            else:
                out += _breach(case, clock, now)
    return out


def _warning(case: "CaseState", clock: SlaClock, now: datetime) -> list[Effect]:
    deadline = clock.deadline.isoformat(timespec="minutes") if clock.deadline else ""
    case.log(now, "sla_warning", SYSTEM, detail={"clock": clock.kind.value, "deadline": deadline})
    return staff.notify(
        case, "sla_warning", "sla_warning", now, clock=clock.kind.value, deadline=deadline
    )


def _breach(case: "CaseState", clock: SlaClock, now: datetime) -> list[Effect]:
    case.sla_breached = True
    deadline = clock.deadline.isoformat() if clock.deadline else ""
    case.log(now, "sla_breached", SYSTEM, detail={"clock": clock.kind.value, "deadline": deadline})
    reason = f"{clock.kind.value} SLA breached ({format_duration(clock.target)} target)"
    to_level = routing.next_level(case.level)
    if to_level is None:
        return staff.notify(case, "sla_breach", "notify_escalation", now, reason=reason)
    return escalation.escalate(case, now, EscalationType.TIME_BASED, SYSTEM, reason, to_level)


def set_priority(case: "CaseState", cmd: SetPriority, now: datetime) -> list[Effect]:
    """Keep the time each clock has used, apply the new targets from now; fast-track if it rose."""
    old_priority, old_rtc = case.priority, case.round_the_clock
    case.priority = cmd.priority
    new_rtc = case.round_the_clock
    for kind, clock in case.clocks.items():
        sla.retarget(
            clock,
            target(case, kind),
            new_rtc,
            now,
            calendar(case, old_rtc),
            calendar(case, new_rtc),
            _share(case),
        )
    case.log(
        now,
        "priority_changed",
        cmd.actor,
        reason=cmd.reason,
        detail={"from": old_priority.value, "to": cmd.priority.value},
    )
    if cmd.priority.rank < old_priority.rank:
        return escalation.fast_track(case, now, reason_prefix="priority raised to")
    return []
