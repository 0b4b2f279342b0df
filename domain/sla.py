"""SLA clocks: first response, next response and resolution, in business or round-the-clock time.

A clock remembers how much of its target it has consumed in earlier running
segments, so pausing, resuming and re-targeting never lose or invent time.
"""

from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from domain.calendar import BusinessCalendar


class ClockKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class ClockEvent(StrEnum):
    WARNING = "warning"
    BREACH = "breach"


class SlaClock(BaseModel):
    kind: ClockKind
    target: timedelta
    round_the_clock: bool
    started_at: datetime
    consumed: timedelta = timedelta(0)
    running_since: datetime | None = None
    deadline: datetime | None = None
    warn_at: datetime | None = None
    warned: bool = False
    breached: bool = False
    breached_at: datetime | None = None
    stopped_at: datetime | None = None
    met: bool | None = None

    @property
    def running(self) -> bool:
        return self.running_since is not None

    @property
    def paused(self) -> bool:
        return self.running_since is None and self.stopped_at is None

    @property
    def stopped(self) -> bool:
        return self.stopped_at is not None

    def remaining(self, now: datetime, calendar: BusinessCalendar) -> timedelta:
        used = self.consumed
        if self.running_since is not None:
            used += calendar.between(self.running_since, now)
        return max(self.target - used, timedelta(0))


def _schedule(clock: SlaClock, calendar: BusinessCalendar, warning_share: float) -> None:
    if clock.running_since is None:
        clock.deadline = clock.warn_at = None
        return
    clock.deadline = calendar.add(clock.running_since, clock.target - clock.consumed)
    warn_after = clock.target * warning_share - clock.consumed
    clock.warn_at = None if clock.warned else calendar.add(clock.running_since, warn_after)


def start(
    kind: ClockKind,
    target: timedelta,
    now: datetime,
    calendar: BusinessCalendar,
    warning_share: float,
    round_the_clock: bool,
) -> SlaClock:
    clock = SlaClock(
        kind=kind,
        target=target,
        round_the_clock=round_the_clock,
        started_at=now,
        running_since=now,
    )
    _schedule(clock, calendar, warning_share)
    return clock


def pause(clock: SlaClock, now: datetime, calendar: BusinessCalendar) -> None:
    if clock.running_since is None:
        return
    clock.consumed += calendar.between(clock.running_since, now)
    clock.running_since = None
    clock.deadline = clock.warn_at = None


def resume(
    clock: SlaClock, now: datetime, calendar: BusinessCalendar, warning_share: float
) -> None:
    if clock.running_since is not None or clock.stopped:
        return
    clock.running_since = now
    _schedule(clock, calendar, warning_share)


def retarget(
    clock: SlaClock,
    target: timedelta,
    round_the_clock: bool,
    now: datetime,
    old_calendar: BusinessCalendar,
    new_calendar: BusinessCalendar,
    warning_share: float,
) -> None:
    """A priority change: keep the time consumed so far, apply the new target from now on."""
    if clock.stopped:
        return
    was_running = clock.running_since is not None
    pause(clock, now, old_calendar)
    clock.target = target
    clock.round_the_clock = round_the_clock
    if clock.breached and clock.consumed < target:
        clock.breached, clock.breached_at = False, None  # a laxer target un-breaches
    if clock.warned and clock.consumed < target * warning_share:
        clock.warned = False
    if was_running:
        resume(clock, now, new_calendar, warning_share)


def stop(clock: SlaClock, now: datetime, calendar: BusinessCalendar) -> None:
    if clock.stopped:
        return
    pause(clock, now, calendar)
    clock.stopped_at = now
    clock.met = not clock.breached


def next_due(clock: SlaClock) -> datetime | None:
    if clock.running_since is None:
        return None
    due = [
        at
        for at, done in ((clock.warn_at, clock.warned), (clock.deadline, clock.breached))
        if at is not None and not done
    ]
    return min(due, default=None)


def tick(clock: SlaClock, now: datetime) -> list[ClockEvent]:
    """What has come due on this clock by `now`; marks it so it fires once."""
    if clock.running_since is None:
        return []
    events = []
    if not clock.warned and clock.warn_at is not None and now >= clock.warn_at:
        clock.warned = True
        events.append(ClockEvent.WARNING)
    if not clock.breached and clock.deadline is not None and now >= clock.deadline:
        clock.breached = True
        clock.breached_at = now
        clock.warned = True
        events.append(ClockEvent.BREACH)
    return events
