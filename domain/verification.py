"""The resolution check: some days after resolving, ask whether the fix held.

`[verification] after` (3 days) after resolution the customer is asked "Reply YES if all
is well, NO if not" (on SMS, or email; consent and quiet hours apply as to any message).
YES closes the case at once. NO reopens it with its history and its escalation level, and
restarts its SLA clocks (resolution, and the next response: the customer waits for one).
No answer within `wait` (2 days): the tenant's `silence` decides, "close" or "reopen". A
reply that is neither yes nor no is a message like any other (it reopens, as before).
While the check is pending the case does not auto-close: the check closes it.
"""

import re
from datetime import datetime
from typing import TYPE_CHECKING

from domain import clocks, effects
from domain.effects import Effect
from domain.models import CaseStatus, Channel
from domain.sla import ClockKind

if TYPE_CHECKING:
    from domain.case import CaseState

SYSTEM = "system"
_YES = re.compile(
    r"^\s*(yes|y|yeah|yep|yup|all good|all fine|fixed|works|it works)\b[\s.!]*$", re.I
)
_NO = re.compile(r"^\s*(no|n|nope|not yet|still broken|not fixed)\b", re.I)


def on(case: "CaseState") -> bool:
    return case.verify_on and case.policy.config.verification.enabled


def answer(text: str) -> bool | None:
    """True for yes, False for no, None for anything else."""
    if _YES.match(text):
        return True
    if _NO.match(text):
        return False
    return None


def due(case: "CaseState") -> datetime | None:
    """When the check is next due: the question, or the end of waiting for its answer."""
    if not on(case) or case.status is not CaseStatus.RESOLVED or case.resolved_at is None:
        return None
    config = case.policy.config.verification
    if case.verify_asked_at is None:
        return case.resolved_at + config.after
    return case.verify_asked_at + config.wait


def closes_at(case: "CaseState") -> datetime | None:
    """When silence closes the case (None when silence reopens it)."""
    config = case.policy.config.verification
    if case.resolved_at is None or config.silence != "close":
        return None
    return (case.verify_asked_at or case.resolved_at + config.after) + config.wait


def pending(case: "CaseState") -> bool:
    """Asked, and not answered yet."""
    return on(case) and case.status is CaseStatus.RESOLVED and case.verify_asked_at is not None


def tick(case: "CaseState", now: datetime) -> list[Effect]:
    at = due(case)
    if at is None or now < at:
        return []
    config = case.policy.config.verification
    if case.verify_asked_at is None:
        channel = _channel(case)
        case.verify_asked_at = now
        if channel is None:
            case.log(now, "verification_not_asked", SYSTEM, reason="no channel to ask on")
            return []
        case.log(now, "verification_asked", SYSTEM, detail={"channel": channel.value})
        text = effects.text(case, "verification_ask")
        return [effects.reply(case, channel, text, options=False)]
    case.log(now, "verification_silent", SYSTEM, reason=f"no answer: {config.silence}")
    if config.silence == "reopen":
        return _reopen(case, now, "no answer to the resolution check")
    return case.close_now(SYSTEM, now, "resolution check: no answer")


def replied(case: "CaseState", text: str, now: datetime) -> list[Effect] | None:
    """A reply while the check waits: its effects for YES or NO, None for anything else."""
    said = answer(text)
    if said is None:
        return None
    if said:
        case.log(now, "verification_passed", "customer", reason="the customer says the fix held")
        return case.close_now("customer", now, "resolution confirmed by the customer")
    case.log(now, "verification_failed", "customer", reason="the customer says it did not")
    return _reopen(case, now, "the fix did not hold")


def _reopen(case: "CaseState", now: datetime, reason: str) -> list[Effect]:
    case.verify_asked_at = None  # a later resolution asks again
    out = case.reopen(SYSTEM, reason, now)  # the level is kept; the resolution clock restarts
    clocks.start(case, ClockKind.NEXT_RESPONSE, now)
    channel = _channel(case)
    if channel is None:
        return out
    text = effects.text(case, "verification_reopened")
    return [*out, effects.reply(case, channel, text, options=False)]


def _channel(case: "CaseState") -> Channel | None:
    """Days later the chat page is gone: text (unless opted out), else email."""
    if case.customer.phone and not case.sms_opted_out:
        return Channel.SMS
    return Channel.EMAIL if case.customer.email else None
