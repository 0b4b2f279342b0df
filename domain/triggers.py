"""Escalation triggers found in what the customer writes."""

import re
from collections.abc import Iterable

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def words(text: str) -> list[str]:
    """Lower-cased words with punctuation dropped ("MANAGER!!" -> ["manager"])."""
    return _WORD.findall(text.casefold())


def escalation_keyword(text: str, keywords: Iterable[str]) -> str | None:
    """The first tenant keyword (a word or phrase) that the text contains as whole words."""
    tokens = words(text)
    for keyword in keywords:
        phrase = words(keyword)
        if not phrase:
            continue
        width = len(phrase)
        if any(tokens[i : i + width] == phrase for i in range(len(tokens) - width + 1)):
            return keyword
    return None
