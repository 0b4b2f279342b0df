"""Sending through the real Twilio and SendGrid SDKs, against local fakes of their APIs.

What a provider's answer means for the case: sent (and recorded, so a retry sends
nothing), retry later (429 with Retry-After, 5xx), or never (each permanent code);
and the SMS rules the sender enforces itself: consent, quiet hours, the Florida cap.
"""

from datetime import UTC, datetime, timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.delivery import DeliveryActivities
from activities.email import SendGridEmail
from activities.outbox import Outbox
from activities.sms import TwilioSms
from domain.channels import DeliveryStatus, Outcome
from domain.effects import Notify, ReplyToCustomer
from domain.models import Channel, Level
from domain.tenant import Contact
from records import migrate
from records.channels import AckCode, ChannelStore
from records.store import sqlite_url
from tests.fakes.sendgrid_api import FakeSendGrid
from tests.fakes.twilio_api import FakeTwilio

TENANT_NUMBER = "+12125550100"  # northwind-telecom's number
CUSTOMER = "+12025550123"  # Washington DC: America/New_York
FLORIDA = "+13055550123"
NOON_NY = datetime(2026, 6, 3, 16, 0, tzinfo=UTC)
LATE_NY = datetime(2026, 6, 4, 2, 30, tzinfo=UTC)  # 22:30 in New York


@pytest.fixture
def twilio():
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def sendgrid():
    with FakeSendGrid() as fake:
        yield fake


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock():
    return Clock(NOON_NY)


@pytest.fixture
async def delivery(tmp_path, tenants, twilio, sendgrid, clock):
    url = sqlite_url(tmp_path / "records.sqlite3")
    migrate.upgrade(url)
    sms = TwilioSms(twilio.account_sid, twilio.auth_token, twilio.url, timeout=5)
    yield DeliveryActivities(
        Outbox(tmp_path / "outbox.sqlite3"),
        ChannelStore(url),
        tenants,
        sms=sms,
        email=SendGridEmail(sendgrid.api_key, sendgrid.url, timeout=5),
        public_url="https://support.example.com",
        clock=clock,
    )
    await sms.close()


def text(key: str = "case-1:run:1", to: str = CUSTOMER, **extra) -> ReplyToCustomer:
    return ReplyToCustomer(
        key=key,
        case_id="case-1",
        tenant="northwind-telecom",
        channel=Channel.SMS,
        to=to,
        text=extra.pop("body", "Your refund is on its way"),
        sender=TENANT_NUMBER,
        **extra,
    )


def email(key: str = "case-1:run:2") -> ReplyToCustomer:
    return ReplyToCustomer(
        key=key,
        case_id="case-1",
        tenant="northwind-telecom",
        channel=Channel.EMAIL,
        to="ada@example.com",
        text="Here is the full explanation of your bill.",
    )


async def send(delivery: DeliveryActivities, message: ReplyToCustomer):
    return await ActivityEnvironment().run(delivery.send_customer_message, message)


# ----- Twilio ---------------------------------------------------------------------------------


async def test_a_text_goes_through_twilio_with_a_status_callback_and_is_sent_once(delivery, twilio):
    message = text(options="Reply YES for a call back.")
    result = await send(delivery, message)
    again = await send(delivery, message)  # the activity retried after a lost response

    assert result.outcome is Outcome.SENT and result.provider == "twilio"
    [sent] = twilio.messages
    assert result.provider_id == sent["sid"] and result.segments == 1
    assert sent["to"] == CUSTOMER and sent["from_"] == TENANT_NUMBER
    assert sent["body"] == "Your refund is on its way\nReply YES for a call back."
    assert sent["status_callback"] == "https://support.example.com/webhooks/twilio/status"
    assert again.outcome is Outcome.SENT and again.reason == "already sent"
    assert len(twilio.requests) == 1
    record = delivery.channels.delivery_by_provider_id("twilio", sent["sid"])
    assert record is not None and record.case_id == "case-1"
    assert record.recipient == "+12******123" and record.status is DeliveryStatus.QUEUED


async def test_a_rate_limit_retries_after_twilios_retry_after(delivery, twilio):
    twilio.fail_next(429, 20429, "Too Many Requests", retry_after=7)
    with pytest.raises(ApplicationError) as err:
        await send(delivery, text())
    assert not err.value.non_retryable and err.value.type == "ProviderUnavailable"
    assert err.value.next_retry_delay == timedelta(seconds=7)
    assert (await send(delivery, text())).outcome is Outcome.SENT  # the retry


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retried(delivery, twilio, status):
    twilio.fail_next(status)
    with pytest.raises(ApplicationError) as err:
        await send(delivery, text())
    assert not err.value.non_retryable and err.value.next_retry_delay is None
    assert f"HTTP {status}" in err.value.message


@pytest.mark.parametrize(
    ("code", "meaning"),
    [
        (21211, "invalid 'To' phone number"),
        (21610, "opted out"),
        (21614, "not a mobile number"),
        (21408, "region is not enabled"),
        (21612, "cannot be reached"),
    ],
)
async def test_permanent_twilio_errors_fail_without_retry(delivery, twilio, code, meaning):
    twilio.fail_next(400, code, f"The 'To' number {CUSTOMER} is refused")
    with pytest.raises(ApplicationError) as err:
        await send(delivery, text())
    assert err.value.non_retryable and err.value.type == "PermanentDeliveryError"
    assert meaning in err.value.message and f"code {code}" in err.value.message
    assert err.value.details[0]["code"] == str(code)
    assert CUSTOMER not in err.value.message  # Twilio's text quotes the number: not kept


async def test_an_unknown_4xx_is_permanent_and_keeps_twilios_words_masked(delivery, twilio):
    twilio.fail_next(400, 21999, f"Something about {CUSTOMER}")
    with pytest.raises(ApplicationError) as err:
        await send(delivery, text())
    assert err.value.non_retryable and "+12******123" in err.value.message


async def test_an_opted_out_number_is_never_texted(delivery, twilio):
    delivery.channels.set_consent(
        "northwind-telecom", TENANT_NUMBER, CUSTOMER, True, "STOP", NOON_NY
    )
    result = await send(delivery, text())
    assert result.outcome is Outcome.REFUSED and "opted out" in (result.reason or "")
    assert twilio.requests == []


async def test_a_proactive_text_at_night_waits_for_the_recipients_morning(delivery, twilio, clock):
    clock.now = LATE_NY
    result = await send(delivery, text())
    assert result.outcome is Outcome.DEFERRED and twilio.requests == []
    assert result.not_before == datetime(2026, 6, 4, 12, 0, tzinfo=UTC)  # 08:00 New York
    # A reply inside the conversation the customer started 10 minutes ago is not proactive.
    reply = text(key="case-1:run:9", last_inbound_at=LATE_NY - timedelta(minutes=10))
    assert (await send(delivery, reply)).outcome is Outcome.SENT


async def test_a_florida_number_gets_at_most_three_proactive_texts_a_day(delivery, twilio, clock):
    for i in range(3):
        clock.now = NOON_NY + timedelta(minutes=i)
        assert (await send(delivery, text(key=f"k{i}", to=FLORIDA))).outcome is Outcome.SENT
    clock.now = NOON_NY + timedelta(hours=2)
    fourth = await send(delivery, text(key="k3", to=FLORIDA))
    assert fourth.outcome is Outcome.DEFERRED and "cap" in (fourth.reason or "")
    assert fourth.not_before == NOON_NY + timedelta(hours=24)
    assert len(twilio.messages) == 3


async def test_a_text_over_1600_characters_is_refused_before_twilio(delivery, twilio):
    result = await send(delivery, text(body="x" * 1601))
    assert result.outcome is Outcome.REFUSED and "1600" in (result.reason or "")
    assert twilio.requests == []


# ----- SendGrid -------------------------------------------------------------------------------


async def test_an_email_goes_through_sendgrid_with_a_reply_token(delivery, sendgrid):
    result = await send(delivery, email())
    assert result.outcome is Outcome.SENT and result.provider == "sendgrid"
    [mail] = sendgrid.mails
    assert result.provider_id == mail["message_id"]
    assert mail["to"] == ["ada@example.com"] and mail["from_"] == "care@northwind.example"
    token = delivery.channels.case_token("case-1", "northwind-telecom", NOON_NY)
    assert mail["reply_to"] == f"care+{token}@inbound.northwind.example"
    assert mail["custom_args"] == {"case_id": "case-1", "escalate_key": "case-1:run:2"}
    assert delivery.channels.case_for_token(token) == ("case-1", "northwind-telecom")
    await send(delivery, email())
    assert len(sendgrid.mails) == 1


async def test_sendgrid_rate_limit_and_outage_retry(delivery, sendgrid):
    sendgrid.fail_next(429, retry_after=12)
    with pytest.raises(ApplicationError) as err:
        await send(delivery, email())
    assert not err.value.non_retryable and err.value.next_retry_delay == timedelta(seconds=12)
    sendgrid.fail_next(503)
    with pytest.raises(ApplicationError) as err:
        await send(delivery, email())
    assert not err.value.non_retryable
    assert (await send(delivery, email())).outcome is Outcome.SENT


async def test_a_sendgrid_rate_limit_without_retry_after_waits_for_the_reset(delivery, sendgrid):
    sendgrid.fail_next(429)
    with pytest.raises(ApplicationError) as err:
        await send(delivery, email())
    assert err.value.next_retry_delay is not None
    assert timedelta(0) <= err.value.next_retry_delay <= timedelta(minutes=5)


@pytest.mark.parametrize("status", [400, 401, 403, 413])
async def test_sendgrid_client_errors_are_permanent(delivery, sendgrid, status):
    sendgrid.fail_next(status, "The from address does not match a verified Sender Identity")
    with pytest.raises(ApplicationError) as err:
        await send(delivery, email())
    assert err.value.non_retryable and err.value.type == "PermanentDeliveryError"
    assert err.value.details[0] == {"provider": "sendgrid", "code": str(status)}


# ----- staff ------------------------------------------------------------------------------------


async def test_staff_are_notified_by_sendgrid_and_twilio_and_a_retry_skips_the_sent(
    delivery, twilio, sendgrid
):
    notice = Notify(
        key="case-1:run:3",
        kind="escalation",
        case_id="case-1",
        tenant="northwind-telecom",
        level=Level.L2,
        team="billing",
        text="Case case-1 escalated to support supervisor",
        recipients=[
            Contact(name="Supervisors", channel=Channel.EMAIL, address="sup@northwind.example"),
            Contact(name="On call", channel=Channel.SMS, address="+12025550143"),
        ],
    )
    twilio.fail_next(503)
    with pytest.raises(ApplicationError):
        await ActivityEnvironment().run(delivery.notify_escalation, notice)
    assert len(sendgrid.mails) == 1 and twilio.messages == []
    assert (await ActivityEnvironment().run(delivery.notify_escalation, notice)).delivered == 1
    assert len(sendgrid.mails) == 1 and len(twilio.messages) == 1  # the email was not resent
    assert twilio.messages[0]["from_"] == TENANT_NUMBER


def staff_notice(*recipients: Contact, ack: bool = True) -> Notify:
    return Notify(
        key="case-2:run:4",
        kind="escalation",
        case_id="case-2",
        tenant="northwind-telecom",
        level=Level.L2,
        team="billing",
        text="Case case-2 escalated to support supervisor",
        recipients=list(recipients),
        ack_level=Level.L2 if ack else None,
        report=True,  # as a case from `staff-routes` on asks
    )


async def test_a_refused_notice_goes_to_the_contacts_next_channel_and_is_reported(
    delivery, twilio, sendgrid
):
    sam = Contact(
        name="Sam",
        channel=Channel.EMAIL,
        address="sam@northwind.example",
        then=[{"channel": "sms", "address": "+12025550143"}],
    )
    sendgrid.fail_for("sam@northwind.example", 400, "The to email does not contain a valid address")
    result = await ActivityEnvironment().run(delivery.notify_escalation, staff_notice(sam))
    assert result.delivered == 1 and sendgrid.mails == []
    [failure] = result.failures
    assert (failure.contact, failure.channel, failure.then) == ("Sam", Channel.EMAIL, Channel.SMS)
    assert "valid address" in failure.reason
    [text] = twilio.messages
    assert text["to"] == "+12025550143" and text["body"].startswith("Case case-2 escalated")
    # What Twilio took is reported, for a bounce it reports later.
    [taken] = result.sent
    assert (taken.contact, taken.hop, taken.provider) == (0, 1, "twilio")
    assert taken.provider_id == text["sid"]
    # Run again (an activity retry): nothing is sent twice, and the same is reported.
    again = await ActivityEnvironment().run(delivery.notify_escalation, staff_notice(sam))
    assert again.delivered == 0 and len(twilio.messages) == 1 and again.sent == result.sent


async def test_with_every_channel_refused_the_notice_reports_none_left(delivery, twilio, sendgrid):
    sam = Contact(name="Sam", channel=Channel.SMS, address="+12025550143")
    twilio.fail_for("+12025550143", 400, 21211, "Invalid 'To' Phone Number")
    result = await ActivityEnvironment().run(delivery.notify_escalation, staff_notice(sam))
    assert result.delivered == 0
    assert [(f.channel, f.then) for f in result.failures] == [(Channel.SMS, None)]


async def test_an_escalation_notice_carries_a_signed_link_by_email_and_a_code_by_text(
    delivery, twilio, sendgrid
):
    by_mail = Contact(name="Sam", channel=Channel.EMAIL, address="sam@northwind.example")
    by_text = Contact(name="Dana", channel=Channel.SMS, address="+12025550143")
    await ActivityEnvironment().run(delivery.notify_escalation, staff_notice(by_mail, by_text))
    [mail] = sendgrid.mails
    body = mail["content"][0]["value"]
    url = body.split("Acknowledge (it is yours then): ")[1].split()[0]
    assert url.startswith("https://support.example.com/ack/")
    assert delivery.ack_links is not None
    claim = delivery.ack_links.read(url.rsplit("/", 1)[1], delivery.tenants)
    assert (claim.case_id, claim.level, claim.contact) == ("case-2", Level.L2, "Sam")
    [text] = twilio.messages
    code = text["body"].split("Reply ACK ")[1].split()[0]
    assert len(code) == 4 and code.isdigit()
    [stored] = delivery.channels.live_ack_codes("+12025550143", NOON_NY)
    assert (stored.code, stored.case_id, stored.level, stored.contact) == (
        code,
        "case-2",
        2,
        "Dana",
    )
    # Codes live for the tenant's ack_link_valid (3 days by default).
    assert delivery.channels.live_ack_codes("+12025550143", NOON_NY + timedelta(days=4)) == []


def test_one_phone_never_holds_the_same_live_code_for_two_notices(delivery):
    store = delivery.channels
    proposal = AckCode("1234", "case-1", "northwind-telecom", 2, "Dana", NOON_NY)
    until = NOON_NY + timedelta(days=3)
    assert store.ack_code("case-1:r:1:0", "+12025550143", proposal, until) == "1234"
    assert store.ack_code("case-1:r:1:0", "+12025550143", proposal, until) == "1234"  # a retry
    other = store.ack_code("case-2:r:1:0", "+12025550143", proposal, until)
    assert other != "1234" and len(other) == 4
    # Another phone may hold 1234 too: a code is read with the phone that texts it.
    assert store.ack_code("case-2:r:1:1", "+12025550144", proposal, until) == "1234"


async def test_a_notice_asking_nothing_carries_no_link_or_code(delivery, twilio, sendgrid):
    sam = Contact(name="Sam", channel=Channel.EMAIL, address="sam@northwind.example")
    await ActivityEnvironment().run(delivery.notify_escalation, staff_notice(sam, ack=False))
    assert "/ack/" not in sendgrid.mails[0]["content"][0]["value"]


async def test_a_caller_that_reads_no_result_hears_of_a_notice_nobody_got(delivery, twilio):
    """Cases from before `staff-routes` (and the RCA) record a notice nobody received from
    the activity's failure, as they always did."""
    sam = Contact(name="Sam", channel=Channel.SMS, address="+12025550143")
    twilio.fail_for("+12025550143", 400, 21211, "Invalid 'To' Phone Number")
    old_style = staff_notice(sam).model_copy(update={"report": False})
    with pytest.raises(ApplicationError, match="no recipient could be notified: Sam") as err:
        await ActivityEnvironment().run(delivery.notify_escalation, old_style)
    assert err.value.non_retryable
