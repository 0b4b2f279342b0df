"""Activities that deliver a case's effects: staff notifications and customer messages.

Until provider credentials are configured they deliver to the local outbox.
"""

import asyncio
from dataclasses import dataclass

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.outbox import Outbox, OutboxEntry, now_utc
from domain.effects import Notify, ReplyToCustomer
from domain.privacy import mask_email, mask_phone

log = structlog.get_logger(__name__)


def _masked(address: str) -> str:
    return mask_email(address) if "@" in address else mask_phone(address)


@dataclass
class DeliveryActivities:
    outbox: Outbox

    @activity.defn(name="notify_escalation")
    async def notify_escalation(self, notice: Notify) -> int:
        """Notify every recipient of the escalation; returns how many were new deliveries."""
        if not notice.recipients:
            raise ApplicationError(
                f"no recipients for {notice.level.label}",
                type="InvalidRecipient",
                non_retryable=True,
            )
        delivered = 0
        for index, contact in enumerate(notice.recipients):
            entry = OutboxEntry(
                key=f"{notice.key}:{index}",
                at=now_utc(),
                kind=notice.kind,
                case_id=notice.case_id,
                tenant=notice.tenant,
                channel=contact.channel.value,
                recipient=f"{contact.name} <{_masked(contact.address)}>",
                text=notice.text,
            )
            delivered += await asyncio.to_thread(self.outbox.put, entry)
        log.info(
            "staff notified",
            case_id=notice.case_id,
            tenant=notice.tenant,
            kind=notice.kind,
            level=notice.level.label,
            recipients=len(notice.recipients),
            new=delivered,
        )
        return delivered

    @activity.defn(name="send_customer_message")
    async def send_customer_message(self, message: ReplyToCustomer) -> bool:
        if not message.to:
            raise ApplicationError(
                f"the customer has no address for {message.channel.value}",
                type="InvalidRecipient",
                non_retryable=True,
            )
        entry = OutboxEntry(
            key=message.key,
            at=now_utc(),
            kind="customer",
            case_id=message.case_id,
            tenant=message.tenant,
            channel=message.channel.value,
            recipient=_masked(message.to) if message.channel.value != "chat" else message.to,
            text=message.text,
        )
        new = await asyncio.to_thread(self.outbox.put, entry)
        log.info(
            "customer message sent",
            case_id=message.case_id,
            tenant=message.tenant,
            channel=message.channel.value,
            new=new,
        )
        return new
