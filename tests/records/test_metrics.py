"""Operational metrics from a scripted set of cases, against numbers worked out by hand,
on SQLite and on a real PostgreSQL."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.metrics import Durations
from domain.rca import RcaReason, RcaRecord, RcaStatus
from domain.record import TimelineEvent
from records.metrics import report
from records.store import CaseStore
from tests.records.test_store import batch

SINCE, UNTIL = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC)
NOW = datetime(2026, 3, 10, tzinfo=UTC)


def at(day: int, hour: int, minutes: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minutes, tzinfo=UTC)


def ev(seq: int, type_: str, when: datetime, **detail: Any) -> TimelineEvent:
    return TimelineEvent(seq=seq, at=when, type=type_, actor="system", detail=detail)


def case(
    store: CaseStore,
    case_id: str,
    channel: str,
    opened: datetime,
    events: list[tuple[str, dict[str, Any]]],
    tenant: str = "northwind-telecom",
    **summary: Any,
) -> None:
    timeline = [ev(1, "opened", opened, channel=channel)] + [
        ev(n, kind, opened + timedelta(minutes=n), **detail)
        for n, (kind, detail) in enumerate(events, start=2)
    ]
    store.write(
        batch(
            events=timeline,
            case_id=case_id,
            tenant=tenant,
            channel="sms" if channel == "sms" else channel,
            **({"opened_at": opened} | summary),
        )
    )


@pytest.fixture
def scripted(store: CaseStore) -> CaseStore:
    return seed(store)


def seed(store: CaseStore) -> CaseStore:
    """Four northwind cases opened in March 2026 (A-D) and two that do not count (E, F)."""
    a = at(2, 10)
    case(store, "A", "sms", a, [("sla_met", {"clock": "first_response"}), ("sla_met", {"clock": "resolution"})],
         first_response_at=a + timedelta(minutes=10), resolved_at=a + timedelta(hours=2),
         status="resolved", csat_score=5, nps_score=10)  # fmt: skip
    b = at(2, 12)
    case(store, "B", "sms", b, [
        ("sla_warning", {"clock": "first_response"}), ("sla_breached", {"clock": "first_response"}),
        ("escalated", {"to_level": "L2"}), ("acknowledged", {"level": "L2", "waited_s": 600}),
        ("sla_met", {"clock": "resolution"}),
    ], first_response_at=b + timedelta(minutes=30), resolved_at=b + timedelta(hours=4),
       status="closed", level=2, escalations=1, csat_score=2, nps_score=6)  # fmt: skip
    c = at(5, 9)
    case(store, "C", "email", c, [
        ("sla_met", {"clock": "first_response"}), ("acknowledged", {"level": "L3", "waited_s": 1200}),
        ("chat_offered", {}), ("chat_fallback", {"handoff_error": True}),
    ], first_response_at=c + timedelta(hours=1), level=3, escalations=2)  # fmt: skip
    d = at(6, 15)
    case(store, "D", "chat", d, [("reopened", {})],
         resolved_at=d + timedelta(hours=1), status="resolved", csat_score=4, nps_score=8)  # fmt: skip
    # Outside the cohort: opened after the period; another tenant's case.
    case(store, "E", "sms", datetime(2026, 4, 2, tzinfo=UTC), [], escalations=3, level=4)
    case(store, "F", "sms", at(3, 9), [], tenant="harbour-retail", escalations=1, level=2)
    for rca_id, case_id, due, done in [
        ("rca-B-1", "B", at(3, 12), at(2, 18)),  # done before its due date
        ("rca-C-1", "C", at(6, 9), None),  # still open, past due on the 10th
        ("rca-E-1", "E", datetime(2026, 4, 5, tzinfo=UTC), None),  # not in the cohort
    ]:
        store.write_rca(
            RcaRecord(
                rca_id=rca_id, case_id=case_id, tenant="northwind-telecom", team="billing",
                reasons=[RcaReason.ESCALATED], owner="Shift supervisor",
                status=RcaStatus.DONE if done else RcaStatus.OVERDUE, opened_at=due - timedelta(days=1),
                due_at=due, overdue=done is None, completed_at=done, completed_by=None,
                cause_category=None, corrective_action=None, action_owner=None,
            )
        )  # fmt: skip
    return store


def test_every_metric_matches_the_numbers_worked_out_by_hand(scripted: CaseStore):
    got = report(scripted, "northwind-telecom", SINCE, UNTIL, NOW)
    assert (got.cases, got.resolved) == (4, 3)
    # Resolved A 2 h, B 4 h, D 1 h: sorted 3600, 7200, 14400; p90 = 7200 + 0.8 * 7200.
    assert got.time_to_resolution == Durations(count=3, mean_s=8400, median_s=7200, p90_s=12960)
    # First responses A 10 min, B 30 min, C 1 h.
    assert got.first_response == Durations(count=3, mean_s=2000, median_s=1800, p90_s=3240)
    assert (got.escalation.count, got.escalation.of) == (2, 4)
    by_channel = {k: (v.count, v.of) for k, v in got.escalation_by_channel.items()}
    assert by_channel == {"chat": (0, 1), "email": (1, 1), "sms": (1, 2)}
    assert got.escalation_handling == Durations(count=2, mean_s=900, median_s=900, p90_s=1140)
    # Resolved A, B, D; only A without an escalation or a reopening.
    assert (got.first_contact_resolution.count, got.first_contact_resolution.of) == (1, 3)
    assert got.csat.rated == 3 and got.csat.mean == pytest.approx(11 / 3)
    assert (got.csat.satisfied.count, got.csat.satisfied.of) == (2, 3)
    assert got.csat.distribution == {1: 0, 2: 1, 3: 0, 4: 1, 5: 1}
    assert (got.nps.promoters, got.nps.passives, got.nps.detractors) == (1, 1, 1)
    assert got.nps.score == 0
    sla = {c.clock: (c.met, c.warned, c.breached) for c in got.sla}
    assert sla == {"first_response": (2, 1, 1), "resolution": (2, 0, 0)}
    assert [c.compliance for c in got.sla] == [pytest.approx(2 / 3), 1.0]
    assert (got.handoff_errors.count, got.handoff_errors.of) == (1, 1)
    assert (got.supervisor_intervention.count, got.supervisor_intervention.of) == (2, 4)
    assert got.funnel == {"L1": 4, "L2": 2, "L3": 1, "L4": 0}
    assert (got.rca_on_time.count, got.rca_on_time.of) == (1, 2)
    busy = [(v.day.day, v.opened, v.escalated) for v in got.volume if v.opened]
    assert busy == [(2, 2, 1), (5, 1, 1), (6, 1, 0)]
    assert len(got.volume) == 31 and got.volume[0].day.day == 1  # every day of March, at zero


def test_one_channel_is_the_cases_opened_on_it(scripted: CaseStore):
    got = report(scripted, "northwind-telecom", SINCE, UNTIL, NOW, channel="sms")
    assert got.cases == 2 and got.channel == "sms"
    assert (got.escalation.count, got.escalation.of) == (1, 2)
    assert (got.rca_on_time.count, got.rca_on_time.of) == (1, 1)  # B's only


def test_an_empty_period_reports_nothing_rather_than_dividing_by_zero(scripted: CaseStore):
    got = report(scripted, "northwind-telecom", UNTIL, UNTIL + timedelta(days=1), NOW)
    assert got.cases == 0 and got.escalation.rate is None and got.time_to_resolution.count == 0
    assert got.nps.score is None and got.csat.mean is None and got.sla == []


def test_a_case_reopened_later_stays_in_its_first_period_with_its_rating(store: CaseStore):
    """Its second run rewrote the summary row (a new opening time, no rating); the seq-1
    opening and the rating events of the first run still count."""
    first = at(7, 9)
    case(store, "G", "sms", first, [("csat_received", {"score": 3}), ("reopened", {})],
         opened_at=datetime(2026, 4, 10, tzinfo=UTC), status="open")  # fmt: skip
    march = report(store, "northwind-telecom", SINCE, UNTIL, NOW)
    assert march.cases == 1 and march.csat.distribution[3] == 1
    april = report(store, "northwind-telecom", UNTIL, UNTIL + timedelta(days=30), NOW)
    assert april.cases == 0
