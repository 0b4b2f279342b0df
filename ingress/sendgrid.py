"""SendGrid's webhooks: Inbound Parse (customers' emails) and the signed Event Webhook.

Inbound Parse is not signed by SendGrid. It is protected by HTTP Basic credentials that
SendGrid is given inside the configured URL
(`https://sendgrid:PASSWORD@host/webhooks/sendgrid/inbound`, printed by
`escalate ingress --show-parse-url`) and sends as an `Authorization: Basic` header. The
password is derived from the Twilio signing key (`ingress.signing.parse_password`); a
request without them, or with others, gets 401 and nothing is read from it. Basic
credentials are as safe as the channel: use an https public URL in production.

The Event Webhook is verified with SendGrid's ECDSA signature (`EventWebhook`) against
`settings.sendgrid_event_public_key`; without a key it answers 503 and accepts nothing.
"""

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import secrets
from datetime import UTC, datetime
from email.parser import HeaderParser
from email.utils import getaddresses, parseaddr
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, EmailStr, Field, TypeAdapter, ValidationError

from domain.channels import DeliveryStatus
from domain.commands import MAX_BODY_CHARS, DeliveryReport, InboundMessage
from domain.models import CaseInput, Channel, Customer
from domain.privacy import mask_email
from domain.tenant import TenantConfig
from ingress.bodies import WebhookError, parse_form, read_body, require_content_type, validated
from ingress.email_body import email_text
from ingress.relay import MessageJob, SignalJob, customer_id, new_case_id
from ingress.signing import PARSE_USER
from ingress.wiring import Services, Wired

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/webhooks/sendgrid", tags=["sendgrid"])

MAX_INBOUND_BYTES = 30_000_000
MAX_EVENTS_BYTES = 5_000_000
PROVIDER = "sendgrid"
SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
# SendGrid's event types, in the store's words; deferred, processed, click, spamreport and
# the unsubscribes leave the delivery's status as it is.
EVENTS = {
    "delivered": DeliveryStatus.DELIVERED,
    "bounce": DeliveryStatus.FAILED,
    "dropped": DeliveryStatus.FAILED,
    "open": DeliveryStatus.READ,
}
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


# ----- Inbound Parse ---------------------------------------------------------------------------
def parse_authorised(request: Request, wired: Wired) -> None:
    """Basic credentials of the Inbound Parse URL; 401 without them."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    user = password = ""
    if scheme.lower() == "basic":
        with contextlib.suppress(binascii.Error, UnicodeDecodeError):
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    good_user = secrets.compare_digest(user.encode(), PARSE_USER.encode())
    good_password = secrets.compare_digest(password.encode(), wired.parse_password.encode())
    if not (good_user and good_password):
        log.warning("inbound parse without valid credentials", given=bool(scheme))
        raise WebhookError(
            401,
            "Inbound Parse needs the credentials of its configured URL "
            "(see `escalate ingress --show-parse-url`)",
            headers={"WWW-Authenticate": 'Basic realm="inbound-parse"'},
        )


class InboundEmail(BaseModel):
    """The Inbound Parse fields the ingress uses (SendGrid's names)."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    from_: str = Field(alias="from", min_length=3, max_length=1000)
    to: str = Field(default="", max_length=10_000)  # empty for Bcc: the envelope has it
    cc: str = ""
    subject: str = Field(default="", max_length=10_000)
    text: str | None = None
    html: str | None = None
    headers: str = ""
    envelope: str = ""
    attachments: int = Field(default=0, ge=0)


@router.post(
    "/inbound",
    summary="SendGrid Inbound Parse: a customer's email",
    dependencies=[Depends(parse_authorised)],
)
async def inbound_email(request: Request, wired: Wired) -> JSONResponse:
    require_content_type(request, "multipart/form-data")
    body = await read_body(request, MAX_INBOUND_BYTES)
    form = await parse_form(request, body, max_part_size=MAX_INBOUND_BYTES)
    mail = validated(InboundEmail, form.fields, "Inbound Parse email")
    found = _recipient(wired, mail)
    if found is None:
        log.warning("email to an address no tenant has", to=mask_email(mail.to))
        raise WebhookError(
            404, "no tenant has this inbound address (to): set a tenant's email.inbound_address"
        )
    tenant, via, token = found
    name, sender = parseaddr(mail.from_)
    try:
        sender = _EMAIL.validate_python(sender)
    except ValidationError as exc:
        raise WebhookError(
            400, "invalid Inbound Parse email: from is not an email address"
        ) from exc
    reply_to = await _token_case(wired, tenant, token)
    text = email_text(mail.text, mail.html) or mail.subject.strip()
    if len(text) > MAX_BODY_CHARS:
        log.warning("email text cut to the longest a case takes", chars=len(text))
        text = text[:MAX_BODY_CHARS]
    attachments = min(max(mail.attachments, form.files), 50)
    if not text and not attachments:
        raise WebhookError(400, "invalid Inbound Parse email: no text, subject or attachment")
    message_id = _message_id(mail.headers, form.fields)
    message = InboundMessage(
        channel=Channel.EMAIL,
        text=text,
        media_count=attachments,
        provider_message_id=message_id,
        via=via,
    )
    case = CaseInput(
        case_id=new_case_id(tenant.id, Channel.EMAIL),
        tenant=tenant.id,
        customer=Customer(
            id=customer_id(Channel.EMAIL, sender), email=sender, name=name.strip()[:200] or None
        ),
        channel=Channel.EMAIL,
        subject=mail.subject.strip()[:500] or None,
        message=text[:20_000] or f"[{attachments} attachments]",
        message_id=message_id,
        via=via,
    )
    job = MessageJob(
        tenant=tenant.id,
        channel=Channel.EMAIL,
        address=sender,
        case=case,
        message=message,
        reply_to=reply_to,
    )
    outcome = await wired.relay.submit(job)
    log.info(
        "email accepted",
        tenant=tenant.id,
        customer=mask_email(sender),
        reply_to=reply_to,
        attachments=attachments,
        outcome=outcome.value,
    )
    return JSONResponse({"status": outcome.value})


def _recipient(wired: Services, mail: InboundEmail) -> tuple[TenantConfig, str, str | None] | None:
    """The tenant the email was sent to, the address used, and its reply token if any."""
    addresses = [address for _, address in getaddresses([mail.to, mail.cc])]
    try:
        envelope = json.loads(mail.envelope) if mail.envelope else {}
        addresses += [str(a) for a in envelope.get("to", [])]
    except (ValueError, AttributeError, TypeError):
        pass  # the header recipients are enough
    for address in addresses:
        found = wired.tenants.by_inbound(address)
        if found is not None:
            tenant, token = found
            return tenant, address.strip(), token
    return None


async def _token_case(wired: Services, tenant: TenantConfig, token: str | None) -> str | None:
    """The case a reply token names, if it is this tenant's."""
    if not token:
        return None
    found = await asyncio.to_thread(wired.store.case_for_token, token)
    if found is None or found[1] != tenant.id:
        log.info("reply token unknown here: the email goes to the sender's conversation")
        return None
    return found[0]


def _message_id(headers: str, fields: dict[str, str]) -> str:
    """The email's Message-ID, else a digest of the form (a retried post gets the same)."""
    found = HeaderParser().parsestr(headers).get("Message-ID", "") if headers else ""
    found = str(found).strip().strip("<>").strip()
    if found and len(found) <= 120:
        return f"email:{found}"
    digest = hashlib.sha256()
    for key in sorted(fields):
        digest.update(f"{key}\0{fields[key]}\0".encode())
    return f"email-sha256:{digest.hexdigest()}"


# ----- Event Webhook ---------------------------------------------------------------------------
async def signed_events(request: Request, wired: Wired) -> list[Any]:
    """The events of a request SendGrid signed; 403 (503 without a key) otherwise."""
    if wired.events is None:
        log.warning("sendgrid event received but no verification key is configured")
        raise WebhookError(
            503, "the SendGrid event webhook is not configured (ESCALATE_SENDGRID_EVENT_PUBLIC_KEY)"
        )
    require_content_type(request, "application/json")
    body = await read_body(request, MAX_EVENTS_BYTES)
    signature = request.headers.get(SIGNATURE_HEADER)
    timestamp = request.headers.get(TIMESTAMP_HEADER)
    if not signature or not timestamp:
        raise WebhookError(403, f"missing {SIGNATURE_HEADER} or {TIMESTAMP_HEADER}")
    try:
        payload = body.decode("utf-8")
        valid = wired.events.verify_signature(payload, signature, timestamp)
    except (UnicodeDecodeError, binascii.Error, ValueError):
        valid = False
    if not valid:
        log.warning("sendgrid events with a wrong signature")
        raise WebhookError(403, "the event signature does not verify with our key")
    try:
        events = json.loads(payload)
    except ValueError as exc:
        raise WebhookError(400, "the events are not JSON") from exc
    if not isinstance(events, list):
        raise WebhookError(400, "the events are not a JSON array")
    return events


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore")

    event: str
    sg_event_id: str = Field(min_length=1, max_length=128)
    sg_message_id: str | None = None
    status: str | None = None


@router.post("/events", summary="SendGrid Event Webhook: what became of emails we sent")
async def events(
    events: Annotated[list[Any], Depends(signed_events)], wired: Wired
) -> JSONResponse:
    applied = 0
    for raw in events:
        try:
            event = Event.model_validate(raw)
        except ValidationError:
            log.warning("sendgrid event without a type or id skipped")
            continue
        if await _apply(wired, event):
            applied += 1
    return JSONResponse({"received": len(events), "applied": applied})


async def _apply(wired: Services, event: Event) -> bool:
    status = EVENTS.get(event.event)
    if status is None or not event.sg_message_id:
        return False
    # sg_message_id is "<X-Message-Id>.<filter id>…": the delivery was recorded under the first.
    provider_id = event.sg_message_id.split(".", 1)[0]
    now = datetime.now(UTC)
    # Applying a status again changes nothing, so it goes first: a failure before the event
    # is marked seen retries the whole event.
    delivery = await asyncio.to_thread(
        wired.store.update_delivery_status, PROVIDER, provider_id, status, event.status, now
    )
    if delivery is None:
        log.info("event for an email we have no record of", kind=event.event)
        return False
    if not await asyncio.to_thread(wired.store.first_time, PROVIDER, event.sg_event_id, now):
        log.info("duplicate sendgrid event", case_id=delivery.case_id, kind=event.event)
        return False
    log.info("email status", case_id=delivery.case_id, kind=event.event, now=delivery.status.value)
    if status.failed and delivery.status.failed:
        failure = DeliveryReport(
            provider=PROVIDER,
            provider_id=provider_id,
            status=delivery.status,
            error_code=event.status[:32] if event.status else None,
        )
        await wired.relay.submit(
            SignalJob(
                case_id=delivery.case_id,
                name="delivery_report",
                payload=failure.model_dump(mode="json"),
            )
        )
    return True
