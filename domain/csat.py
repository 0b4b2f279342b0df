"""Customer satisfaction after resolution: ask once, read the answer leniently, act on a low one.

When a case is resolved (and the tenant's `[csat]` is on) the customer is asked, on the
channel they last used (by email if they opted out of texts; not at all without one), to
rate the help from 1 to 5; quiet hours and consent apply as to any message (the delivery
activity enforces them). A reply while the case waits for the
rating is read leniently: "5", "five", "5 stars", "4/5", "★★★★". A reply with a number that
is not a rating ("10", "3 or 4") gets one polite retry; a reply with no number at all is a
message like any other (the case reopens). A rating at or below `low_score` notifies the
case's level and marks the case for review.
"""

import re
from datetime import datetime
from typing import TYPE_CHECKING

from domain import effects, staff
from domain.effects import Effect
from domain.models import Author, Channel
from domain.record import TranscriptEntry

if TYPE_CHECKING:
    from domain.case import CaseState

WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_NUMBER = re.compile(r"\d+|" + "|".join(WORDS))
_STARS = re.compile(r"[★⭐]")
SYSTEM = "system"


class Unclear(ValueError):
    """A reply with a number that is not one rating from 1 to 5."""


def parse_rating(text: str) -> int | None:
    """The rating in `text`; None when it holds no number at all; Unclear otherwise."""
    lowered = text.lower()
    stars = len(_STARS.findall(lowered))
    found = [WORDS.get(n) or int(n) for n in _NUMBER.findall(lowered) if len(n) <= 3 or n in WORDS]
    found = [n for n in found if n]  # "0" is no rating
    if "/5" in lowered.replace(" ", "") or "outof5" in lowered.replace(" ", ""):
        found = [n for n in found if n != 5] or [5]  # "4/5" is a 4; "5/5" a 5
    if stars and not found:
        found = [stars]
    if not found and not _NUMBER.search(lowered):
        return None
    ratings = set(found)
    if len(ratings) != 1 or not 1 <= next(iter(ratings)) <= 5:
        raise Unclear(text)
    return ratings.pop()


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
    return _say(case, effects.text(case, "csat_ask"), now)


def waiting(case: "CaseState") -> bool:
    return case.csat_asked_at is not None and case.csat_score is None


def replied(case: "CaseState", text: str, now: datetime) -> list[Effect] | None:
    """A customer message while the rating is awaited: the effects if it was taken as the
    rating (or a retry was asked for); None if it is an ordinary message."""
    try:
        score = parse_rating(text)
    except Unclear:
        if case.csat_retried:
            return None  # one retry only: now it is a message like any other
        case.csat_retried = True
        case.log(now, "csat_unclear", "customer", reason="not a rating from 1 to 5")
        return _say(case, effects.text(case, "csat_retry"), now)
    if score is None:
        return None
    case.csat_score = score
    low = score <= case.policy.config.csat.low_score
    case.csat_review = case.csat_review or low
    case.log(now, "csat_received", "customer", detail={"score": score, "low": low})
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
