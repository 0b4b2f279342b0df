"""The first-line chat bot: answers from the tenant's FAQ until a person takes over.

It is on for a case when the tenant enables it and the customer is in the web chat. Each
chat message goes to the FAQ (an activity: the FAQ is not part of the case's state); the
answer, or "not sure", is written in the chat as the bot. A person takes over, for good,
when the customer writes one of the tenant's handover words ("agent", "human"...), when
the bot could not answer `misses_before_handover` questions in a row, when the FAQ cannot
be reached, or when an agent answers in the chat. The staff of the case's level are told,
and they see the whole conversation, the bot's part included.
"""

import re
from datetime import datetime
from typing import TYPE_CHECKING

from domain import effects, staff
from domain.effects import AskBot, BotAnswer, Effect
from domain.faq import words
from domain.models import Author, Channel
from domain.record import TranscriptEntry

if TYPE_CHECKING:
    from domain.case import CaseState

BOT = "bot"


def answering(case: "CaseState") -> bool:
    """Whether the bot answers the customer's chat messages now."""
    return (
        case.policy.config.chat_bot.enabled
        and case.chat_offered_at is not None  # a chat the case offered (not a page left open)
        and case.chat_active
        and case.chat_joined_at is not None
        and not case.bot_handed_over
        and not case.closed
    )


def handover_word(text: str, words: list[str]) -> str | None:
    lowered = text.lower()
    for word in words:
        if re.search(rf"\b{re.escape(word.lower())}\b", lowered):
            return word
    return None


def customer_wrote(case: "CaseState", text: str, now: datetime) -> list[Effect]:
    """A chat message from the customer: a person if they ask for one, else ask the FAQ."""
    if not answering(case):
        return []
    config = case.policy.config.chat_bot
    word = handover_word(text, config.handover_words)
    if word is not None:
        return hand_over(case, now, f"the customer asked for a person ({word!r})", "customer")
    if not words(text):
        return []  # "hi", "thanks", a picture: not a question, and not a miss either
    return [effects.ask_bot(case, text)]


def asked_by_text(case: "CaseState", text: str, now: datetime) -> None:
    """The text that brought the chat asked for a person: the chat starts with one."""
    if not case.policy.config.chat_bot.enabled or case.bot_handed_over:
        return
    word = handover_word(text, case.policy.config.chat_bot.handover_words)
    if word is not None:
        case.bot_handed_over = True
        case.log(now, "bot_handover", "customer", reason=f"asked for a person by text ({word!r})")


def answered(case: "CaseState", asked: AskBot, answer: BotAnswer, now: datetime) -> list[Effect]:
    """The FAQ's answer to `asked`: say it, or say the bot is unsure (and hand over)."""
    if not answering(case):
        return []  # a person took over while the FAQ was asked: they answer now
    config = case.policy.config.chat_bot
    if answer.answer is not None:
        case.bot_misses = 0
        footer = effects.text(case, "bot_footer")
        said = _say(case, f"{answer.answer}\n\n{footer}", now)
        case.log(
            now,
            "bot_answered",
            BOT,
            detail={
                "faq": (answer.matched or "")[:200],
                "coverage_pct": round(answer.coverage * 100),
            },
        )
        return said
    case.bot_misses += 1
    if case.bot_misses >= config.misses_before_handover:
        return hand_over(
            case, now, f"the bot could not answer {case.bot_misses} questions in a row", BOT
        )
    return _say(case, effects.text(case, "bot_unsure"), now)


def unavailable(case: "CaseState", error: str, now: datetime) -> list[Effect]:
    """The FAQ could not be asked: a person answers instead."""
    if not answering(case):
        return []
    return hand_over(case, now, f"the bot is unavailable ({error[:200]})", BOT)


def agent_answered(case: "CaseState", agent: str, now: datetime) -> None:
    """An agent wrote in the chat: the bot stops."""
    if answering(case):
        case.bot_handed_over = True
        case.log(now, "bot_handover", agent, reason="an agent answered in the chat")


def hand_over(case: "CaseState", now: datetime, reason: str, actor: str) -> list[Effect]:
    case.bot_handed_over = True
    case.log(now, "bot_handover", actor, reason=reason)
    said = _say(case, effects.text(case, "bot_handover"), now)
    return [*said, *staff.notify(case, "chat_handover", "notify_chat_handover", now, reason=reason)]


def _say(case: "CaseState", text: str, now: datetime) -> list[Effect]:
    """The bot writes in the chat: in the transcript, and to the chat provider (the built-in
    web chat shows the transcript; another provider delivers the message itself)."""
    case.record.add_message(
        TranscriptEntry(seq=0, at=now, author=Author.BOT, who=BOT, channel=Channel.CHAT, text=text)
    )
    case.last_chat_at = now
    return [effects.reply(case, Channel.CHAT, text, options=False)]
