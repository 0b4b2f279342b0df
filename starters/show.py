"""`escalate case show`: a case as a person reads it, from its live state or its stored summary."""

from datetime import datetime

from domain.record import CaseSnapshot
from domain.views import CaseView

PREVIEW = 120


def _at(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if value else "—"


def _clip(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…"


def render_case(case: CaseView) -> str:
    status = case.status.value.replace("_", " ")
    lines = [
        f"Case {case.case_id} · {case.tenant} · {status} · {case.priority.value} · "
        f"{case.level.label} · team {case.team}",
    ]
    owner = case.assignee or "unassigned"
    if case.awaiting_ack is not None:
        owner += (
            f" (waiting for {case.awaiting_ack.level.label} to acknowledge, "
            f"due {_at(case.awaiting_ack.due)}"
            + (f", {case.awaiting_ack.reminders} reminders" if case.awaiting_ack.reminders else "")
            + ")"
        )
    lines.append(f"Owner: {owner}")
    lines.append(
        f"Opened {_at(case.opened_at)} · first response {_at(case.first_response_at)} · "
        f"resolved {_at(case.resolved_at)}"
        + (f" · closes {_at(case.closes_at)}" if case.closes_at else "")
    )
    lines.append(
        f"Channel {case.channel.value} · {case.tier} customer · SLA breached: "
        f"{'YES' if case.sla_breached else 'no'} · {case.escalation_count} escalations · "
        f"{case.messages} messages · {case.events} events"
    )
    if case.last_rejection:
        lines.append(f"Last rejected signal: {case.last_rejection}")
    lines += ["", "SLA clocks"]
    for clock in case.clocks:
        if clock.met is not None:
            state = "met" if clock.met else "met late"
        elif clock.breached:
            state = "BREACHED"
        elif clock.paused:
            state = "paused (waiting on the customer)"
        else:
            state = "warned" if clock.warned else "running"
        hours = "24/7" if clock.round_the_clock else "business hours"
        lines.append(
            f"  {clock.kind.value:<15} target {clock.target:<8} deadline {_at(clock.deadline):<21}"
            f" {state}, {hours}"
        )
    if case.escalations:
        shown = len(case.escalations)
        more = (
            f" (latest {shown} of {case.escalation_count})" if shown < case.escalation_count else ""
        )
        lines += ["", f"Escalations{more}"]
        for e in case.escalations:
            target = e.to_level.label if e.to_level != e.from_level else f"team {e.to_team}"
            lines.append(
                f"  {_at(e.at)}  {e.type.value:<16} {e.from_level.label} → {target}"
                f" by {e.actor}: {_clip(e.reason)}"
            )
    if case.last_messages:
        lines += ["", f"Last messages (of {case.messages}; `escalate case transcript` for more)"]
        for m in case.last_messages:
            lines.append(
                f"  #{m.seq} {_at(m.at)} [{m.channel.value}] {m.author.value}: {_clip(m.text)}"
            )
    return "\n".join(lines)


def render_record(row: CaseSnapshot) -> str:
    """A case whose workflow has gone (retention passed): what the store remembers."""
    return "\n".join(
        [
            f"Case {row.case_id} · {row.tenant} · {row.status.replace('_', ' ')} · {row.priority}"
            f" · L{row.level} · team {row.team}  (from the case record store)",
            f"Owner: {row.assignee or 'unassigned'}",
            f"Opened {_at(row.opened_at)} · first response {_at(row.first_response_at)} · "
            f"resolved {_at(row.resolved_at)} · closed {_at(row.closed_at)}",
            f"Channel {row.channel.value} · SLA breached: {'YES' if row.sla_breached else 'no'} · "
            f"{row.escalations} escalations · {row.messages} messages · {row.events} events",
        ]
    )
