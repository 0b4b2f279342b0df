"""Sending email: SendGrid through its real SDK, or the local outbox when no key is set up.

SendGrid's SDK is synchronous: sends run in a worker thread. Its Mail Send API has no
idempotency key either; the case's effect key travels in `custom_args` so the event
webhook can tie deliveries, bounces and drops back to the case.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Protocol

import structlog
from python_http_client.exceptions import HTTPError
from sendgrid import SendGridAPIClient
from sendgrid.helpers.mail import Content, CustomArg, From, Mail, ReplyTo, To

from activities.outbox import Outbox, OutboxEntry, now_utc
from activities.providers import ProviderFailed, retry_after
from domain.privacy import mask_email, redact

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Email:
    key: str
    case_id: str
    tenant: str
    sender: str
    sender_name: str | None
    to: str
    subject: str
    body: str
    reply_to: str | None = None
    custom_args: dict[str, str] = field(default_factory=dict)
    kind: str = "customer"  # or the staff notice's kind
    name: str | None = None  # the recipient's name


class EmailProvider(Protocol):
    name: str

    async def send(self, email: Email) -> str:
        """Send; the provider's id for the message. Raises ProviderFailed."""
        ...


class OutboxEmail:
    name = "outbox"

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def send(self, email: Email) -> str:
        entry = OutboxEntry(
            key=email.key,
            at=now_utc(),
            kind=email.kind,
            case_id=email.case_id,
            tenant=email.tenant,
            channel="email",
            recipient=f"{email.name} <{mask_email(email.to)}>"
            if email.name
            else mask_email(email.to),
            text=f"[{email.subject}] {email.body}",
        )
        await asyncio.to_thread(self.outbox.put, entry)
        return f"outbox:{email.key}"


class SendGridEmail:
    """SendGrid's v3 Mail Send through the official SDK."""

    name = "sendgrid"

    def __init__(self, api_key: str, api_url: str, timeout: float = 15.0) -> None:
        self._client = SendGridAPIClient(api_key=api_key, host=api_url.rstrip("/"))
        self._client.client.timeout = timeout  # the SDK's default is to wait forever

    async def send(self, email: Email) -> str:
        return await asyncio.to_thread(self._send, email)

    def _send(self, email: Email) -> str:
        mail = Mail(
            from_email=From(email.sender, email.sender_name),
            to_emails=To(email.to, email.name),
            subject=email.subject,
            plain_text_content=Content("text/plain", email.body),
        )
        if email.reply_to:
            mail.reply_to = ReplyTo(email.reply_to)
        for key, value in {**email.custom_args, "escalate_key": email.key}.items():
            mail.custom_arg = CustomArg(key, value)
        try:
            response = self._client.send(mail)
        except HTTPError as exc:
            raise classify(exc) from exc
        except OSError as exc:  # urllib's URLError, a reset connection, a timeout
            raise ProviderFailed(
                "sendgrid", f"cannot reach SendGrid: {type(exc).__name__}: {exc}", permanent=False
            ) from exc
        headers = {k.lower(): v for k, v in dict(response.headers or {}).items()}
        return str(headers.get("x-message-id") or f"sendgrid:{email.key}")


def classify(exc: HTTPError) -> ProviderFailed:
    """429 and 5xx retry (after Retry-After or the rate limit's reset); other 4xx do not."""
    status = int(exc.status_code)
    headers = {k.lower(): v for k, v in dict(exc.headers or {}).items()}
    detail = _errors(exc.body) or f"HTTP {status}"
    if status == 429 or status >= 500:
        wait = retry_after(headers.get("retry-after"), time.time())
        reset = headers.get("x-ratelimit-reset")
        if wait is None and reset and str(reset).isdigit():
            wait = retry_after(str(max(int(reset) - int(time.time()), 0)), time.time())
        return ProviderFailed(
            "sendgrid",
            f"HTTP {status}: {detail}",
            permanent=False,
            code=str(status),
            retry_after=wait,
        )
    meaning = {
        400: "SendGrid refused the message",
        401: "SendGrid refused the API key",
        403: "the API key may not send from this address",
        413: "the message is too large",
    }.get(status, f"HTTP {status}")
    return ProviderFailed("sendgrid", f"{meaning}: {detail}", permanent=True, code=str(status))


def _errors(body: bytes | str | None) -> str:
    """SendGrid's {"errors": [{"message": ...}]} as one line, personal data masked."""
    if not body:
        return ""
    try:
        parsed = json.loads(body)
        messages = [str(e.get("message", "")) for e in parsed.get("errors", [])]
        text = "; ".join(m for m in messages if m)
    except (ValueError, AttributeError, TypeError):
        text = body.decode(errors="replace") if isinstance(body, bytes) else str(body)
    return redact(text.strip())[:300]
