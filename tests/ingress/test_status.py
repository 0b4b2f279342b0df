"""Delivery status callbacks: Twilio's (signed like its texts) and SendGrid's signed events."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from domain.channels import DeliveryStatus, address_key
from domain.models import Channel
from records.channels import ChannelStore, Delivery
from tests.fakes.sendgrid_api import FakeSendGrid
from tests.fakes.twilio_api import FakeTwilio
from tests.ingress.conftest import CUSTOMER, NORTHWIND_NUMBER, PUBLIC, TOKEN, Ingress

STATUS_URL = PUBLIC + "/webhooks/twilio/status"
EVENTS_PATH = "/webhooks/sendgrid/events"
CASE = "northwind-telecom-sms-0123456789ab"


def record(store: ChannelStore, provider: str, provider_id: str, channel: Channel) -> None:
    now = datetime.now(UTC)
    store.record_delivery(
        Delivery(
            key=f"{CASE}:reply:{provider_id}",
            case_id=CASE,
            tenant="northwind-telecom",
            channel=channel,
            provider=provider,
            provider_id=provider_id,
            sender=NORTHWIND_NUMBER,
            address_key=address_key(channel, CUSTOMER),
            recipient="+12*******123",
            proactive=False,
            segments=1,
            status=DeliveryStatus.QUEUED,
            error_code=None,
            created_at=now,
            status_at=now,
        )
    )


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio(auth_token=TOKEN) as fake:
        yield fake


def sent(twilio: FakeTwilio, store: ChannelStore) -> str:
    """A text the engine sent through (fake) Twilio, recorded as the activity records it."""
    message = twilio.client().messages.create(
        to=CUSTOMER, from_=NORTHWIND_NUMBER, body="We are on it", status_callback=STATUS_URL
    )
    record(store, "twilio", str(message.sid), Channel.SMS)
    return str(message.sid)


async def status(
    ingress: Ingress, twilio: FakeTwilio, sid: str, state: str, code: int | None = None
):
    url, params, headers = twilio.signed_status_callback(sid, state, code)
    assert url == STATUS_URL
    return await ingress.http.post("/webhooks/twilio/status", data=params, headers=headers)


async def test_a_failed_text_is_recorded_and_reported_to_its_case_once(
    ingress: Ingress, twilio: FakeTwilio
):
    sid = sent(twilio, ingress.store)
    assert (await status(ingress, twilio, sid, "sent")).status_code == 200
    assert (await status(ingress, twilio, sid, "undelivered", 30003)).status_code == 200
    assert (await status(ingress, twilio, sid, "failed", 30003)).status_code == 200
    delivery = ingress.store.delivery_by_provider_id("twilio", sid)
    assert delivery is not None and delivery.status.failed and delivery.error_code == "30003"
    assert ingress.cases.signals == [
        (
            CASE,
            "delivery_report",
            {
                "provider": "twilio",
                "provider_id": sid,
                "status": "undelivered",
                "error_code": "30003",
            },
        )
    ]


async def test_a_delivered_text_is_recorded_without_telling_the_case(
    ingress: Ingress, twilio: FakeTwilio
):
    sid = sent(twilio, ingress.store)
    assert (await status(ingress, twilio, sid, "delivered")).status_code == 200
    assert (await status(ingress, twilio, sid, "sent")).status_code == 200  # late, out of order
    delivery = ingress.store.delivery_by_provider_id("twilio", sid)
    assert delivery is not None and delivery.status is DeliveryStatus.DELIVERED
    assert ingress.cases.signals == []


async def test_a_status_for_an_unknown_message_is_200(ingress: Ingress, twilio: FakeTwilio):
    message = twilio.client().messages.create(
        to=CUSTOMER, from_=NORTHWIND_NUMBER, body="not ours", status_callback=STATUS_URL
    )
    assert (await status(ingress, twilio, str(message.sid), "failed", 30005)).status_code == 200
    assert ingress.cases.signals == []


async def test_a_forged_status_callback_is_refused(ingress: Ingress, twilio: FakeTwilio):
    sid = sent(twilio, ingress.store)
    _, params, headers = twilio.signed_status_callback(sid, "failed", 30003, auth_token="forged")
    response = await ingress.http.post("/webhooks/twilio/status", data=params, headers=headers)
    assert response.status_code == 403
    delivery = ingress.store.delivery_by_provider_id("twilio", sid)
    assert delivery is not None and delivery.status is DeliveryStatus.QUEUED


# ----- SendGrid events ---------------------------------------------------------------------------
X_MESSAGE_ID = "W-yHGFCuQ1-uCOdxJc_zWg"


def event(kind: str, event_id: str | None = None, **fields: object) -> dict[str, object]:
    found: dict[str, object] = {
        "email": "dana@example.com",
        "event": kind,
        "sg_message_id": f"{X_MESSAGE_ID}.filterdrecv-5645d9c87f-6r2ch-1-5F2B1E5E-2.0",
        **fields,
    }
    if event_id:
        found["sg_event_id"] = event_id
    return found


async def post_events(ingress: Ingress, sendgrid: FakeSendGrid, events: list[dict[str, object]]):
    body, headers = sendgrid.signed_events(events)
    return await ingress.http.post(EVENTS_PATH, content=body, headers=headers)


async def test_a_bounce_is_recorded_and_reported_once_even_when_sent_again(
    ingress: Ingress, sendgrid: FakeSendGrid
):
    record(ingress.store, "sendgrid", X_MESSAGE_ID, Channel.EMAIL)
    bounce = event("bounce", "ev-bounce-1", status="5.1.1")
    first = await post_events(ingress, sendgrid, [event("processed"), event("deferred"), bounce])
    again = await post_events(ingress, sendgrid, [bounce])
    assert first.status_code == again.status_code == 200
    assert first.json() == {"received": 3, "applied": 1}
    assert again.json() == {"received": 1, "applied": 0}
    delivery = ingress.store.delivery_by_provider_id("sendgrid", X_MESSAGE_ID)
    assert delivery is not None and delivery.status is DeliveryStatus.FAILED
    assert ingress.cases.signals == [
        (
            CASE,
            "delivery_report",
            {
                "provider": "sendgrid",
                "provider_id": X_MESSAGE_ID,
                "status": "failed",
                "error_code": "5.1.1",
            },
        )
    ]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("delivered", DeliveryStatus.DELIVERED),
        ("open", DeliveryStatus.READ),
        ("deferred", DeliveryStatus.QUEUED),
    ],
)
async def test_other_events_move_the_status_without_telling_the_case(
    ingress: Ingress, sendgrid: FakeSendGrid, kind: str, expected: DeliveryStatus
):
    record(ingress.store, "sendgrid", X_MESSAGE_ID, Channel.EMAIL)
    assert (await post_events(ingress, sendgrid, [event(kind)])).status_code == 200
    delivery = ingress.store.delivery_by_provider_id("sendgrid", X_MESSAGE_ID)
    assert delivery is not None and delivery.status is expected
    assert ingress.cases.signals == []


async def test_events_signed_with_another_key_are_refused(ingress: Ingress):
    record(ingress.store, "sendgrid", X_MESSAGE_ID, Channel.EMAIL)
    response = await post_events(ingress, FakeSendGrid(), [event("bounce")])
    assert response.status_code == 403
    delivery = ingress.store.delivery_by_provider_id("sendgrid", X_MESSAGE_ID)
    assert delivery is not None and delivery.status is DeliveryStatus.QUEUED


async def test_tampered_or_unsigned_events_are_refused(ingress: Ingress, sendgrid: FakeSendGrid):
    body, headers = sendgrid.signed_events([event("delivered")])
    tampered = body.replace(b"delivered", b"bounce")
    assert (
        await ingress.http.post(EVENTS_PATH, content=tampered, headers=headers)
    ).status_code == 403
    unsigned = {"Content-Type": "application/json"}
    assert (await ingress.http.post(EVENTS_PATH, content=body, headers=unsigned)).status_code == 403
    garbage = {**headers, "X-Twilio-Email-Event-Webhook-Signature": "not base64!"}
    assert (await ingress.http.post(EVENTS_PATH, content=body, headers=garbage)).status_code == 403
    assert ingress.cases.signals == []


async def test_without_a_verification_key_events_are_not_accepted(
    ingress: Ingress, sendgrid: FakeSendGrid
):
    ingress.app.state.services.events = None
    response = await post_events(ingress, sendgrid, [event("bounce")])
    assert response.status_code == 503
    assert "not configured" in response.json()["error"]
