"""SLA clock properties: pausing never shortens a deadline; priority changes keep used time."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from domain import sla
from domain.calendar import BusinessCalendar
from domain.sla import ClockEvent, ClockKind

CAL = BusinessCalendar(tz="America/New_York", week={d: [(8 * 60, 20 * 60)] for d in range(6)})
T0 = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def test_warning_then_breach_fire_once_each():
    clock = sla.start(ClockKind.FIRST_RESPONSE, timedelta(hours=4), T0, CAL, 0.75, False)
    assert clock.warn_at == CAL.add(T0, timedelta(hours=3))
    assert sla.tick(clock, clock.warn_at) == [ClockEvent.WARNING]
    assert sla.tick(clock, clock.warn_at) == []
    assert sla.tick(clock, clock.deadline) == [ClockEvent.BREACH]
    assert sla.next_due(clock) is None


def test_pause_then_resume_keeps_the_time_left():
    clock = sla.start(ClockKind.RESOLUTION, timedelta(hours=4), T0, CAL, 0.75, False)
    sla.pause(clock, T0 + timedelta(hours=1), CAL)
    assert clock.paused and clock.deadline is None
    resumed_at = T0 + timedelta(days=2)
    sla.resume(clock, resumed_at, CAL, 0.75)
    assert clock.deadline == CAL.add(resumed_at, timedelta(hours=3))


def test_retarget_keeps_consumed_time_and_moves_to_round_the_clock():
    clock = sla.start(ClockKind.FIRST_RESPONSE, timedelta(hours=4), T0, CAL, 0.75, False)
    now = T0 + timedelta(minutes=10)
    sla.retarget(
        clock, timedelta(minutes=15), True, now, CAL, BusinessCalendar.twenty_four_seven(), 0.75
    )
    assert clock.deadline == now + timedelta(minutes=5)
    assert clock.round_the_clock


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10))


@settings(max_examples=200, deadline=None)
@given(
    instants,
    st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=5)),
    offsets,
    offsets,
)
def test_pausing_never_shortens_a_deadline(start, target, pause_after, paused_for):
    clock = sla.start(ClockKind.RESOLUTION, target, start, CAL, 0.75, False)
    original = clock.deadline
    assert original is not None and original >= start
    pause_at = start + pause_after
    if pause_at >= original:
        return
    sla.pause(clock, pause_at, CAL)
    sla.resume(clock, pause_at + paused_for, CAL, 0.75)
    assert clock.deadline is not None and clock.deadline >= original


@settings(max_examples=100, deadline=None)
@given(instants, st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=5)))
def test_a_deadline_is_never_before_the_clock_started(start, target):
    clock = sla.start(ClockKind.FIRST_RESPONSE, target, start, CAL, 0.75, False)
    assert clock.deadline >= start and clock.warn_at >= start and clock.warn_at <= clock.deadline
