"""Masking personal data (phone numbers, emails) before it reaches a log or a listing."""

import re

_EMAIL = re.compile(
    r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-])[A-Za-z0-9.-]*\.([A-Za-z]{2,})"
)
# E.164 (+ and 7-15 digits), or a national number written with separators: 202-555-0123.
_PHONE = re.compile(r"\+\d{7,15}\b|\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b")


def mask_phone(phone: str) -> str:
    """+447700900123 -> +44*******123: enough to tell numbers apart, not to dial one."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 6:
        return "*" * len(phone)
    keep_head = 2 if phone.startswith("+") else 0
    head, tail = digits[:keep_head], digits[-3:]
    masked = "".join(head) + "*" * (len(digits) - keep_head - 3) + "".join(tail)
    return ("+" if phone.startswith("+") else "") + masked


def mask_email(email: str) -> str:
    """dana.smith@example.com -> d***@e***.com"""
    return _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}***.{m[3]}", email)


def redact(text: str) -> str:
    """Mask every email address and phone-number-like run of digits in free text."""
    text = _EMAIL.sub(lambda m: f"{m[1]}***@{m[2]}***.{m[3]}", text)
    return _PHONE.sub(lambda m: mask_phone(m[0]), text)
