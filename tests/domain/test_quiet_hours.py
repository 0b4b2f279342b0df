"""Quiet hours: the recipient's zones and state, windows across zones and DST, the daily cap."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.quiet_hours import (
    QuietHoursRules,
    Recipient,
    SendDecision,
    is_proactive,
    recipient,
    when_to_send,
)

NY_TZ = ZoneInfo("America/New_York")
CHICAGO_TZ = ZoneInfo("America/Chicago")
LONDON_TZ = ZoneInfo("Europe/London")
ANCHORAGE_TZ = ZoneInfo("America/Anchorage")

NEW_YORK = "+12125550123"
CHICAGO = "+13125550123"
SAN_FRANCISCO = "+14155550123"
HONOLULU = "+18085550123"
MIAMI = "+13055550123"  # the geocoder says "Florida"
TAMPA = "+18132345678"  # the geocoder says "Tampa, FL"
PENSACOLA = "+18502345678"  # Florida, but the panhandle keeps Central time
TULSA = "+19182345678"  # "Tulsa, OK"
ALASKA = "+19075550123"  # America/Adak and America/Anchorage
UK_MOBILE = "+447400123456"
AU_MOBILE = "+61412345678"  # eight zones, Cocos Islands to Lord Howe Island
TOLL_FREE = "+18005550123"
INVALID = "+15555550123"  # 555 is not an area code

FL_AREA_CODES = ["239", "305", "321", "352", "386", "407", "561", "727", "754", "772", "786"]
FL_AREA_CODES += ["813", "850", "863", "904", "941", "954"]
OK_AREA_CODES = ["405", "539", "580", "918"]
RULES = QuietHoursRules()


def at(zone: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=zone)


def decide(
    phone: str,
    now: datetime,
    *,
    proactive: bool = True,
    recent: list[datetime] | None = None,
    fallback_zone: str = "America/New_York",
    rules: QuietHoursRules = RULES,
) -> SendDecision:
    return when_to_send(
        phone,
        now,
        proactive=proactive,
        recent_proactive=recent or [],
        fallback_zone=fallback_zone,
        rules=rules,
    )


# --- who the recipient is ---------------------------------------------------------------


@pytest.mark.parametrize("area", FL_AREA_CODES)
@pytest.mark.parametrize("line", ["5550123", "2345678"])
def test_every_florida_area_code_gets_florida_rules(area: str, line: str):
    assert recipient(f"+1{area}{line}", "UTC").region == "Florida"


@pytest.mark.parametrize("area", OK_AREA_CODES)
@pytest.mark.parametrize("line", ["5550123", "2345678"])
def test_every_oklahoma_area_code_gets_oklahoma_rules(area: str, line: str):
    assert recipient(f"+1{area}{line}", "UTC") == Recipient(("America/Chicago",), "Oklahoma")


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        (NEW_YORK, Recipient(("America/New_York",), None)),
        (CHICAGO, Recipient(("America/Chicago",), None)),
        (SAN_FRANCISCO, Recipient(("America/Los_Angeles",), None)),
        ("+12025550123", Recipient(("America/New_York",), None)),  # Washington D.C.
        (MIAMI, Recipient(("America/New_York",), "Florida")),
        (TAMPA, Recipient(("America/New_York",), "Florida")),
        (PENSACOLA, Recipient(("America/Chicago",), "Florida")),
        (TULSA, Recipient(("America/Chicago",), "Oklahoma")),
        (ALASKA, Recipient(("America/Adak", "America/Anchorage"), None)),
        ("+442071234567", Recipient(("Europe/London",), None)),
        ("+33612345678", Recipient(("Europe/Paris",), None)),
    ],
)
def test_zones_and_region_from_the_number(phone: str, expected: Recipient):
    assert recipient(phone, "Asia/Tokyo") == expected


def test_a_uk_mobile_uses_london_time():
    # The library names the Crown Dependencies too; they all keep London's clock.
    zones = recipient(UK_MOBILE, "America/New_York").zones
    assert "Europe/London" in zones
    assert all(ZoneInfo(z).utcoffset(datetime(2026, 7, 1)) == timedelta(hours=1) for z in zones)


@pytest.mark.parametrize("phone", [TOLL_FREE, INVALID, "+18885550199"])
def test_a_number_without_a_place_uses_the_tenants_zone(phone: str):
    assert recipient(phone, "America/Denver") == Recipient(("America/Denver",), None, fallback=True)


def test_strict_regions_are_configurable():
    rules = QuietHoursRules(strict_regions=frozenset({"New York"}))
    assert recipient(NEW_YORK, "UTC", rules).region == "New York"
    assert recipient(MIAMI, "UTC", rules).region is None


def test_bad_input_is_refused_without_echoing_the_number():
    with pytest.raises(ValueError, match=r"E\.164") as error:
        recipient("2125550123", "UTC")  # no country code
    assert "2125550123" not in str(error.value)
    with pytest.raises(ValueError, match="Mars/Olympus"):
        recipient(NEW_YORK, "Mars/Olympus")
    with pytest.raises(ValueError, match="naive"):
        decide(NEW_YORK, datetime(2026, 5, 4, 12))
    with pytest.raises(ValueError, match="naive"):
        decide(MIAMI, at(NY_TZ, 2026, 5, 4, 12), recent=[datetime(2026, 5, 4, 9)])


def test_rules_must_describe_a_real_window():
    with pytest.raises(ValueError):
        QuietHoursRules(start=time(21), end=time(8))
    with pytest.raises(ValueError):
        QuietHoursRules(strict_end=time(7))
    with pytest.raises(ValueError):
        QuietHoursRules(strict_daily_cap=0)


# --- proactive or not -------------------------------------------------------------------


def test_a_reply_inside_the_conversation_window_is_not_proactive():
    now = at(NY_TZ, 2026, 5, 4, 23, 0)
    window = timedelta(minutes=30)
    assert is_proactive(None, now, window)
    assert not is_proactive(now - timedelta(minutes=10), now, window)
    assert not is_proactive(now - window, now, window)
    assert is_proactive(now - window - timedelta(seconds=1), now, window)
    assert not is_proactive(now + timedelta(seconds=5), now, window)  # clock skew
    with pytest.raises(ValueError, match="naive"):
        is_proactive(datetime(2026, 5, 4, 22), now, window)


def test_a_reply_at_23_00_is_allowed_even_in_florida():
    decision = decide(MIAMI, at(NY_TZ, 2026, 5, 4, 23, 0), proactive=False)
    assert decision.allowed
    assert decision.not_before is None


# --- worked examples --------------------------------------------------------------------


def test_a_new_york_number_at_21_30_waits_for_08_00():
    decision = decide(NEW_YORK, at(NY_TZ, 2026, 5, 4, 21, 30))
    assert decision == SendDecision(
        False,
        at(NY_TZ, 2026, 5, 5, 8, 0).astimezone(UTC),
        "quiet hours in America/New_York (21:00-08:00); opens 08:00",
    )
    assert decision.not_before is not None
    assert decision.not_before.tzinfo is UTC


def test_a_chicago_number_at_20_30_may_go():
    decision = decide(CHICAGO, at(CHICAGO_TZ, 2026, 5, 4, 20, 30))
    assert decision == SendDecision(True, None, "sending hours (08:00-21:00) in America/Chicago")


def test_a_florida_number_at_20_30_waits():
    decision = decide(MIAMI, at(NY_TZ, 2026, 5, 4, 20, 30))
    assert not decision.allowed
    assert decision.not_before == at(NY_TZ, 2026, 5, 5, 8, 0)
    assert decision.reason == (
        "quiet hours in America/New_York (20:00-08:00, Florida rules); opens 08:00"
    )
    assert decide(MIAMI, at(NY_TZ, 2026, 5, 4, 19, 59)).allowed


def test_an_oklahoma_number_at_20_30_waits():
    decision = decide(TULSA, at(CHICAGO_TZ, 2026, 5, 4, 20, 30))
    assert not decision.allowed
    assert decision.not_before == at(CHICAGO_TZ, 2026, 5, 5, 8, 0)
    assert "Oklahoma rules" in decision.reason


def test_the_florida_panhandle_follows_central_time():
    # 19:30 in Pensacola is 20:30 in Miami: still open there.
    assert decide(PENSACOLA, at(CHICAGO_TZ, 2026, 5, 4, 19, 30)).allowed
    assert not decide(PENSACOLA, at(CHICAGO_TZ, 2026, 5, 4, 20, 0)).allowed


def test_the_window_is_in_the_recipients_zone_not_the_tenants():
    # 07:30 in San Francisco is 10:30 for a New York tenant.
    decision = decide(SAN_FRANCISCO, at(NY_TZ, 2026, 5, 4, 10, 30))
    assert decision.not_before == at(ZoneInfo("America/Los_Angeles"), 2026, 5, 4, 8, 0)
    # Hawaii keeps no DST: 13:30 in New York is 07:30 in Honolulu in May.
    assert decide(HONOLULU, at(NY_TZ, 2026, 5, 4, 13, 30)).not_before == at(NY_TZ, 2026, 5, 4, 14)
    assert decide(HONOLULU, at(NY_TZ, 2026, 5, 4, 14, 30)).allowed


def test_a_uk_mobile_follows_london_hours():
    decision = decide(UK_MOBILE, at(LONDON_TZ, 2026, 5, 4, 21, 30))
    assert decision.not_before == at(LONDON_TZ, 2026, 5, 5, 8, 0)
    assert "Europe/London" in decision.reason
    assert decide(UK_MOBILE, at(LONDON_TZ, 2026, 5, 4, 12, 0)).allowed


def test_a_number_in_two_zones_waits_until_both_are_open():
    # At 08:30 in Anchorage it is 07:30 on Adak: the Aleutians are still asleep.
    decision = decide(ALASKA, at(ANCHORAGE_TZ, 2026, 5, 4, 8, 30))
    assert decision.not_before == at(ZoneInfo("America/Adak"), 2026, 5, 4, 8, 0)
    assert decision.reason == "quiet hours in America/Adak (21:00-08:00); opens 08:00"
    assert decide(ALASKA, at(ANCHORAGE_TZ, 2026, 5, 4, 20, 30)).allowed
    # At 21:30 in Anchorage it is 20:30 on Adak: Anchorage is the one closed, Adak the
    # one that opens last in the morning.
    late = decide(ALASKA, at(ANCHORAGE_TZ, 2026, 5, 4, 21, 30))
    assert late.not_before == at(ANCHORAGE_TZ, 2026, 5, 5, 9, 0)
    assert late.reason == (
        "quiet hours in America/Anchorage (21:00-08:00); opens 08:00 America/Adak time"
    )
    night = decide(ALASKA, at(ANCHORAGE_TZ, 2026, 5, 5, 6, 30))
    assert night.reason == (
        "quiet hours in America/Adak, America/Anchorage (21:00-08:00); "
        "opens 08:00 America/Adak time"
    )


def test_a_toll_free_number_uses_the_tenants_zone_and_says_so():
    decision = decide(TOLL_FREE, at(NY_TZ, 2026, 5, 4, 22, 30), fallback_zone="America/Chicago")
    assert decision.not_before == at(CHICAGO_TZ, 2026, 5, 5, 8, 0)
    assert decision.reason == (
        "the number tells no local time zone; using America/Chicago; "
        "quiet hours in America/Chicago (21:00-08:00); opens 08:00"
    )


def test_zones_with_no_common_window_fall_back_to_the_tenants_zone():
    # Adak runs an hour behind Anchorage: a one-hour window never overlaps.
    narrow = QuietHoursRules(start=time(8), end=time(9), strict_end=time(9))
    decision = decide(
        ALASKA, at(ANCHORAGE_TZ, 2026, 5, 4, 8, 30), fallback_zone="America/Anchorage", rules=narrow
    )
    assert decision.allowed
    assert decision.reason.startswith(
        "the number's 2 zones share no sending hours; using America/Anchorage"
    )


def test_an_australian_mobile_gets_the_few_hours_all_its_zones_share():
    # In May Lord Howe (UTC+10:30) opens and closes first, Cocos (UTC+6:30) opens last.
    decision = decide(AU_MOBILE, at(ZoneInfo("Australia/Sydney"), 2026, 5, 4, 9, 0))
    assert decision.not_before == at(ZoneInfo("Indian/Cocos"), 2026, 5, 4, 8, 0)
    assert decide(AU_MOBILE, at(ZoneInfo("Australia/Sydney"), 2026, 5, 4, 20, 0)).allowed
    assert not decide(AU_MOBILE, at(ZoneInfo("Australia/Lord_Howe"), 2026, 5, 4, 21, 0)).allowed


# --- the Florida and Oklahoma cap ----------------------------------------------------------


def test_a_fourth_message_in_24_hours_waits_for_the_first_to_age_out():
    sent = [at(NY_TZ, 2026, 5, 4, h, 0) for h in (9, 12, 15)]
    decision = decide(MIAMI, at(NY_TZ, 2026, 5, 4, 16, 0), recent=sent)
    assert decision.not_before == at(NY_TZ, 2026, 5, 5, 9, 0)
    assert decision.reason == (
        "Florida cap of 3 proactive messages per 24 h reached; "
        "one frees at 09:00 America/New_York time"
    )
    assert decide(MIAMI, at(NY_TZ, 2026, 5, 5, 9, 0), recent=sent).allowed


def test_the_cap_counts_only_the_last_24_hours():
    now = at(NY_TZ, 2026, 5, 4, 16, 0)
    sent = [now - timedelta(hours=h) for h in (24, 30, 5, 1)]
    assert decide(MIAMI, now, recent=sent).allowed


def test_over_the_cap_waits_until_enough_have_aged_out():
    now = at(NY_TZ, 2026, 5, 4, 16, 0)
    sent = [now - timedelta(hours=h) for h in (20, 6, 3, 2)]
    # Four in the window: only when the second oldest (10:00) ages out is it down to two.
    assert decide(MIAMI, now, recent=sent).not_before == now + timedelta(hours=18)


def test_a_cap_that_frees_in_quiet_hours_waits_for_the_morning():
    sent = [at(NY_TZ, 2026, 5, 3, 20, 30), at(NY_TZ, 2026, 5, 4, 9, 0), at(NY_TZ, 2026, 5, 4, 10)]
    decision = decide(MIAMI, at(NY_TZ, 2026, 5, 4, 12, 0), recent=sent)
    # Frees at 20:30, after Florida's 20:00 close.
    assert decision.not_before == at(NY_TZ, 2026, 5, 5, 8, 0)
    assert decision.reason == (
        "Florida cap of 3 proactive messages per 24 h reached; "
        "one frees at 20:30 America/New_York time; "
        "quiet hours in America/New_York (20:00-08:00, Florida rules); opens 08:00"
    )


def test_no_cap_outside_strict_regions_or_for_replies():
    now = at(NY_TZ, 2026, 5, 4, 16, 0)
    sent = [now - timedelta(hours=h) for h in range(1, 8)]
    assert decide(NEW_YORK, now, recent=sent).allowed
    assert decide(MIAMI, now, recent=sent, proactive=False).allowed


# --- DST --------------------------------------------------------------------------------


def test_spring_forward_opens_at_08_00_daylight_time():
    # 2026-03-08: clocks go from 02:00 EST to 03:00 EDT; the night is an hour shorter.
    expected = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)  # 08:00 EDT
    assert decide(NEW_YORK, at(NY_TZ, 2026, 3, 7, 22, 0)).not_before == expected
    assert decide(NEW_YORK, at(NY_TZ, 2026, 3, 8, 1, 30)).not_before == expected
    assert decide(NEW_YORK, at(NY_TZ, 2026, 3, 8, 3, 30)).not_before == expected
    assert decide(NEW_YORK, at(NY_TZ, 2026, 3, 8, 20, 59)).allowed
    assert decide(NEW_YORK, at(NY_TZ, 2026, 3, 8, 21, 0)).not_before == datetime(
        2026, 3, 9, 12, 0, tzinfo=UTC
    )


def test_fall_back_opens_at_08_00_standard_time():
    # 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST; 01:30 happens twice.
    expected = datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST
    assert decide(NEW_YORK, at(NY_TZ, 2026, 10, 31, 21, 30)).not_before == expected
    first_0130 = datetime(2026, 11, 1, 1, 30, tzinfo=NY_TZ)
    second_0130 = first_0130.replace(fold=1)
    assert decide(NEW_YORK, first_0130).not_before == expected
    assert decide(NEW_YORK, second_0130).not_before == expected
    assert decide(NEW_YORK, at(NY_TZ, 2026, 11, 1, 20, 59)).allowed
    assert not decide(NEW_YORK, at(NY_TZ, 2026, 11, 1, 21, 0)).allowed


def test_london_spring_forward():
    # 2026-03-29: 01:00 GMT becomes 02:00 BST.
    decision = decide(UK_MOBILE, at(LONDON_TZ, 2026, 3, 28, 22, 0))
    assert decision.not_before == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


# --- properties -------------------------------------------------------------------------

PLACED = [NEW_YORK, CHICAGO, SAN_FRANCISCO, HONOLULU, MIAMI, PENSACOLA, TULSA, ALASKA]
PLACED += [UK_MOBILE, AU_MOBILE, "+33612345678"]
UNPLACED = [TOLL_FREE, INVALID]
FALLBACKS = ["America/New_York", "Europe/London", "Asia/Tokyo"]
# DST changes in 2026: US, EU, and Australia (which turns its clocks the other way).
DST_CHANGES = [datetime(2026, m, d, 12, tzinfo=UTC) for m, d in [(3, 8), (11, 1), (3, 29)]]
DST_CHANGES += [datetime(2026, m, d, 12, tzinfo=UTC) for m, d in [(10, 25), (4, 5), (10, 4)]]
instants = st.one_of(
    st.datetimes(
        min_value=datetime(2025, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ).map(lambda t: t.replace(second=0, microsecond=0)),
    st.builds(
        lambda day, minutes: day + timedelta(minutes=minutes),
        st.sampled_from(DST_CHANGES),
        st.integers(min_value=-36 * 60, max_value=36 * 60),
    ),
)
viewed_from = st.sampled_from([UTC, NY_TZ, ZoneInfo("Asia/Kolkata")])


def effective_zones(phone: str, fallback_zone: str) -> tuple[str, ...]:
    return recipient(phone, fallback_zone).zones


def open_everywhere(t: datetime, zones: tuple[str, ...], end: time) -> bool:
    """An oracle independent of the module: wall-clock time in each zone."""
    return all(time(8) <= t.astimezone(ZoneInfo(z)).time() < end for z in zones)


def closing_for(phone: str) -> time:
    return time(20) if recipient(phone, "UTC").region else time(21)


@settings(deadline=None)  # the first example loads the geocoder's data
@given(st.sampled_from(PLACED + UNPLACED), instants, viewed_from, st.sampled_from(FALLBACKS))
def test_the_decision_is_the_earliest_instant_open_in_every_zone(
    phone: str, now: datetime, tz: ZoneInfo, fallback_zone: str
):
    now = now.astimezone(tz)
    decision = decide(phone, now, fallback_zone=fallback_zone)
    zones, end = effective_zones(phone, fallback_zone), closing_for(phone)
    assert decision.allowed == open_everywhere(now, zones, end)
    assert (decision.not_before is None) == decision.allowed
    if decision.not_before is not None:
        assert decision.not_before.tzinfo is UTC
        assert decision.not_before > now
        assert open_everywhere(decision.not_before, zones, end)
        a_minute_earlier = decision.not_before - timedelta(minutes=1)
        assert a_minute_earlier < now or not open_everywhere(a_minute_earlier, zones, end)
        assert decide(phone, decision.not_before, fallback_zone=fallback_zone).allowed
    assert phone[2:] not in decision.reason


@settings(deadline=None)
@given(
    st.sampled_from([MIAMI, PENSACOLA, TULSA]),
    instants,
    st.lists(st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=48)), max_size=6),
)
def test_the_cap_is_never_exceeded_and_the_deferred_send_goes(
    phone: str, now: datetime, ages: list[timedelta]
):
    sent = [now - age for age in ages]
    decision = decide(phone, now, recent=sent)
    go = decision.not_before or now
    assert go >= now
    assert sum(t > go - timedelta(hours=24) for t in sent) < 3
    assert open_everywhere(go, effective_zones(phone, "UTC"), time(20))
    assert decide(phone, go, recent=sent).allowed
    if len([t for t in sent if t > now - timedelta(hours=24)]) < 3:
        assert decision.allowed == open_everywhere(now, effective_zones(phone, "UTC"), time(20))
