"""When an SMS conversation should move to the web chat, and why (pure: no clock, no I/O).

Evaluated on every inbound text. Each trigger that holds comes back with its reason, in a
fixed order, so the case records why it offered the chat. A case already in chat (or already
offered it) is not offered it again; the caller says so with `in_chat`.
"""

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.durations import format_duration
from domain.tenant import ChatHandoffConfig
from domain.triggers import escalation_keyword


class HandoffTrigger(StrEnum):
    ASKED = "asked"
    EXCHANGES = "exchanges"
    LONG_MESSAGE = "long_message"
    PICTURES = "pictures"
    NEGATIVE = "negative_sentiment"
    SLOW = "slow_progress"


@dataclass(frozen=True)
class Reason:
    trigger: HandoffTrigger
    detail: str


@dataclass(frozen=True)
class InboundText:
    """What the triggers look at in one inbound text and its conversation so far."""

    text: str
    media_count: int
    exchanges: int  # back-and-forth texts in the conversation, this one included
    sentiment: float  # VADER compound score of the text, -1 (negative) to 1
    opened_at: datetime
    at: datetime


def chat_triggers(config: ChatHandoffConfig, inbound: InboundText, in_chat: bool) -> list[Reason]:
    """The reasons to offer the chat now; none when it is off or the case is in chat."""
    if not config.enabled or in_chat:
        return []
    found: list[Reason] = []
    asked = escalation_keyword(inbound.text, config.keywords)
    if asked is not None:
        found.append(Reason(HandoffTrigger.ASKED, f"the customer asked: {asked!r}"))
    if inbound.exchanges > config.max_exchanges:
        found.append(
            Reason(
                HandoffTrigger.EXCHANGES,
                f"{inbound.exchanges} texts back and forth (more than {config.max_exchanges})",
            )
        )
    if len(inbound.text) >= config.long_message_chars:
        found.append(
            Reason(
                HandoffTrigger.LONG_MESSAGE,
                f"a {len(inbound.text)}-character text (at least {config.long_message_chars})",
            )
        )
    if config.pictures and inbound.media_count > 0:
        found.append(Reason(HandoffTrigger.PICTURES, f"{inbound.media_count} picture(s) sent"))
    if inbound.sentiment <= config.negative_sentiment:
        found.append(
            Reason(
                HandoffTrigger.NEGATIVE,
                f"sentiment {inbound.sentiment:.2f} (at or below {config.negative_sentiment:.2f})",
            )
        )
    waited = inbound.at - inbound.opened_at
    if waited >= config.slow_progress:
        open_for, limit = format_duration(waited), format_duration(config.slow_progress)
        found.append(Reason(HandoffTrigger.SLOW, f"open {open_for} over SMS (at least {limit})"))
    return found
