"""SMS segment counting: which encoding a text needs and how many segments it is billed as.

Empty text is 0 segments: nothing is sent. A body Twilio would refuse is caught by
`check_body` before it reaches the provider.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum

# GSM 03.38 default alphabet (0x1B, the escape, is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as escape + code, so it costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

SINGLE_GSM7 = 160
CONCAT_GSM7 = 153  # 7 septets go to the concatenation header
SINGLE_UCS2 = 70
CONCAT_UCS2 = 67

# Twilio refuses longer bodies (error 21617). It counts an emoji as more than one
# character, so the limit is applied to UTF-16 code units, the stricter reading.
MAX_SMS_CHARS = 1600


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


@dataclass(frozen=True)
class Segments:
    """How a text goes over the air: its encoding, its size in units, and its segment count."""

    encoding: Encoding
    units: int  # GSM-7 septets or UTF-16 code units
    count: int

    @property
    def per_segment(self) -> int:
        """Units that fit in each segment: a lone segment has no concatenation header."""
        single = self.count <= 1
        if self.encoding is Encoding.GSM7:
            return SINGLE_GSM7 if single else CONCAT_GSM7
        return SINGLE_UCS2 if single else CONCAT_UCS2


def is_gsm7(text: str) -> bool:
    """True when every character has a GSM 03.38 code (basic or extension table)."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def _utf16_units(c: str) -> int:
    return 2 if ord(c) > 0xFFFF else 1


def _costs(text: str, encoding: Encoding) -> Iterator[int]:
    if encoding is Encoding.GSM7:
        return (2 if c in GSM7_EXTENSION else 1 for c in text)
    return (_utf16_units(c) for c in text)


def segments(text: str) -> Segments:
    """The encoding, size and segment count of `text` as sent by SMS."""
    encoding = Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
    costs = list(_costs(text, encoding))
    units = sum(costs)
    single, concat = (
        (SINGLE_GSM7, CONCAT_GSM7) if encoding is Encoding.GSM7 else (SINGLE_UCS2, CONCAT_UCS2)
    )
    if units == 0:
        return Segments(encoding, 0, 0)
    if units <= single:
        return Segments(encoding, units, 1)
    # Pack greedily: an escape pair or a surrogate pair is never split between two
    # segments, so a segment may carry one unit less than `concat`.
    count, used = 1, 0
    for cost in costs:
        if used + cost > concat:
            count, used = count + 1, 0
        used += cost
    return Segments(encoding, units, count)


def fits(text: str, budget: int) -> bool:
    """True when `text` goes in at most `budget` segments."""
    return segments(text).count <= budget


def check_body(text: str) -> None:
    """Raise ValueError for a body the provider would refuse: blank, or over 1600 characters."""
    if not text.strip():
        raise ValueError("SMS body is empty: there is nothing to send")
    length = sum(_utf16_units(c) for c in text)
    if length > MAX_SMS_CHARS:
        raise ValueError(
            f"SMS body is {length} characters (UTF-16 code units); the limit is {MAX_SMS_CHARS}"
        )
