"""Business time: the tenant's opening hours in its own time zone, minus holidays.

Durations are counted in real elapsed seconds inside opening intervals, so a
shift that spans a DST change counts the hours that actually passed.
"""

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# An opening interval in minutes after local midnight, end exclusive; 1440 is midnight.
Shift = tuple[int, int]

# Further than any SLA target reaches; beyond it the calendar is misconfigured.
MAX_SEARCH_DAYS = 800


class NoBusinessHours(ValueError):
    """The calendar has no opening time within the search horizon."""


def _require_aware(at: datetime) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: business time needs an aware one")


@dataclass(frozen=True)
class BusinessCalendar:
    """Weekly shifts (Monday=0) in `tz`, closed on `holidays`; or open 24/7."""

    tz: str = "UTC"
    week: Mapping[int, Sequence[Shift]] = field(default_factory=dict)
    holidays: frozenset[date] = frozenset()
    always_open: bool = False

    @classmethod
    def twenty_four_seven(cls, tz: str = "UTC") -> "BusinessCalendar":
        return cls(tz=tz, always_open=True)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The opening intervals of one local day, as UTC datetimes."""
        if day in self.holidays:
            return []
        zone = self.zone
        midnight = datetime.combine(day, time())
        out = []
        for start_min, end_min in sorted(self.week.get(day.weekday(), ())):
            start = (midnight + timedelta(minutes=start_min)).replace(tzinfo=zone)
            end = (midnight + timedelta(minutes=end_min)).replace(tzinfo=zone)
            start_utc, end_utc = start.astimezone(UTC), end.astimezone(UTC)
            if end_utc > start_utc:  # a shift inside a spring-forward gap has no length
                out.append((start_utc, end_utc))
        return out

    def _intervals_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        first = at.astimezone(self.zone).date() - timedelta(days=1)
        for offset in range(MAX_SEARCH_DAYS + 1):
            yield from self.intervals_on(first + timedelta(days=offset))

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The instant when `duration` of business time has passed since `start`."""
        _require_aware(start)
        if duration <= timedelta(0):
            return start
        if self.always_open:
            return start + duration
        remaining = duration
        for open_at, close_at in self._intervals_from(start):
            if close_at <= start:
                continue
            begin = max(open_at, start)
            available = close_at - begin
            if remaining <= available:
                return begin + remaining
            remaining -= available
        raise NoBusinessHours(f"no business hours within {MAX_SEARCH_DAYS} days of {start}")

    def next_open(self, at: datetime) -> datetime:
        """`at` if the calendar is open then, else the start of its next opening."""
        _require_aware(at)
        if self.always_open:
            return at
        for open_at, close_at in self._intervals_from(at):
            if close_at > at:
                return max(open_at, at)
        raise NoBusinessHours(f"no business hours within {MAX_SEARCH_DAYS} days of {at}")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time that passes from `start` to `end` (zero if end is not later)."""
        _require_aware(start)
        _require_aware(end)
        if end <= start:
            return timedelta(0)
        if self.always_open:
            return end - start
        total = timedelta(0)
        first = start.astimezone(self.zone).date() - timedelta(days=1)
        last = end.astimezone(self.zone).date() + timedelta(days=1)
        day = first
        while day <= last:
            for open_at, close_at in self.intervals_on(day):
                lo, hi = max(open_at, start), min(close_at, end)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def is_open(self, at: datetime) -> bool:
        _require_aware(at)
        if self.always_open:
            return True
        day = at.astimezone(self.zone).date()
        return any(
            lo <= at < hi for d in (day - timedelta(days=1), day) for lo, hi in self.intervals_on(d)
        )
