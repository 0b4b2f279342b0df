"""Business time: weekends, split shifts, holidays, DST, and properties that must always hold."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import BusinessCalendar

NY = ZoneInfo("America/New_York")
LONDON = ZoneInfo("Europe/London")
WEEKDAYS_9_17 = {d: [(9 * 60, 17 * 60)] for d in range(5)}
NY_CAL = BusinessCalendar(
    tz="America/New_York", week=WEEKDAYS_9_17, holidays=frozenset({date(2026, 11, 26)})
)  # Thanksgiving
SPLIT = BusinessCalendar(
    tz="Europe/London",
    week={
        5: [(9 * 60, 12 * 60), (13 * 60, 16 * 60)],
        **{d: [(9 * 60, 17 * 60 + 30)] for d in range(5)},
    },
)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY)


def test_a_deadline_skips_the_weekend():
    friday_4pm = ny(2026, 11, 20, 16, 0)
    assert NY_CAL.add(friday_4pm, timedelta(hours=4)) == ny(2026, 11, 23, 12, 0)


def test_a_deadline_skips_a_public_holiday():
    wednesday_3pm = ny(2026, 11, 25, 15, 0)
    # 2h left on Wednesday, Thursday is Thanksgiving, 2h more on Friday.
    assert NY_CAL.add(wednesday_3pm, timedelta(hours=4)) == ny(2026, 11, 27, 11, 0)


def test_time_opened_outside_hours_starts_at_the_next_opening():
    saturday = ny(2026, 11, 21, 10, 0)
    assert NY_CAL.add(saturday, timedelta(minutes=30)) == ny(2026, 11, 23, 9, 30)


def test_split_shift_lunch_break_does_not_count():
    saturday_11 = datetime(2026, 11, 21, 11, 0, tzinfo=LONDON)
    assert SPLIT.add(saturday_11, timedelta(hours=2)) == datetime(
        2026, 11, 21, 14, 0, tzinfo=LONDON
    )


def test_dst_change_inside_a_shift_counts_real_hours():
    # 2026-03-08 is the US spring-forward day; a 24/7 local calendar from midnight to 06:00
    # holds only 5 real hours that night.
    night = BusinessCalendar(tz="America/New_York", week={6: [(0, 6 * 60)]})
    start = ny(2026, 3, 8, 0, 0)
    assert night.between(start, ny(2026, 3, 8, 6, 0)) == timedelta(hours=5)
    assert night.add(start, timedelta(hours=5)) == ny(2026, 3, 8, 6, 0)


def test_business_hours_across_the_autumn_dst_change_keep_local_opening_times():
    # Europe/London falls back on 2026-10-25 (Sunday): Monday still opens at 09:00 local.
    friday_5pm = datetime(2026, 10, 23, 17, 0, tzinfo=LONDON)
    due = SPLIT.add(friday_5pm, timedelta(hours=7))  # 30m Fri, 6h Sat (split), 30m Mon
    assert due == datetime(2026, 10, 26, 9, 30, tzinfo=LONDON)
    assert due.astimezone(UTC).hour == 9  # GMT again


def test_round_the_clock_ignores_hours():
    cal = BusinessCalendar.twenty_four_seven()
    start = ny(2026, 11, 21, 23, 0)
    assert cal.add(start, timedelta(hours=24)) == start + timedelta(hours=24)


instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=20))
calendars = st.sampled_from([NY_CAL, SPLIT, BusinessCalendar.twenty_four_seven("Asia/Kolkata")])


@settings(max_examples=200, deadline=None)
@given(calendars, instants, durations)
def test_deadline_is_never_before_the_start_and_consumes_exactly_the_duration(cal, start, duration):
    due = cal.add(start, duration)
    assert due >= start
    assert cal.between(start, due) == duration


@settings(max_examples=200, deadline=None)
@given(calendars, instants, durations, durations)
def test_adding_in_two_steps_equals_adding_once(cal, start, first, second):
    assert cal.add(cal.add(start, first), second) == cal.add(start, first + second) or (
        # the only slack: both land on a closing instant vs the next opening instant
        cal.between(cal.add(cal.add(start, first), second), cal.add(start, first + second))
        == timedelta(0)
    )
