"""The numbers operations run every morning, computed from the case record store's rows.

Each definition is written once, here and in the README ("Operational metrics"). The cohort
is the tenant's cases **opened** in the period [since, until), optionally on one channel
(the channel the case was opened on); every rate is over that cohort unless it says
otherwise. Durations are wall-clock time (not business time), in seconds.
"""

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field, computed_field

SATISFIED = (4, 5)  # CSAT: the share of ratings that are 4 or 5
PROMOTERS, DETRACTORS = range(9, 11), range(0, 7)  # NPS: 9-10 promote, 0-6 detract


@dataclass(frozen=True)
class CaseRow:
    """What the metrics need of one case (its summary row and its opening channel)."""

    case_id: str
    channel: str  # opened on
    opened_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    status: str
    level: int
    escalations: int
    reopened: bool
    csat_score: int | None
    nps_score: int | None


@dataclass(frozen=True)
class EventRow:
    """One timeline event of a cohort case that a metric counts."""

    case_id: str
    type: str
    clock: str | None = None  # SLA events
    waited_s: int | None = None  # acknowledged: seconds from escalation to acknowledgement
    handoff_error: bool | None = None  # chat_fallback
    count: int = 1  # how many such events (the store may count them for us)


@dataclass(frozen=True)
class RcaRow:
    due_at: datetime
    completed_at: datetime | None


class Durations(BaseModel):
    count: int = 0
    mean_s: float | None = None
    median_s: float | None = None
    p90_s: float | None = None

    @classmethod
    def of(cls, seconds: Sequence[float]) -> "Durations":
        if not seconds:
            return cls()
        ordered = sorted(seconds)
        return cls(
            count=len(ordered),
            mean_s=sum(ordered) / len(ordered),
            median_s=_quantile(ordered, 0.5),
            p90_s=_quantile(ordered, 0.9),
        )


def _quantile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, 'linear')."""
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Rate(BaseModel):
    count: int = 0
    of: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def rate(self) -> float | None:
        return self.count / self.of if self.of else None


class ClockCompliance(BaseModel):
    clock: str
    met: int = 0
    warned: int = 0
    breached: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def compliance(self) -> float | None:
        """Met on time over every clock that ended or breached."""
        done = self.met + self.breached
        return self.met / done if done else None


class Csat(BaseModel):
    rated: int = 0
    mean: float | None = None
    satisfied: Rate = Field(default_factory=Rate)
    distribution: dict[int, int] = Field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))


class Nps(BaseModel):
    answered: int = 0
    promoters: int = 0
    passives: int = 0
    detractors: int = 0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def score(self) -> float | None:
        if not self.answered:
            return None
        return 100 * (self.promoters - self.detractors) / self.answered


class DayVolume(BaseModel):
    day: date
    opened: int
    escalated: int


class Report(BaseModel):
    tenant: str
    since: datetime
    until: datetime
    channel: str | None = None
    cases: int = 0
    resolved: int = 0
    time_to_resolution: Durations = Field(default_factory=Durations)
    first_response: Durations = Field(default_factory=Durations)
    escalation: Rate = Field(default_factory=Rate)
    escalation_by_channel: dict[str, Rate] = Field(default_factory=dict)
    escalation_handling: Durations = Field(default_factory=Durations)
    first_contact_resolution: Rate = Field(default_factory=Rate)
    csat: Csat = Field(default_factory=Csat)
    nps: Nps = Field(default_factory=Nps)
    sla: list[ClockCompliance] = Field(default_factory=list)
    handoff_errors: Rate = Field(default_factory=Rate)
    supervisor_intervention: Rate = Field(default_factory=Rate)
    rca_on_time: Rate = Field(default_factory=Rate)
    funnel: dict[str, int] = Field(default_factory=dict, description="cases that reached a level")
    volume: list[DayVolume] = Field(default_factory=list)


def compute(
    tenant: str,
    since: datetime,
    until: datetime,
    cases: Sequence[CaseRow],
    events: Iterable[EventRow],
    rcas: Iterable[RcaRow],
    now: datetime,
    channel: str | None = None,
    tz: str = "UTC",
) -> Report:
    """Every metric for the cohort `cases` (already filtered to the tenant, period, channel);
    days (the volume) are the tenant's, in `tz`."""
    report = Report(tenant=tenant, since=since, until=until, channel=channel, cases=len(cases))
    resolved = [c for c in cases if c.resolved_at is not None]
    report.resolved = len(resolved)
    report.time_to_resolution = Durations.of(
        [(c.resolved_at - c.opened_at).total_seconds() for c in resolved if c.resolved_at]
    )
    report.first_response = Durations.of(
        [(c.first_response_at - c.opened_at).total_seconds() for c in cases if c.first_response_at]
    )
    report.escalation = Rate(count=sum(c.escalations > 0 for c in cases), of=len(cases))
    for name in sorted({c.channel for c in cases}):
        on = [c for c in cases if c.channel == name]
        report.escalation_by_channel[name] = Rate(
            count=sum(c.escalations > 0 for c in on), of=len(on)
        )
    first_contact = [c for c in resolved if c.escalations == 0 and not c.reopened]
    report.first_contact_resolution = Rate(count=len(first_contact), of=len(resolved))
    report.csat = _csat([c.csat_score for c in cases if c.csat_score is not None])
    report.nps = _nps([c.nps_score for c in cases if c.nps_score is not None])
    report.supervisor_intervention = Rate(count=sum(c.level >= 2 for c in cases), of=len(cases))
    report.funnel = {f"L{n}": sum(c.level >= n for c in cases) for n in range(1, 5)}
    _events(report, events)
    report.rca_on_time = _rca(rcas, now)
    report.volume = _volume(cases, ZoneInfo(tz), since, until)
    return report


def _csat(scores: Sequence[int]) -> Csat:
    counts = Counter(scores)
    return Csat(
        rated=len(scores),
        mean=sum(scores) / len(scores) if scores else None,
        satisfied=Rate(count=sum(counts[s] for s in SATISFIED), of=len(scores)),
        distribution={s: counts[s] for s in range(1, 6)},
    )


def _nps(scores: Sequence[int]) -> Nps:
    promoters = sum(s in PROMOTERS for s in scores)
    detractors = sum(s in DETRACTORS for s in scores)
    return Nps(
        answered=len(scores),
        promoters=promoters,
        detractors=detractors,
        passives=len(scores) - promoters - detractors,
    )


def _events(report: Report, events: Iterable[EventRow]) -> None:
    clocks: dict[str, ClockCompliance] = {}
    waited: list[float] = []
    offered = errors = 0
    for event in events:
        if event.type in ("sla_met", "sla_warning", "sla_breached") and event.clock:
            clock = clocks.setdefault(event.clock, ClockCompliance(clock=event.clock))
            if event.type == "sla_met":
                clock.met += event.count
            elif event.type == "sla_warning":
                clock.warned += event.count
            else:
                clock.breached += event.count
        elif event.type == "acknowledged" and event.waited_s is not None:
            waited.extend([float(event.waited_s)] * event.count)
        elif event.type == "chat_offered":
            offered += event.count
        elif event.type == "chat_fallback" and event.handoff_error:
            errors += event.count
    report.sla = [clocks[k] for k in sorted(clocks)]
    report.escalation_handling = Durations.of(waited)
    report.handoff_errors = Rate(count=errors, of=offered)


def _rca(rcas: Iterable[RcaRow], now: datetime) -> Rate:
    """The cohort's RCAs that are decided: done by the due date, or done late / still open
    past it. Those not yet due count in neither."""
    on_time = decided = 0
    for rca in rcas:
        if rca.completed_at is not None and rca.completed_at <= rca.due_at:
            on_time += 1
            decided += 1
        elif rca.completed_at is not None or now > rca.due_at:
            decided += 1
    return Rate(count=on_time, of=decided)


def _volume(
    cases: Sequence[CaseRow], zone: ZoneInfo, since: datetime, until: datetime
) -> list[DayVolume]:
    """Every day of the period (the tenant's days), those without a case at zero."""
    opened: Counter[date] = Counter()
    escalated: Counter[date] = Counter()
    for case in cases:
        day = case.opened_at.astimezone(zone).date()
        opened[day] += 1
        escalated[day] += case.escalations > 0
    first = since.astimezone(zone).date()
    last = (until - timedelta(microseconds=1)).astimezone(zone).date()
    days = (
        [first + timedelta(days=n) for n in range((last - first).days + 1)] if last >= first else []
    )
    days = sorted(set(days) | set(opened))
    return [DayVolume(day=d, opened=opened[d], escalated=escalated[d]) for d in days]
