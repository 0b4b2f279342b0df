"""Messages in and out: what a customer's message or an agent's reply does to a case."""

from datetime import datetime
from typing import TYPE_CHECKING

from domain import bot, clocks, csat, effects, escalation, staff, verification
from domain.commands import AgentMessage, CustomerMessage
from domain.consent import keyword as consent_keyword
from domain.durations import format_duration
from domain.effects import Effect
from domain.handoff import InboundText, chat_triggers
from domain.models import Author, CaseStatus, Channel
from domain.record import TranscriptEntry
from domain.sla import ClockKind
from domain.triggers import escalation_keyword

if TYPE_CHECKING:
    from domain.case import CaseState

SYSTEM = "system"


def customer_wrote(
    case: "CaseState", msg: CustomerMessage, now: datetime, opening: bool = False
) -> list[Effect]:
    """Record the message, resume what waited on the customer, honour an escalation keyword."""
    if not opening and msg.provider_message_id and case.record.seen(msg.provider_message_id):
        return []  # a provider retry of a message the case already has
    out: list[Effect] = []
    resolved = not opening and case.status is CaseStatus.RESOLVED
    case.record.add_message(
        TranscriptEntry(
            seq=0,
            at=now,
            author=Author.CUSTOMER,
            who=case.customer.id,
            channel=msg.channel,
            text=msg.text,
            media_count=msg.media_count,
            provider_message_id=msg.provider_message_id,
            sent_at=msg.sent_at,
            body=msg.body,
        )
    )
    case.last_inbound[msg.channel] = now
    if msg.channel is Channel.SMS:
        case.sms_exchanges += 1
        if msg.via:
            case.sms_number = msg.via
    if resolved and verification.pending(case):
        checked = verification.replied(case, msg.text, now)
        if checked is not None:
            return checked  # YES closes, NO reopens
    if resolved and csat.waiting(case):
        rating = csat.replied(case, msg.text, now)
        if rating is not None:
            return rating  # the rating (or a retry asked for): the case stays resolved
    if resolved:
        out += case.reopen(SYSTEM, "the customer wrote after resolution", now)
    _move_to(case, msg.channel, "customer", now)
    if case.status is CaseStatus.AWAITING_CUSTOMER:
        case.status = CaseStatus.OPEN
        clocks.resume_all(case, now)
        case.log(now, "customer_replied", "customer", reason="SLA clocks resumed")
    if case.first_response_at is not None:
        current = case.clocks.get(ClockKind.NEXT_RESPONSE)
        if current is None or current.stopped:
            clocks.start(case, ClockKind.NEXT_RESPONSE, now)
    if case.callback_offered and msg.channel is Channel.SMS and consent_keyword(msg.text) == "yes":
        return out + _callback_requested(case, now)
    # A claim-checked body is judged on its preview: the workflow never loads the body.
    keyword = escalation_keyword(msg.text, case.matrix.keywords)
    if keyword is not None:
        out += escalation.customer_asked(
            case, now, f"the customer wrote {keyword!r}", source="keyword"
        )
    if msg.channel is Channel.SMS:
        out += _maybe_offer_chat(case, msg, now)
    elif msg.channel is Channel.CHAT and case.chat_handoff_on:
        out += chat_joined(case, now)
        case.last_chat_at = now
        out += bot.customer_wrote(case, msg.text, now)
    return out


def _move_to(case: "CaseState", channel: Channel, actor: str, now: datetime) -> None:
    """The case is on `channel` from now on (recorded when it changes)."""
    if channel is not case.channel:
        moved: dict[str, str | int | bool | None] = {
            "from": case.channel.value,
            "to": channel.value,
        }
        case.log(now, "channel_changed", actor, detail=moved)
        case.channel = channel


def _maybe_offer_chat(case: "CaseState", msg: CustomerMessage, now: datetime) -> list[Effect]:
    """On a text: offer the web chat once, when a tenant trigger holds; record why."""
    if not case.chat_handoff_on:
        return []
    inbound = InboundText(
        text=msg.text,
        media_count=msg.media_count,
        exchanges=case.sms_exchanges,
        sentiment=msg.sentiment or 0.0,
        opened_at=case.opened_at,
        at=now,
    )
    in_chat = case.chat_offered_at is not None or case.channel is Channel.CHAT
    reasons = chat_triggers(case.policy.config.chat_handoff, inbound, in_chat)
    if not reasons:
        return []
    case.chat_offered_at = now
    case.chat_active = True
    case.chat_offer_reasons = [r.trigger.value for r in reasons]
    case.log(
        now,
        "chat_offered",
        SYSTEM,
        reason="; ".join(r.detail for r in reasons),
        detail={"triggers": ",".join(case.chat_offer_reasons)},
    )
    bot.asked_by_text(case, msg.text, now)
    offer = effects.reply(
        case, Channel.SMS, effects.text(case, "chat_offer", chat_link="{chat_link}"), options=False
    )
    return [offer.model_copy(update={"chat_link": True})]


def agent_wrote(case: "CaseState", msg: AgentMessage, now: datetime) -> list[Effect]:
    """Record the reply, meet the response clocks, send it to the customer."""
    if msg.message_id and case.record.seen(msg.message_id):
        return []  # a double click or a resend of a reply the case already has
    channel = msg.channel or case.channel
    if channel is Channel.SMS and case.sms_opted_out and case.customer.email:
        case.log(
            now,
            "channel_fallback",
            SYSTEM,
            reason="the customer opted out of texts",
            detail={"from": "sms", "to": "email", "key": None},
        )
        channel = Channel.EMAIL
    case.record.add_message(
        TranscriptEntry(
            seq=0,
            at=now,
            author=Author.AGENT,
            who=msg.agent,
            channel=channel,
            text=msg.text,
            provider_message_id=msg.message_id,
        )
    )
    if channel is Channel.SMS:
        case.sms_exchanges += 1
    elif channel is Channel.CHAT and case.chat_active:
        case.last_chat_at = now
        bot.agent_answered(case, msg.agent, now)
    clocks.met_by_reply(case, msg.agent, now)
    if case.first_response_at is None:
        case.first_response_at = now
    if case.assignee is None:
        case.assignee = msg.agent
    return [effects.reply(case, channel, msg.text)]


def _callback_requested(case: "CaseState", now: datetime) -> list[Effect]:
    """The customer replied YES to "Reply YES for a call back": tell the team, confirm."""
    if case.callback_requested_at is not None:
        return []  # one request per case; a second YES changes nothing
    case.callback_requested_at = now
    case.log(now, "callback_requested", "customer", reason="the customer replied YES")
    return [
        *staff.notify(
            case, "callback", "notify_escalation", now, reason="the customer asked for a call back"
        ),
        effects.reply(case, Channel.SMS, effects.text(case, "callback_ack"), options=False),
    ]


# ----- the chat after it was offered: joined, or back to SMS ------------------------------------
def chat_joined(case: "CaseState", now: datetime) -> list[Effect]:
    """The customer opened the chat (or wrote in it): the case is on chat from now on."""
    if case.chat_joined_at is not None and case.chat_active:
        return []  # another page load, another tab: nothing new
    case.chat_joined_at = now
    case.chat_active = True
    case.last_chat_at = now
    _move_to(case, Channel.CHAT, "customer", now)
    case.log(now, "chat_joined", "customer", reason="the customer opened the chat")
    return []


def chat_due(case: "CaseState") -> datetime | None:
    """When the chat gives up waiting: for the customer to open it, or after it went quiet."""
    if not case.chat_active or case.chat_offered_at is None:
        return None
    config = case.policy.config.chat_handoff
    if case.chat_joined_at is None:
        return case.chat_offered_at + config.join_within
    return (case.last_chat_at or case.chat_joined_at) + config.quiet_after


def chat_tick(case: "CaseState", now: datetime) -> list[Effect]:
    due = chat_due(case)
    if due is None or now < due:
        return []
    config = case.policy.config.chat_handoff
    case.chat_active = False
    if case.chat_joined_at is None:
        case.handoff_errors += 1
        case.log(
            now,
            "chat_fallback",
            SYSTEM,
            reason=f"the customer did not open the chat within {format_duration(config.join_within)}",
            detail={"handoff_error": True},
        )
        template = "chat_not_joined"
    else:
        case.log(
            now,
            "chat_fallback",
            SYSTEM,
            reason=f"nothing written in the chat for {format_duration(config.quiet_after)}",
            detail={"handoff_error": False},
        )
        template = "chat_quiet"
    _move_to(case, Channel.SMS, SYSTEM, now)
    return [effects.reply(case, Channel.SMS, effects.text(case, template), options=False)]
