"""SMS consent keywords (STOP, START, HELP) and the standard replies to them.

A keyword counts only when it is the whole message: "Stop calling me at night" is a
message for an agent, not an opt-out. Around the word we are generous (case, spaces,
punctuation, quotes, emoji, full-width letters), because a missed STOP is a compliance
breach.
"""

import re
import unicodedata
from enum import StrEnum

OPT_OUT_WORDS = frozenset(
    {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
)
OPT_IN_WORDS = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})
# YES re-subscribes only an opted-out number; otherwise it answers something else
# (a callback offer, a survey) and the caller handles it.
OPT_IN_WHEN_OPTED_OUT = frozenset({"yes"})

# "Opt-Out", "opt out" and "OPT - OUT" (any dash) are all written for OPTOUT; no other
# keyword has an inner break that people type.
_OPT_OUT_SPELLED = re.compile(r"opt[\s\-\u2010-\u2015]*out")


class ConsentAction(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


def _is_padding(c: str) -> bool:
    # Anything but a letter or digit may surround a keyword: punctuation, quotes and «»,
    # spaces, tabs, newlines, zero-width spaces, emoji and their variation selectors.
    return unicodedata.category(c)[0] not in "LN"


def keyword(text: str) -> str | None:
    """The keyword that `text` consists of, lower-cased ("optout" for "Opt-Out"), if any."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    start, end = 0, len(folded)
    while start < end and _is_padding(folded[start]):
        start += 1
    while end > start and _is_padding(folded[end - 1]):
        end -= 1
    word = folded[start:end]
    if _OPT_OUT_SPELLED.fullmatch(word):
        word = "optout"
    known = OPT_OUT_WORDS | OPT_IN_WORDS | HELP_WORDS | OPT_IN_WHEN_OPTED_OUT
    return word if word in known else None


def consent_action(text: str, opted_out: bool) -> ConsentAction | None:
    """What an inbound message asks for, when the whole message is a consent keyword."""
    word = keyword(text)
    if word in OPT_OUT_WORDS:
        return ConsentAction.OPT_OUT
    if word in OPT_IN_WORDS or (opted_out and word in OPT_IN_WHEN_OPTED_OUT):
        return ConsentAction.OPT_IN
    if word in HELP_WORDS:
        return ConsentAction.HELP
    return None


def confirmation(action: ConsentAction, brand: str, help_text: str | None = None) -> str:
    """The reply to a consent keyword; the tenant's own help text wins for HELP."""
    if not brand.strip():
        raise ValueError("a consent reply needs the brand the customer is talking to")
    match action:
        case ConsentAction.OPT_OUT:
            return (
                f"You have been unsubscribed from {brand} messages and will not receive "
                "any more. Reply START to resubscribe."
            )
        case ConsentAction.OPT_IN:
            return f"You are resubscribed to {brand} messages. Reply STOP to unsubscribe."
        case ConsentAction.HELP:
            if help_text and help_text.strip():
                return help_text.strip()
            return (
                f"{brand} support: reply to this number to reach us. "
                "Reply STOP to unsubscribe. Msg&data rates may apply."
            )
