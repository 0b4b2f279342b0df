"""Reaching staff: who is told now, who when their shift starts, and what a failure leads to.

A notice goes at once to each recipient who is working (their own hours, the tenant's
business hours, or always: on call); the others get it held in the case, on its durable
timer, until their next shift starts. P1 cases reach everyone at once. A held notice that
has lost its point by then (the escalation was acknowledged, the case resolved) is dropped
and the drop is recorded; a newer notice of the same kind to the same people replaces an
older one still held, so a night of reminders becomes one in the morning.
"""

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from domain import effects
from domain import matrix as routing
from domain.calendar import BusinessCalendar
from domain.commands import DeliveryReport
from domain.effects import Effect, NoticeKind, NoticeResult, Notify
from domain.hours import WorkingHours
from domain.models import CaseStatus, Priority
from domain.tenant import Contact, TenantPolicy

if TYPE_CHECKING:
    from domain.case import CaseState

SYSTEM = "system"
# At most this many notices wait for someone's shift (each replaces an older one of its kind).
HELD_KEPT = 20
# Notices a provider took that the case remembers, to try a person's next channel on a bounce.
STAFF_SENT_KEPT = 8
# Notices about the owner's acknowledgement, and about SLA clocks: moot once it is given, or
# once the case is resolved.
ACK_KINDS = frozenset({"escalation", "ack_reminder"})
SLA_KINDS = frozenset({"sla_warning", "sla_breach"})


class Held(BaseModel):
    notice: Notify
    not_before: datetime


def calendar(policy: TenantPolicy, contact: Contact) -> BusinessCalendar | None:
    """The contact's working hours; None for someone always reachable."""
    hours = contact.hours
    if hours == "always":
        return None
    if hours == "business":
        return policy.business_calendar
    assert isinstance(hours, WorkingHours)
    return BusinessCalendar(
        tz=hours.timezone or policy.config.timezone,
        week=hours.week(),
        holidays=frozenset(policy.holiday_dates),
    )


def reachable_at(policy: TenantPolicy, contact: Contact, now: datetime) -> datetime:
    """`now` if the contact is working, else when their next shift starts."""
    found = calendar(policy, contact)
    return now if found is None else found.next_open(now)


def notify(
    case: "CaseState",
    kind: NoticeKind,
    template: str,
    now: datetime,
    *,
    breach: bool = False,
    **extra: str,
) -> list[Effect]:
    """Notify the case's current level (and team): now, or when each one's shift starts.

    An SLA alert (a warning, a breach, an escalation a breach caused) of a non-P1 case may
    go out in its team's digest (`workflows.digest`) when the tenant has a digest window.
    """
    notice = effects.notify(case, kind, template, **extra)
    window = case.policy.config.notifications.digest_window
    if (breach or kind in SLA_KINDS) and case.priority is not Priority.P1 and window:
        notice = notice.model_copy(update={"digest": True})
    return list(schedule(case, notice, now))


def schedule(case: "CaseState", notice: Notify, now: datetime) -> list[Notify]:
    """The part of `notice` that goes now; the rest is held until each recipient's shift."""
    if case.priority is Priority.P1:
        return [notice]
    now_list: list[Contact] = []
    later: dict[datetime, list[Contact]] = {}
    for contact in notice.recipients:
        at = reachable_at(case.policy, contact, now)
        if at <= now:
            now_list.append(contact)
        else:
            later.setdefault(at, []).append(contact)
    # A delivery is keyed by notice and recipient index: each held part has its own key.
    for number, (at, contacts) in enumerate(sorted(later.items())):
        part = notice.model_copy(update={"key": f"{notice.key}:h{number}", "recipients": contacts})
        _hold(case, part, at, now)
    if not later:
        return [notice]
    return [notice.model_copy(update={"recipients": now_list})] if now_list else []


def digest_wait(case: "CaseState") -> timedelta:
    """How long an SLA alert of this case may wait for its team's digest (P1: never)."""
    if case.priority is Priority.P1 or not case.digest_wait_on:
        return timedelta(0)
    window: timedelta = case.policy.config.notifications.digest_window
    return window


def first_reachable(case: "CaseState", recipients: list[Contact], now: datetime) -> datetime:
    """When the first of `recipients` can see a notice sent now (P1: now)."""
    if case.priority is Priority.P1 or not recipients:
        return now
    return min(reachable_at(case.policy, c, now) for c in recipients)


def _hold(case: "CaseState", notice: Notify, until: datetime, now: datetime) -> None:
    names = sorted(c.name for c in notice.recipients)
    replaced = [
        h
        for h in case.held
        if h.notice.kind == notice.kind and sorted(c.name for c in h.notice.recipients) == names
    ]
    case.held = [h for h in case.held if h not in replaced]
    if len(case.held) >= HELD_KEPT:
        oldest = case.held.pop(0)
        _drop(case, oldest, now, f"more than {HELD_KEPT} notices were waiting")
    case.held.append(Held(notice=notice, not_before=until))
    case.log(
        now,
        "notice_held",
        SYSTEM,
        reason="outside the recipients' working hours",
        detail={
            "kind": notice.kind,
            "recipients": ", ".join(names),
            "until": until.isoformat(),
            "replaces": len(replaced),
        },
    )


def _drop(case: "CaseState", held: Held, now: datetime, reason: str) -> None:
    case.log(
        now,
        "notice_dropped",
        SYSTEM,
        reason=reason,
        detail={
            "kind": held.notice.kind,
            "recipients": ", ".join(sorted(c.name for c in held.notice.recipients)),
        },
    )


def due(case: "CaseState") -> datetime | None:
    return min((h.not_before for h in case.held), default=None)


def _moot(case: "CaseState", notice: Notify) -> str | None:
    """Why a held notice has lost its point (None: it is still worth sending)."""
    if notice.kind in ACK_KINDS and notice.ack_level is not None:
        waiting = case.ack
        if (
            waiting is None
            or waiting.level != notice.ack_level
            or notice.ack_escalation not in (None, waiting.number)
        ):
            return "acknowledged (or moved on) before their shift started"
    if notice.kind in SLA_KINDS and case.status in (CaseStatus.RESOLVED, CaseStatus.CLOSED):
        return "the case was resolved before their shift started"
    if notice.kind in SLA_KINDS and case.level != notice.level:
        return f"the case moved on to {case.level.label} meanwhile"
    return None


def prune(case: "CaseState", now: datetime) -> None:
    """Drop (on record) the held notices that a change to the case has made pointless."""
    for held in list(case.held):
        why = _moot(case, held.notice)
        if why is not None:
            case.held.remove(held)
            _drop(case, held, now, why)


def everyone_now(case: "CaseState", now: datetime) -> list[Effect]:
    """The case became P1: every notice still held goes now, and the owner's time to
    acknowledge counts from now (it waited for a shift that P1 does not wait for)."""
    prune(case, now)
    out: list[Effect] = [
        h.notice.model_copy(update={"summary": effects.brief(case)}) for h in case.held
    ]
    if case.held:
        case.log(now, "notices_released", SYSTEM, reason="P1: every notice held goes now",
                 detail={"notices": len(case.held)})  # fmt: skip
        case.held = []
    waiting = case.ack
    if waiting is not None:
        waiting.due = min(waiting.due, now + routing.ack_timeout(case.matrix, waiting.level))
    return out


def drop_all(case: "CaseState", now: datetime, reason: str) -> None:
    """The case closed: whatever still waits for someone's shift will not go (on record)."""
    for held in case.held:
        _drop(case, held, now, reason)
    case.held = []


def release(case: "CaseState", now: datetime) -> list[Effect]:
    """The held notices whose recipients' shift has started (with the case's paragraph as
    of now: a notice held overnight tells the case as it is then)."""
    prune(case, now)
    ready = [h for h in case.held if h.not_before <= now]
    if not ready:
        return []
    case.held = [h for h in case.held if h.not_before > now]
    return [h.notice.model_copy(update={"summary": effects.brief(case)}) for h in ready]


class StaffSent(BaseModel):
    """A notice a provider took for one person: a bounce reported later finds it here."""

    provider: str
    provider_id: str
    contact: int = Field(description="the person's index in the notice it was part of")
    hop: int
    notice: Notify  # to that person only, without the case's paragraph (made again if resent)


def delivered(case: "CaseState", notice: Notify, result: NoticeResult, now: datetime) -> None:
    """Record every channel that refused the notice, and the one tried next (or none left);
    keep what the providers took, for a bounce they report later."""
    for sent in result.sent:
        if not 0 <= sent.contact < len(notice.recipients):
            continue
        one = notice.model_copy(
            update={"recipients": [notice.recipients[sent.contact]], "summary": None, "items": []}
        )
        case.staff_sent.append(
            StaffSent(
                provider=sent.provider,
                provider_id=sent.provider_id,
                contact=sent.contact,
                hop=sent.hop,
                notice=one,
            )
        )
    del case.staff_sent[:-STAFF_SENT_KEPT]
    if case.notice_sent_on and (result.sent or result.delivered):  # for the auditors
        case.log(
            now,
            "notice_sent",
            SYSTEM,
            detail={
                "kind": notice.kind,
                "recipients": ", ".join(c.name for c in notice.recipients),
                "new_deliveries": result.delivered,
            },
        )
    for failure in result.failures:
        case.log(
            now,
            "notice_failed",
            SYSTEM,
            reason=failure.reason,
            detail={
                "kind": notice.kind,
                "contact": failure.contact,
                "channel": failure.channel.value,
                "then": failure.then.value if failure.then else None,
            },
        )


def bounced(case: "CaseState", report: DeliveryReport, now: datetime) -> list[Effect]:
    """A provider reports a staff notice it took did not arrive: try the person's next
    channel (unless the notice has lost its point), and record it either way."""
    found = next(
        (
            s
            for s in case.staff_sent
            if s.provider == report.provider and s.provider_id == report.provider_id
        ),
        None,
    )
    if found is None:
        return []
    case.staff_sent.remove(found)
    contact = found.notice.recipients[0]
    routes = contact.routes[found.hop :]
    failed, left = routes[0], routes[1:]
    case.log(
        now,
        "notice_failed",
        report.provider,
        reason=f"{failed.channel.value} {report.status.value}"
        + (f" (error {report.error_code})" if report.error_code else ""),
        detail={
            "kind": found.notice.kind,
            "contact": contact.name,
            "channel": failed.channel.value,
            "then": left[0].channel.value if left else None,
        },
    )
    if not left:
        return []
    moot = _moot(case, found.notice)
    if moot is not None:
        _drop(case, Held(notice=found.notice, not_before=now), now, moot)
        return []
    nxt = contact.model_copy(
        update={"channel": left[0].channel, "address": left[0].address, "then": left[1:]}
    )
    again = found.notice.model_copy(
        update={
            # Each person's resend has its own key (two bounces of one notice are two sends).
            "key": f"{found.notice.key}:{found.contact}:b{found.hop + 1}",
            "recipients": [nxt],
            "summary": effects.brief(case),
        }
    )
    return [again]
