"""The chat provider: where a customer joins a chat, and how a message reaches them there.

`WebChat` is the built-in provider: the link is the ingress's signed page
(`ingress.chat_links`), and a message needs no sending: the page streams the case's
transcript from the record store, where the journal writes it (a copy goes to the local
outbox, so `escalate outbox` shows the conversation). Another provider (Twilio
Conversations, say) implements the same two calls: a link (or session) for the case, and
sending one message into it, raising `ProviderFailed` like the SMS and email providers.
"""

import asyncio
from dataclasses import dataclass
from typing import Protocol

from activities.outbox import Outbox, OutboxEntry, now_utc
from domain.channels import Outcome, SendResult
from domain.effects import ReplyToCustomer
from ingress.chat_links import ChatLinks


class ChatProvider(Protocol):
    name: str

    async def link(self, case_id: str, tenant: str) -> str:
        """Where the customer joins the case's chat (a URL they receive by text)."""
        ...

    async def send(self, message: ReplyToCustomer) -> SendResult:
        """Put one message in the customer's chat."""
        ...


@dataclass
class WebChat:
    links: ChatLinks
    outbox: Outbox
    name: str = "web-chat"

    async def link(self, case_id: str, tenant: str) -> str:
        return self.links.url(case_id)

    async def send(self, message: ReplyToCustomer) -> SendResult:
        entry = OutboxEntry(
            key=message.key,
            at=now_utc(),
            kind="customer",
            case_id=message.case_id,
            tenant=message.tenant,
            channel=message.channel.value,
            recipient=message.to or "",
            text=message.text,
        )
        await asyncio.to_thread(self.outbox.put, entry)
        return SendResult(outcome=Outcome.SENT, provider=self.name)
