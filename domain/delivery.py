"""What a case does with the fate of a message to the customer: keep it, wait, or switch.

A send comes back sent, deferred (quiet hours, the daily cap: it waits in the case, on a
durable timer, and goes at the window's opening) or refused (opted out, no address, a
provider's permanent error, a failed delivery report): then the case writes on the
customer's other channel, once, and records why.
"""

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from domain import bot, effects, staff
from domain.channels import Outcome, SendResult
from domain.commands import DeliveryReport, SmsConsent
from domain.effects import AskBot, Effect, Notify, ReplyToCustomer, StartRca
from domain.models import Channel

if TYPE_CHECKING:
    from domain.case import CaseState

SYSTEM = "system"
# Bounds on what the case keeps about its outgoing messages (state must not grow).
DEFERRED_KEPT = 20
SENT_KEPT = 10
SENT_TEXT_CHARS = 1_600  # enough to send an SMS again by email, or an email's start by SMS


class Deferred(BaseModel):
    reply: ReplyToCustomer
    not_before: datetime
    reason: str


class Sent(BaseModel):
    key: str
    channel: Channel
    provider: str
    provider_id: str | None
    text: str = Field(description="the first SENT_TEXT_CHARS characters")
    fallback: bool


def sent(case: "CaseState", reply: ReplyToCustomer, result: SendResult, now: datetime) -> None:
    case.sent.append(
        Sent(
            key=reply.key,
            channel=reply.channel,
            provider=result.provider,
            provider_id=result.provider_id,
            text=reply.text[:SENT_TEXT_CHARS],
            fallback=reply.fallback_from is not None,
        )
    )
    del case.sent[:-SENT_KEPT]


def outcome(
    case: "CaseState", reply: ReplyToCustomer, result: SendResult, now: datetime
) -> list[Effect]:
    """Apply the answer of the activity that tried to send `reply`."""
    match result.outcome:
        case Outcome.SENT:
            sent(case, reply, result, now)
            return []
        case Outcome.DEFERRED:
            assert result.not_before is not None
            return defer(case, reply, result.not_before, result.reason or "deferred", now)
        case Outcome.REFUSED:
            return fall_back(case, reply, result.reason or "refused", now)
    return []


def defer(
    case: "CaseState", reply: ReplyToCustomer, not_before: datetime, reason: str, now: datetime
) -> list[Effect]:
    if len(case.deferred) >= DEFERRED_KEPT:
        return fall_back(case, reply, f"{reason}; and {DEFERRED_KEPT} texts already wait", now)
    case.deferred.append(Deferred(reply=reply, not_before=not_before, reason=reason))
    case.log(
        now,
        "message_deferred",
        SYSTEM,
        reason=reason,
        detail={"key": reply.key, "channel": reply.channel.value, "until": not_before.isoformat()},
    )
    return []


def due(case: "CaseState") -> datetime | None:
    return min((d.not_before for d in case.deferred), default=None)


def release(case: "CaseState", now: datetime) -> list[Effect]:
    """The deferred messages whose window has opened, to send again (the sender re-checks)."""
    ready = [d for d in case.deferred if d.not_before <= now]
    case.deferred = [d for d in case.deferred if d.not_before > now]
    return [d.reply for d in ready]


def failed(
    case: "CaseState", effect: Effect, error: str, now: datetime, fallback: bool = True
) -> list[Effect]:
    """A notification or message that could not be delivered, for good.

    A message to the customer is tried once on their other channel.
    """
    if fallback and isinstance(effect, ReplyToCustomer) and not case.closed:
        return fall_back(case, effect, error, now)
    if isinstance(effect, AskBot):
        return bot.unavailable(case, error, now)
    if isinstance(effect, StartRca):
        target = effect.start.rca_id
    else:
        target = effect.kind if isinstance(effect, Notify) else effect.channel.value
    case.log(
        now,
        "delivery_failed",
        SYSTEM,
        reason=error,
        detail={"effect": effect.type, "target": target, "key": effect.key},
    )
    return []


def fall_back(
    case: "CaseState", reply: ReplyToCustomer, reason: str, now: datetime
) -> list[Effect]:
    """Send `reply` on the customer's other channel, once; record why either way."""
    target = _other_channel(case, reply)
    if target is None:
        case.log(
            now,
            "delivery_failed",
            SYSTEM,
            reason=f"{reason}; no other channel to reach the customer",
            detail={"effect": reply.type, "target": reply.channel.value, "key": reply.key},
        )
        return []
    case.log(
        now,
        "channel_fallback",
        SYSTEM,
        reason=reason,
        detail={"from": reply.channel.value, "to": target.value, "key": reply.key},
    )
    again = effects.reply(case, target, reply.text, options=False)
    return [again.model_copy(update={"fallback_from": reply.channel})]


def _other_channel(case: "CaseState", reply: ReplyToCustomer) -> Channel | None:
    if reply.fallback_from is not None:
        return None  # one switch per message: no ping-pong between two dead channels
    if reply.channel is not Channel.EMAIL and case.customer.email:
        return Channel.EMAIL
    if reply.channel is not Channel.SMS and case.customer.phone and not case.sms_opted_out:
        return Channel.SMS
    return None


def report(case: "CaseState", command: DeliveryReport, now: datetime) -> list[Effect]:
    """A provider says a message did not arrive: fall back if the case still knows it."""
    case.log(
        now,
        "delivery_report",
        command.provider,
        reason=f"{command.status.value}"
        + (f" (error {command.error_code})" if command.error_code else ""),
        detail={"provider_id": command.provider_id, "status": command.status.value},
    )
    if not command.status.failed:
        return []
    for item in case.sent:
        if item.provider == command.provider and item.provider_id == command.provider_id:
            case.sent.remove(item)
            reply = ReplyToCustomer(
                key=item.key,
                case_id=case.case_id,
                tenant=case.tenant,
                channel=item.channel,
                to=None,
                text=item.text,
                fallback_from=item.channel if item.fallback else None,
            )
            return fall_back(case, reply, f"{item.channel.value} {command.status.value}", now)
    return staff.bounced(case, command, now)  # a notice to staff, perhaps


def consent(case: "CaseState", command: SmsConsent, now: datetime) -> list[Effect]:
    if case.sms_opted_out == command.opted_out:
        return []  # already known (a repeated STOP, a provider retry): nothing to record
    case.sms_opted_out = command.opted_out
    case.log(
        now,
        "sms_opted_out" if command.opted_out else "sms_opted_in",
        "customer",
        reason=f"the customer texted {command.keyword.upper()}",
    )
    if command.opted_out:
        # Texts waiting for quiet hours to end must not go: send them by email instead.
        waiting = [d for d in case.deferred if d.reply.channel is Channel.SMS]
        case.deferred = [d for d in case.deferred if d.reply.channel is not Channel.SMS]
        out: list[Effect] = []
        for item in waiting:
            out += fall_back(case, item.reply, "the customer opted out of texts", now)
        return out
    return []
