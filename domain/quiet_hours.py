"""When a proactive SMS may go: quiet hours in the recipient's local time, and state caps.

US rules (TCPA, and the Florida and Oklahoma mini-TCPAs): no proactive message outside
08:00-21:00 where the recipient is; for Florida and Oklahoma numbers 08:00-20:00 and at
most 3 proactive messages per rolling 24 hours. A reply inside a conversation the
customer started is not proactive: no window, no cap.

The recipient's zone comes from the number, the only thing we know about where they are.
A number that spans several zones gets the strictest reading: it is open only while it
is open in all of them. A number tied to no place (toll-free, VoIP, unknown) gets the
tenant's zone, and so do zones that share no sending hours.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as number_zones

from domain.privacy import mask_phone

DAY = timedelta(hours=24)
# Zones that share no sending time in the next 8 days are treated as sharing none; the
# fallback zone decides then (a DST change can close a narrow overlap for weeks).
SEARCH_DAYS = 8
UNKNOWN_ZONE = "Etc/Unknown"

# The geocoder names a US number "Florida" or "Miami, FL"; the suffix is a postal code.
US_STATES = {
    "AL": "Alabama",
    "AK": "Alaska",
    "AZ": "Arizona",
    "AR": "Arkansas",
    "CA": "California",
    "CO": "Colorado",
    "CT": "Connecticut",
    "DE": "Delaware",
    "DC": "Washington D.C.",
    "FL": "Florida",
    "GA": "Georgia",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IL": "Illinois",
    "IN": "Indiana",
    "IA": "Iowa",
    "KS": "Kansas",
    "KY": "Kentucky",
    "LA": "Louisiana",
    "ME": "Maine",
    "MD": "Maryland",
    "MA": "Massachusetts",
    "MI": "Michigan",
    "MN": "Minnesota",
    "MS": "Mississippi",
    "MO": "Missouri",
    "MT": "Montana",
    "NE": "Nebraska",
    "NV": "Nevada",
    "NH": "New Hampshire",
    "NJ": "New Jersey",
    "NM": "New Mexico",
    "NY": "New York",
    "NC": "North Carolina",
    "ND": "North Dakota",
    "OH": "Ohio",
    "OK": "Oklahoma",
    "OR": "Oregon",
    "PA": "Pennsylvania",
    "RI": "Rhode Island",
    "SC": "South Carolina",
    "SD": "South Dakota",
    "TN": "Tennessee",
    "TX": "Texas",
    "UT": "Utah",
    "VT": "Vermont",
    "VA": "Virginia",
    "WA": "Washington",
    "WV": "West Virginia",
    "WI": "Wisconsin",
    "WY": "Wyoming",
}

Interval = tuple[datetime, datetime]  # UTC, end exclusive

# Numbers tied to a place (a mobile at least to its country). A toll-free, premium,
# VoIP or personal number is reachable from anywhere: the library answers every zone
# of its country code (for +1, Guam to Newfoundland), which says nothing about its owner.
_PLACED_TYPES = frozenset(
    {
        phonenumbers.PhoneNumberType.FIXED_LINE,
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    }
)


@dataclass(frozen=True)
class QuietHoursRules:
    """Local sending hours, and the stricter hours and daily cap of some regions."""

    start: time = time(8)
    end: time = time(21)
    strict_end: time = time(20)
    strict_daily_cap: int = 3
    strict_regions: frozenset[str] = frozenset({"Florida", "Oklahoma"})

    def __post_init__(self) -> None:
        if any(t.tzinfo is not None for t in (self.start, self.end, self.strict_end)):
            raise ValueError("sending hours are local wall-clock times, without a tzinfo")
        if not (self.start < self.end and self.start < self.strict_end):
            raise ValueError("sending hours must open before they close, within one day")
        if self.strict_daily_cap < 1:
            raise ValueError("a daily cap below 1 would forbid every proactive message")

    def closing(self, region: str | None) -> time:
        """When sending hours end for a number in `region`."""
        return self.strict_end if region in self.strict_regions else self.end


@dataclass(frozen=True)
class Recipient:
    """Where a number's owner may be: its zones, and its strict-rules region if it has one."""

    zones: tuple[str, ...]
    region: str | None  # e.g. "Florida", only when that region's strict rules apply
    fallback: bool = False  # the number names no zone, so the tenant's zone stands in


@dataclass(frozen=True)
class SendDecision:
    """Whether a message may go now, and if not, the earliest instant it may."""

    allowed: bool
    not_before: datetime | None  # UTC, set exactly when not allowed
    reason: str  # for people reading logs and the UI; never contains the phone number


def _require_aware(at: datetime, what: str) -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime for {what} ({at.isoformat()}): it must be aware")


def _known_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _region(number: phonenumbers.PhoneNumber, rules: QuietHoursRules) -> str | None:
    description = geocoder.description_for_number(number, "en")
    place = description.rpartition(", ")[2]
    if phonenumbers.region_code_for_number(number) == "US":
        place = US_STATES.get(place, place)
    return place if place in rules.strict_regions else None


def recipient(
    phone_e164: str, fallback_zone: str, rules: QuietHoursRules = QuietHoursRules()
) -> Recipient:
    """The zones and strict-rules region of a number; `fallback_zone` when it names no zone."""
    if not _known_zone(fallback_zone):
        raise ValueError(f"unknown fallback time zone {fallback_zone!r}")
    try:
        number = phonenumbers.parse(phone_e164)
    except phonenumbers.NumberParseException as error:
        raise ValueError(f"not an E.164 phone number: {mask_phone(phone_e164)}") from error
    region = _region(number, rules)
    zones: tuple[str, ...] = ()
    if phonenumbers.number_type(number) in _PLACED_TYPES:
        zones = tuple(
            z
            for z in number_zones.time_zones_for_number(number)
            if z != UNKNOWN_ZONE and _known_zone(z)
        )
    if not zones:
        return Recipient((fallback_zone,), region, fallback=True)
    return Recipient(zones, region)


def is_proactive(
    last_inbound_at: datetime | None, now: datetime, conversation_window: timedelta
) -> bool:
    """True unless the customer wrote within `conversation_window` before `now`.

    An inbound time slightly after `now` (provider clock skew) still counts as the
    customer having written: a message they sent is never unsolicited.
    """
    _require_aware(now, "now")
    if conversation_window < timedelta(0):
        raise ValueError("a conversation window cannot be negative")
    if last_inbound_at is None:
        return True
    _require_aware(last_inbound_at, "last_inbound_at")
    return now - last_inbound_at > conversation_window


def _instant(day: date, at: time, zone: ZoneInfo, *, latest: bool) -> datetime:
    # A wall time in a DST gap or overlap maps to two instants; taking the later one for
    # an opening and the earlier one for a closing keeps the window on the safe side.
    candidates = [
        datetime.combine(day, at, tzinfo=zone).replace(fold=fold).astimezone(UTC) for fold in (0, 1)
    ]
    return max(candidates) if latest else min(candidates)


def _windows(zone_name: str, start: time, end: time, since: datetime) -> list[Interval]:
    zone = ZoneInfo(zone_name)
    first = since.astimezone(zone).date()
    out = []
    for offset in range(SEARCH_DAYS + 1):
        day = first + timedelta(days=offset)
        opens = _instant(day, start, zone, latest=True)
        closes = _instant(day, end, zone, latest=False)
        if closes > max(opens, since):
            out.append((max(opens, since), closes))
    return out


def _intersect(a: Sequence[Interval], b: Sequence[Interval]) -> list[Interval]:
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        lo, hi = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if lo < hi:
            out.append((lo, hi))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def _opening(zones: Iterable[str], start: time, end: time, since: datetime) -> datetime | None:
    """The earliest instant from `since` that is inside sending hours in every zone."""
    common: list[Interval] | None = None
    for zone in zones:
        windows = _windows(zone, start, end, since)
        common = windows if common is None else _intersect(common, windows)
    return common[0][0] if common else None


def _is_open(zone: str, start: time, end: time, at: datetime) -> bool:
    return _opening([zone], start, end, at) == at


def _names(zones: Sequence[str]) -> str:
    return ", ".join(zones) if len(zones) <= 4 else f"{len(zones)} zones"


def _opens(opening: datetime, zones: Sequence[str], closed: Sequence[str], start: time) -> str:
    """When sending hours open: "08:00", or "08:00 America/Adak time" when clocks differ."""
    clocks = {z: f"{opening.astimezone(ZoneInfo(z)):%H:%M}" for z in zones}
    # The zone that opens last holds the others back; name the opening in its time.
    binding = [z for z in zones if clocks[z] == f"{start:%H:%M}"] or list(closed[:1])
    first = binding[0]
    if first in closed and len({clocks[z] for z in closed}) == 1:
        return clocks[first]
    return f"{clocks[first]} {first} time"


def when_to_send(
    phone_e164: str,
    now: datetime,
    *,
    proactive: bool,
    recent_proactive: Sequence[datetime],
    fallback_zone: str,
    rules: QuietHoursRules = QuietHoursRules(),
) -> SendDecision:
    """Whether an SMS to `phone_e164` may go at `now`, or the earliest instant it may.

    `recent_proactive` are the proactive messages already sent to the number, of any age;
    those of the last 24 hours count towards a strict region's cap.
    """
    _require_aware(now, "now")
    for sent in recent_proactive:
        _require_aware(sent, "recent_proactive")
    if not proactive:
        return SendDecision(
            True, None, "reply in a conversation the customer started: no quiet hours apply"
        )

    who = recipient(phone_e164, fallback_zone, rules)
    start, end = rules.start, rules.closing(who.region)
    strict = f", {who.region} rules" if who.region else ""
    notes = []
    if who.fallback:
        notes.append(f"the number tells no local time zone; using {fallback_zone}")

    earliest = now
    if who.region is not None:
        counted = sorted(t for t in recent_proactive if t > now - DAY)
        cap = rules.strict_daily_cap
        if len(counted) >= cap:
            # The count drops below the cap once all but cap-1 of them are 24 h old.
            earliest = max(now, counted[len(counted) - cap] + DAY)
            home = who.zones[0]
            notes.append(
                f"{who.region} cap of {cap} proactive messages per 24 h reached; "
                f"one frees at {earliest.astimezone(ZoneInfo(home)):%H:%M} {home} time"
            )

    zones = who.zones
    opening = _opening(zones, start, end, earliest)
    if opening is None:
        notes.append(
            f"the number's {len(zones)} zones share no sending hours; using {fallback_zone}"
        )
        zones = (fallback_zone,)
        opening = _opening(zones, start, end, earliest)
        assert opening is not None  # one zone is open every day

    if opening == now:
        notes.append(f"sending hours ({start:%H:%M}-{end:%H:%M}{strict}) in {_names(zones)}")
        return SendDecision(True, None, "; ".join(notes))
    closed = [z for z in zones if not _is_open(z, start, end, earliest)]
    if closed:
        quiet = f"{end:%H:%M}-{start:%H:%M}{strict}"
        opens = _opens(opening, zones, closed, start)
        notes.append(f"quiet hours in {_names(closed)} ({quiet}); opens {opens}")
    return SendDecision(False, opening.astimezone(UTC), "; ".join(notes))
