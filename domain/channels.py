"""What the channels share: the key a customer's address is stored under, delivery outcomes."""

import hashlib
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from domain.models import Channel


def address_key(channel: Channel, address: str) -> str:
    """A stable key for a customer's phone number or email address, without storing it.

    SHA-256 of the channel and the normalised address: enough to find a conversation, count
    texts and honour an opt-out. It keeps addresses out of the store's tables and dumps; it is
    pseudonymisation (a known number can be checked against it), not anonymisation.
    """
    normal = address.strip().casefold() if channel is Channel.EMAIL else address.strip()
    return hashlib.sha256(f"{channel.value}:{normal}".encode()).hexdigest()


class DeliveryStatus(StrEnum):
    """Where a message is, as the providers report it (Twilio's names; SendGrid's mapped)."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    UNDELIVERED = "undelivered"
    FAILED = "failed"
    READ = "read"

    @property
    def failed(self) -> bool:
        return self in (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED)


class Outcome(StrEnum):
    """What became of one customer message handed to a channel."""

    SENT = "sent"  # the provider (or the outbox) accepted it
    DEFERRED = "deferred"  # quiet hours or the daily cap: try again at `not_before`
    REFUSED = "refused"  # it must not or cannot go on this channel: use another one


class SendResult(BaseModel):
    """The answer of the activity that sends a customer message."""

    outcome: Outcome
    provider: str
    provider_id: str | None = None
    not_before: datetime | None = None
    reason: str | None = None
    error_code: str | None = None
    segments: int | None = None
