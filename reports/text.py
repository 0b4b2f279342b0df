"""The operational metrics as a table for a terminal, and as CSV for export."""

import csv
import io
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.metrics import Durations, Rate, Report


def period(since: date, until: date, tz: str) -> tuple[datetime, datetime]:
    """[since, until] as whole days in the tenant's time zone: [since 00:00, until+1 00:00)."""
    zone = ZoneInfo(tz)
    start = datetime.combine(since, time(), zone)
    end = datetime.combine(until + timedelta(days=1), time(), zone)
    return start, end


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


def _times(value: Durations) -> str:
    if not value.count:
        return "-"
    return (
        f"median {_duration(value.median_s)} · p90 {_duration(value.p90_s)} · "
        f"mean {_duration(value.mean_s)} (n={value.count})"
    )


def _rate(value: Rate) -> str:
    if value.rate is None:
        return "-"
    return f"{100 * value.rate:.1f}% ({value.count} of {value.of})"


def lines(report: Report) -> Iterator[tuple[str, str]]:
    """(metric, value) as a person reads them."""
    yield "cases opened", str(report.cases)
    yield "resolved", str(report.resolved)
    yield "time to resolution", _times(report.time_to_resolution)
    yield "first response time", _times(report.first_response)
    yield "escalation rate", _rate(report.escalation)
    for channel, rate in report.escalation_by_channel.items():
        yield f"  escalation rate, {channel}", _rate(rate)
    yield "escalation handling time", _times(report.escalation_handling)
    yield "first contact resolution", _rate(report.first_contact_resolution)
    csat = report.csat
    mean = f"{csat.mean:.2f} of 5" if csat.mean is not None else "-"
    yield "CSAT", f"{mean} · satisfied (4-5) {_rate(csat.satisfied)}"
    nps = report.nps
    score = f"{nps.score:+.0f}" if nps.score is not None else "-"
    yield (
        "NPS",
        f"{score} ({nps.promoters} promoters, {nps.passives} passives, "
        f"{nps.detractors} detractors)",
    )
    for clock in report.sla:
        compliance = f"{100 * clock.compliance:.1f}%" if clock.compliance is not None else "-"
        yield (
            f"SLA {clock.clock.replace('_', ' ')}",
            f"{compliance} met ({clock.met} met, {clock.warned} warned, {clock.breached} breached)",
        )
    yield "SMS-to-chat handoff errors", _rate(report.handoff_errors)
    yield "supervisor intervention rate", _rate(report.supervisor_intervention)
    yield "RCA on-time rate", _rate(report.rca_on_time)
    yield "escalation funnel", " → ".join(f"{k} {v}" for k, v in report.funnel.items())


def table(report: Report) -> str:
    scope = f" · channel {report.channel}" if report.channel else ""
    title = (
        f"{report.tenant}: cases opened {report.since:%Y-%m-%d %H:%M %Z} to "
        f"{report.until:%Y-%m-%d %H:%M %Z}{scope}"
    )
    rows = list(lines(report))
    width = max(len(name) for name, _ in rows)
    return "\n".join([title, "", *(f"{name:<{width}}  {value}" for name, value in rows)])


def csv_text(report: Report) -> str:
    """One row per figure: section, metric, value, count, of (machine-readable)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["metric", "key", "value", "count", "of"])

    def durations(name: str, value: Durations) -> None:
        for key in ("median_s", "p90_s", "mean_s"):
            writer.writerow([name, key, getattr(value, key), value.count, ""])

    def rate(name: str, key: str, value: Rate) -> None:
        writer.writerow([name, key, value.rate, value.count, value.of])

    writer.writerow(["cases", "opened", report.cases, "", ""])
    writer.writerow(["cases", "resolved", report.resolved, "", ""])
    durations("time_to_resolution", report.time_to_resolution)
    durations("first_response", report.first_response)
    rate("escalation_rate", "all", report.escalation)
    for channel, value in report.escalation_by_channel.items():
        rate("escalation_rate", channel, value)
    durations("escalation_handling", report.escalation_handling)
    rate("first_contact_resolution", "all", report.first_contact_resolution)
    writer.writerow(["csat", "mean", report.csat.mean, report.csat.rated, ""])
    rate("csat", "satisfied", report.csat.satisfied)
    for score, count in report.csat.distribution.items():
        writer.writerow(["csat", f"score_{score}", count, count, report.csat.rated])
    writer.writerow(["nps", "score", report.nps.score, report.nps.answered, ""])
    for clock in report.sla:
        writer.writerow([f"sla_{clock.clock}", "compliance", clock.compliance, clock.met, ""])
        writer.writerow([f"sla_{clock.clock}", "warned", clock.warned, clock.warned, ""])
        writer.writerow([f"sla_{clock.clock}", "breached", clock.breached, clock.breached, ""])
    rate("handoff_errors", "all", report.handoff_errors)
    rate("supervisor_intervention", "all", report.supervisor_intervention)
    rate("rca_on_time", "all", report.rca_on_time)
    for level, count in report.funnel.items():
        writer.writerow(["funnel", level, count, count, report.cases])
    for day in report.volume:
        writer.writerow(["volume", day.day.isoformat(), day.opened, day.escalated, ""])
    return out.getvalue()
