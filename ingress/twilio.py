"""Twilio's webhooks: inbound texts (with the consent keywords) and delivery status callbacks.

Every request must carry a valid `X-Twilio-Signature` for the URL Twilio was given:
`settings.public_url` + the path (+ the query string), never the URL the request arrived at,
so the check holds behind a proxy or a tunnel. The key is the Twilio auth token, else the
development secret (`ingress.signing`).
"""

import asyncio
from datetime import UTC, datetime
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from twilio.twiml.messaging_response import MessagingResponse

from domain.channels import DeliveryStatus
from domain.commands import DeliveryReport, InboundMessage, SmsConsent
from domain.consent import (
    OPT_IN_WHEN_OPTED_OUT,
    ConsentAction,
    confirmation,
    consent_action,
    keyword,
)
from domain.models import CaseInput, Channel, Customer, E164Phone
from domain.privacy import mask_phone
from domain.tenant import TenantConfig
from ingress import ack
from ingress.bodies import WebhookError, parse_form, read_body, require_content_type, validated
from ingress.relay import Conversation, MessageJob, SignalJob, customer_id, new_case_id
from ingress.wiring import Services, Wired

log = structlog.get_logger(__name__)

router = APIRouter(prefix="/webhooks/twilio", tags=["twilio"])

MAX_BODY_BYTES = 1_000_000
PROVIDER = "twilio"
# Twilio's message statuses, in the store's words; the others (accepted, sending, scheduled,
# receiving, received, partially_delivered) say nothing the case needs.
STATUSES = {
    "queued": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
    "read": DeliveryStatus.READ,
}


def public_url(request: Request, base: str) -> str:
    """The URL Twilio signed: the public base, this route's path, and the query string."""
    path = request.url.path
    root = request.scope.get("root_path") or ""
    if root and path.startswith(root):
        path = path[len(root) :]
    query = request.url.query
    return f"{base}{path}" + (f"?{query}" if query else "")


async def signed_form(request: Request, wired: Wired) -> dict[str, str]:
    """The form of a request Twilio signed; 403 (and nothing read from it) otherwise."""
    require_content_type(request, "application/x-www-form-urlencoded")
    body = await read_body(request, MAX_BODY_BYTES)
    form = await parse_form(request, body, max_part_size=MAX_BODY_BYTES)
    signature = request.headers.get("x-twilio-signature")
    if not signature:
        log.warning("twilio webhook without a signature", path=request.url.path)
        raise WebhookError(403, "missing X-Twilio-Signature")
    url = public_url(request, wired.settings.public_url)
    if not wired.twilio.validate(url, form.fields, signature):
        log.warning("twilio webhook with a wrong signature", path=request.url.path, signed_for=url)
        raise WebhookError(
            403, f"X-Twilio-Signature does not match a request to {url} signed with our key"
        )
    return form.fields


SignedForm = Annotated[dict[str, str], Depends(signed_form)]


class InboundSms(BaseModel):
    """The fields of Twilio's incoming-message webhook that the ingress uses."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_sid: str = Field(alias="MessageSid", min_length=1, max_length=64)
    from_: E164Phone = Field(alias="From")
    to: str = Field(alias="To", min_length=1, max_length=32)
    body: str = Field(default="", alias="Body", max_length=20_000)
    num_media: int = Field(default=0, alias="NumMedia", ge=0, le=50)
    # Set when Twilio's Advanced Opt-Out handled a keyword and answered the customer itself.
    opt_out_type: str | None = Field(default=None, alias="OptOutType")


class StatusCallback(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    message_sid: str = Field(alias="MessageSid", min_length=1, max_length=64)
    message_status: str = Field(alias="MessageStatus", min_length=1, max_length=32)
    error_code: str | None = Field(default=None, alias="ErrorCode", max_length=32)


EMPTY_TWIML = str(MessagingResponse())


def twiml(reply: str | None = None) -> Response:
    """TwiML for Twilio: empty (nothing to send back), or one message to the customer."""
    if not reply:
        return Response(content=EMPTY_TWIML, media_type="text/xml")
    response = MessagingResponse()
    response.message(reply)
    return Response(content=str(response), media_type="text/xml")


@router.post("/sms", summary="Twilio: a customer's text (SMS or MMS)")
async def inbound_sms(form: SignedForm, wired: Wired) -> Response:
    sms = validated(InboundSms, form, "Twilio message")
    tenant = wired.tenants.by_number(sms.to)
    if tenant is None:
        log.warning("text to a number no tenant has", to=mask_phone(sms.to), sid=sms.message_sid)
        raise WebhookError(404, "no tenant has this number (To): add it to a tenant's sms.numbers")
    # Staff texting back a notice's code ("ACK 4821"): the case is acknowledged, not written to.
    answer = await ack.sms_reply(wired, tenant, sms.from_, sms.body, sms.message_sid)
    if answer is not None:
        return twiml(answer)
    # Only YES means something else to an opted-out number: a plain text needs no read.
    opted_out = keyword(sms.body) in OPT_IN_WHEN_OPTED_OUT and await asyncio.to_thread(
        wired.store.opted_out, sms.to, sms.from_
    )
    action = consent_action(sms.body, opted_out)
    if action is not None:
        return await _consent(wired, tenant, sms, action)
    media_types = [form.get(f"MediaContentType{i}", "?") for i in range(sms.num_media)]
    if not sms.body.strip() and sms.num_media == 0:
        raise WebhookError(400, "invalid Twilio message: no Body and no media")
    text = sms.body.strip()
    message = InboundMessage(
        channel=Channel.SMS,
        text=text,
        media_count=sms.num_media,
        provider_message_id=sms.message_sid,
        via=sms.to,
    )
    case = CaseInput(
        case_id=new_case_id(tenant.id, Channel.SMS),
        tenant=tenant.id,
        customer=Customer(id=customer_id(Channel.SMS, sms.from_), phone=sms.from_),
        channel=Channel.SMS,
        message=text or _media_placeholder(sms.num_media),
        message_id=sms.message_sid,
        via=sms.to,
    )
    job = MessageJob(
        tenant=tenant.id, channel=Channel.SMS, address=sms.from_, case=case, message=message
    )
    outcome = await wired.relay.submit(job)
    log.info(
        "text accepted",
        tenant=tenant.id,
        sid=sms.message_sid,
        customer=mask_phone(sms.from_),
        media_types=media_types,
        outcome=outcome.value,
    )
    return twiml()


def _media_placeholder(count: int) -> str:
    return f"[{count} attachment{'s' if count != 1 else ''}]"


async def _consent(
    wired: Services, tenant: TenantConfig, sms: InboundSms, action: ConsentAction
) -> Response:
    """STOP, START and HELP: the consent state, one confirmation, and the case told."""
    word = keyword(sms.body) or action.value
    answered = sms.opt_out_type is not None  # Twilio replied itself (Advanced Opt-Out)
    if action is ConsentAction.HELP:
        log.info("help requested", tenant=tenant.id, sid=sms.message_sid)
        return twiml(None if answered else confirmation(action, tenant.name, tenant.sms.help_text))
    opted_out = action is ConsentAction.OPT_OUT
    # The case hears of a change (after the customer's earlier texts), spooled before the
    # change is stored: if either fails, the 503 makes Twilio retry and the retry does both.
    # A repeat (or two STOPs at once) may tell the case twice; it ignores what it has.
    if await asyncio.to_thread(wired.store.opted_out, sms.to, sms.from_) != opted_out:
        consent = SmsConsent(opted_out=opted_out, keyword=word)
        await wired.relay.submit(
            SignalJob(
                conversation=Conversation(tenant=tenant.id, channel=Channel.SMS, address=sms.from_),
                name="sms_consent",
                payload=consent.model_dump(mode="json"),
            )
        )
    changed = await asyncio.to_thread(
        wired.store.set_consent,
        tenant.id,
        sms.to,
        sms.from_,
        opted_out,
        word,
        datetime.now(UTC),
    )
    log.info(
        "consent keyword",
        tenant=tenant.id,
        sid=sms.message_sid,
        customer=mask_phone(sms.from_),
        action=action.value,
        changed=changed,
    )
    if not changed or answered:
        return twiml()
    return twiml(confirmation(action, tenant.name, tenant.sms.help_text))


@router.post("/status", summary="Twilio: a delivery status callback for a text we sent")
async def status_callback(form: SignedForm, wired: Wired) -> Response:
    report = validated(StatusCallback, form, "Twilio status callback")
    status = STATUSES.get(report.message_status.lower())
    if status is None:
        log.info("status ignored", sid=report.message_sid, status=report.message_status)
        return twiml()
    now = datetime.now(UTC)
    delivery = await asyncio.to_thread(
        wired.store.update_delivery_status,
        PROVIDER,
        report.message_sid,
        status,
        report.error_code,
        now,
    )
    if delivery is None:
        log.warning("status for a message we have no record of", sid=report.message_sid)
        return twiml()
    log.info(
        "delivery status",
        case_id=delivery.case_id,
        sid=report.message_sid,
        status=status.value,
        now=delivery.status.value,
        error_code=report.error_code,
    )
    # Only failures reach the case (its history stays small), and each message's once.
    if status.failed and delivery.status.failed:
        first = await asyncio.to_thread(
            wired.store.first_time, PROVIDER, f"failed:{report.message_sid}", now
        )
        if first:
            failure = DeliveryReport(
                provider=PROVIDER,
                provider_id=report.message_sid,
                status=delivery.status,
                error_code=report.error_code,
            )
            await wired.relay.submit(
                SignalJob(
                    case_id=delivery.case_id,
                    name="delivery_report",
                    payload=failure.model_dump(mode="json"),
                )
            )
    return twiml()
