"""Reading what the operational metrics need from the case record store, in three queries.

The cohort (the tenant's cases opened in the period, on a channel if asked) comes with its
opening channel (the `opened` event, seq 1) and whether it was ever reopened; the events the
metrics count come with the fields they use extracted by the database (JSON), so neither
dialect sends whole event details back. The arithmetic is `domain.metrics.compute`.
"""

from datetime import datetime

from sqlalchemy import Select, and_, exists, func, select
from sqlalchemy.orm import aliased

from domain.metrics import CaseRow, EventRow, RcaRow, Report, compute
from records.schema import case_events, cases, rcas
from records.store import CaseStore, read_snapshot

COUNTED = (
    "sla_met",
    "sla_warning",
    "sla_breached",
    "acknowledged",
    "chat_offered",
    "chat_fallback",
)


def _cohort(tenant: str, since: datetime, until: datetime, channel: str | None) -> Select:  # type: ignore[type-arg]
    opened = aliased(case_events)
    again = aliased(case_events)
    opened_on = func.coalesce(opened.c.detail["channel"].as_string(), cases.c.channel)
    # The first opening (seq 1): a case reopened later keeps its place in its first period.
    first_opened = func.coalesce(opened.c.at, cases.c.opened_at)
    query = (
        select(
            cases.c.case_id,
            opened_on.label("opened_on"),
            first_opened.label("opened_at"),
            cases.c.first_response_at,
            cases.c.resolved_at,
            cases.c.status,
            cases.c.level,
            cases.c.escalations,
            exists()
            .where(again.c.case_id == cases.c.case_id, again.c.type == "reopened")
            .label("reopened"),
            cases.c.csat_score,
            cases.c.nps_score,
        )
        .select_from(cases)
        .outerjoin(opened, and_(opened.c.case_id == cases.c.case_id, opened.c.seq == 1))
        .where(cases.c.tenant == tenant, first_opened >= since, first_opened < until)
    )
    if channel is not None:
        query = query.where(opened_on == channel)
    return query


def report(
    store: CaseStore,
    tenant: str,
    since: datetime,
    until: datetime,
    now: datetime,
    channel: str | None = None,
    tz: str = "UTC",
) -> Report:
    """The tenant's metrics for cases opened in [since, until) (`now`: what is overdue)."""
    cohort = _cohort(tenant, since, until, channel).subquery()
    detail = case_events.c.detail
    clock = detail["clock"].as_string()
    handoff = detail["handoff_error"].as_boolean()
    # Counted by the database, grouped: the durations of acknowledgements are the only
    # values that come back one by one.
    counted = (
        select(case_events.c.type, clock, handoff, func.count())
        .join(cohort, cohort.c.case_id == case_events.c.case_id)
        .where(case_events.c.type.in_(COUNTED))
        .group_by(case_events.c.type, clock, handoff)
    )
    waited = (
        select(detail["waited_s"].as_integer())
        .join(cohort, cohort.c.case_id == case_events.c.case_id)
        .where(case_events.c.type == "acknowledged")
    )
    # Ratings from their events (the last of each case): a reopened case's new run starts its
    # summary row afresh, the events of both runs stay.
    ratings = (
        select(case_events.c.case_id, case_events.c.type, detail["score"].as_integer())
        .join(cohort, cohort.c.case_id == case_events.c.case_id)
        .where(case_events.c.type.in_(("csat_received", "nps_received")))
        .order_by(case_events.c.case_id, case_events.c.seq)
    )
    due = select(rcas.c.due_at, rcas.c.completed_at).join(
        cohort, cohort.c.case_id == rcas.c.case_id
    )
    with read_snapshot(store.engine) as conn:
        rated: dict[tuple[str, str], int] = {
            (case_id, kind): score
            for case_id, kind, score in conn.execute(ratings)
            if score is not None
        }
        rows = [
            CaseRow(
                case_id=r.case_id,
                channel=r.opened_on,
                opened_at=r.opened_at,
                first_response_at=r.first_response_at,
                resolved_at=r.resolved_at,
                status=r.status,
                level=r.level,
                escalations=r.escalations,
                reopened=bool(r.reopened),
                csat_score=rated.get((r.case_id, "csat_received"), r.csat_score),
                nps_score=rated.get((r.case_id, "nps_received"), r.nps_score),
            )
            for r in conn.execute(select(cohort))
        ]
        events = [
            EventRow(case_id="", type=kind, clock=on, handoff_error=error, count=n)
            for kind, on, error, n in conn.execute(counted)
        ]
        events += [
            EventRow(case_id="", type="acknowledged", waited_s=w)
            for (w,) in conn.execute(waited)
            if w is not None
        ]
        owed = [RcaRow(due_at=r.due_at, completed_at=r.completed_at) for r in conn.execute(due)]
    return compute(tenant, since, until, rows, events, owed, now, channel=channel, tz=tz)
