"""Customer satisfaction after resolution: ask once, read the answer leniently, act on a low one.

When a case is resolved (and the tenant's `[csat]` is on) the customer is asked, on the
channel they last used (by email if they opted out of texts; not at all without one), to
rate the help from 1 to 5; quiet hours and consent apply as to any message (the delivery
activity enforces them). A reply while the case waits for the
rating is read leniently: "5", "five", "5 stars", "4/5", "★★★★". A reply with a number that
is not a rating ("10", "3 or 4") gets one polite retry; a reply with no number at all is a
message like any other (the case reopens). A rating at or below `low_score` notifies the
case's level and marks the case for review.

By email the question carries a signed link to a one-click rating page; in the web chat the
page shows a rating widget under the question. Either answers with the `rate` command. With
the tenant's `nps` on, the rating is followed by one more question, how likely the customer
is to recommend the brand from 0 to 10, read the same lenient way (the link's page and the
widget ask both at once).
"""

import re
from datetime import datetime
from typing import TYPE_CHECKING

from domain import effects, staff
from domain.commands import Rate
from domain.effects import Effect
from domain.models import Author, Channel
from domain.record import TranscriptEntry

if TYPE_CHECKING:
    from domain.case import CaseState

WORDS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
_NUMBER = re.compile(r"\d+|\b(?:" + "|".join(WORDS) + r")\b")
# How replies were read before the patch `csat-words` (runs started then replay with it): the
# number words one to five anywhere, even inside another word ("done" read as a 1).
_OLD_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_OLD_NUMBER = re.compile(r"\d+|" + "|".join(_OLD_WORDS))
_STARS = re.compile(r"[★⭐]")
SYSTEM = "system"


class Unclear(ValueError):
    """A reply with a number that is not one rating from 1 to 5."""


def _numbers(lowered: str, words: bool = True) -> list[int]:
    table, pattern = (WORDS, _NUMBER) if words else (_OLD_WORDS, _OLD_NUMBER)
    return [
        table[n] if n in table else int(n)
        for n in pattern.findall(lowered)
        if len(n) <= 3 or n in table
    ]


def parse_rating(text: str, words: bool = True) -> int | None:
    """The rating in `text`; None when it holds no number at all; Unclear otherwise.

    `words`: number words count only as whole words (a case from before `csat-words` reads
    replies as it did then: "done" held a "one")."""
    lowered = text.lower()
    stars = len(_STARS.findall(lowered))
    found = [n for n in _numbers(lowered, words) if n]  # "0" is no rating
    if "/5" in lowered.replace(" ", "") or "outof5" in lowered.replace(" ", ""):
        found = [n for n in found if n != 5] or [5]  # "4/5" is a 4; "5/5" a 5
    if stars and not found:
        found = [stars]
    if not found and not (_NUMBER if words else _OLD_NUMBER).search(lowered):
        return None
    ratings = set(found)
    if len(ratings) != 1 or not 1 <= next(iter(ratings)) <= 5:
        raise Unclear(text)
    return ratings.pop()


def parse_nps(text: str) -> int | None:
    """How likely to recommend, 0 to 10, in `text` ("9", "nine", "9/10"); None when it holds
    no number; Unclear for a number that is not one score."""
    lowered = text.lower()
    found = _numbers(lowered)
    if "/10" in lowered.replace(" ", "") or "outof10" in lowered.replace(" ", ""):
        found = [n for n in found if n != 10] or [10]
    if not found:
        return None
    scores = set(found)
    if len(scores) != 1 or not 0 <= next(iter(scores)) <= 10:
        raise Unclear(text)
    return scores.pop()


def ask(case: "CaseState", now: datetime) -> list[Effect]:
    """On resolution: ask for the rating, once per resolution."""
    if not case.csat_on or not case.policy.config.csat.enabled:
        return []
    channel = _channel(case)
    if channel is None:
        case.log(now, "csat_not_asked", SYSTEM, reason="opted out of texts, and no email")
        return []
    case.csat_asked_at = now
    case.csat_retried = False
    case.log(now, "csat_asked", SYSTEM, detail={"channel": channel.value})
    template = {Channel.EMAIL: "csat_ask_email", Channel.CHAT: "csat_ask_chat"}
    said = _say(
        case,
        effects.text(case, template.get(channel, "csat_ask"), rating_link="{rating_link}"),
        now,
    )
    return [
        s.model_copy(update={"rating_link": True}) if channel is Channel.EMAIL else s for s in said
    ]


def waiting(case: "CaseState") -> bool:
    """The case waits for the rating, or (with NPS on) for the recommendation score."""
    return case.csat_asked_at is not None and (case.csat_score is None or _nps_waiting(case))


def _nps_waiting(case: "CaseState") -> bool:
    return case.nps_asked_at is not None and case.nps_score is None


def rate(case: "CaseState", command: Rate, now: datetime) -> list[Effect]:
    """A rating from the link's page or the chat's widget (NPS with it, when asked)."""
    if case.csat_asked_at is None:
        raise ValueError("the case has not asked for a rating")
    if case.csat_score is not None:
        raise ValueError("the case is already rated")
    nps = command.nps if case.policy.config.csat.nps else None
    out = _rated(case, command.score, now, command.source, ask_nps=False)
    if nps is not None:
        case.nps_score = nps
        case.log(now, "nps_received", "customer", detail={"score": nps, "source": command.source})
    return out


def replied(case: "CaseState", text: str, now: datetime) -> list[Effect] | None:
    """A customer message while the rating (or the NPS score) is awaited: the effects if it
    was taken as the answer (or a retry was asked for); None if it is an ordinary message."""
    asking_nps = case.csat_score is not None
    try:
        score = parse_nps(text) if asking_nps else parse_rating(text, case.csat_words_on)
    except Unclear:
        if case.csat_retried:
            return None  # one retry only: now it is a message like any other
        case.csat_retried = True
        what = "a score from 0 to 10" if asking_nps else "a rating from 1 to 5"
        case.log(now, "csat_unclear", "customer", reason=f"not {what}")
        return _say(case, effects.text(case, "nps_retry" if asking_nps else "csat_retry"), now)
    if score is None:
        return None
    if asking_nps:
        case.nps_score = score
        case.log(now, "nps_received", "customer", detail={"score": score, "source": "reply"})
        return _say(case, effects.text(case, "csat_thanks"), now)
    return _rated(case, score, now, "reply", ask_nps=case.policy.config.csat.nps)


def _rated(
    case: "CaseState", score: int, now: datetime, source: str, ask_nps: bool
) -> list[Effect]:
    case.csat_score = score
    low = score <= case.policy.config.csat.low_score
    case.csat_review = case.csat_review or low
    case.log(
        now, "csat_received", "customer", detail={"score": score, "low": low, "source": source}
    )
    if ask_nps:
        case.nps_asked_at = now
        case.csat_retried = False  # one retry for this question too
        out = _say(case, effects.text(case, "nps_ask"), now)
    else:
        out = _say(case, effects.text(case, "csat_thanks"), now)
    if low:
        case.log(now, "csat_low", SYSTEM, reason=f"rated {score} of 5: marked for review")
        out += staff.notify(case, "csat_low", "notify_csat_low", now, reason=f"rated {score} of 5")
    return out


def _channel(case: "CaseState") -> Channel | None:
    """The customer's channel; email instead of texts they opted out of."""
    if case.channel is Channel.SMS and case.sms_opted_out:
        return Channel.EMAIL if case.customer.email else None
    return case.channel


def _say(case: "CaseState", text: str, now: datetime) -> list[Effect]:
    """On chat the question is written in the transcript (the page shows the store)."""
    channel = _channel(case)
    if channel is None:
        return []
    if channel is Channel.CHAT:
        case.record.add_message(
            TranscriptEntry(
                seq=0, at=now, author=Author.SYSTEM, who=SYSTEM, channel=Channel.CHAT, text=text
            )
        )
    return [effects.reply(case, channel, text, options=False)]
