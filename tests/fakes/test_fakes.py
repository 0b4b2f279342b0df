"""The Twilio and SendGrid fakes, driven by the real SDKs.

How each SDK reaches a fake (both checked below):

- Twilio: ``client = Client(sid, token); client.api.base_url = fake.url``. ``Domain`` builds
  every URL from ``base_url`` at request time, so ``client.messages.create`` (sync, requests)
  and ``create_async`` (``http_client=AsyncTwilioHttpClient()``, aiohttp) both land on the
  fake. The client must have no edge/region (``TWILIO_EDGE``/``TWILIO_REGION``), which would
  rewrite the host; ``FakeTwilio.client()`` clears them.
- SendGrid: ``SendGridAPIClient(api_key, host=fake.url)``; the host is fixed at construction.

SDK behaviour pinned here that an adapter must work around: ``TwilioRestException`` has no
headers (read ``Retry-After`` from the HTTP client's last response), ``AsyncTwilioHttpClient``
ignores its ``timeout`` argument (bound the call with ``asyncio.timeout``), and SendGrid's
client has no timeout unless ``sg.client.timeout`` is set.
"""

import asyncio
import base64
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from python_http_client.exceptions import (
    BadRequestsError,
    ForbiddenError,
    HTTPError,
    InternalServerError,
    PayloadTooLargeError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
)
from sendgrid import SendGridAPIClient
from sendgrid.helpers.eventwebhook import EventWebhook
from sendgrid.helpers.eventwebhook.eventwebhook_header import EventWebhookHeader
from sendgrid.helpers.mail import CustomArg, From, Header, Mail, ReplyTo
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from tests.fakes.sendgrid_api import INVALID_GRANT, FakeSendGrid, inbound_parse_form
from tests.fakes.twilio_api import (
    FakeProvider,
    FakeTwilio,
    RecordedRequest,
    count_segments,
    signed_inbound_sms,
)

TO = "+12025550143"
FROM = "+12025550100"
SERVICE = "MG" + "0" * 32


@pytest.fixture
def fake_twilio() -> Iterator[FakeTwilio]:
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def fake_sendgrid() -> Iterator[FakeSendGrid]:
    with FakeSendGrid() as fake:
        yield fake


@pytest.fixture
def sink() -> Iterator[FakeProvider]:
    """A bare recorder answering 204, standing in for our webhook endpoints."""
    with FakeProvider() as receiver:
        yield receiver


@pytest.fixture
async def async_http() -> AsyncIterator[AsyncTwilioHttpClient]:
    client = AsyncTwilioHttpClient()
    yield client
    await client.close()


def twilio_error(call: Any) -> TwilioRestException:
    with pytest.raises(TwilioRestException) as caught:
        call()
    return caught.value


def send_sms(client: Client, to: str = TO, **kwargs: Any) -> Any:
    return client.messages.create(to=to, **({"from_": FROM, "body": "Case c1 escalated"} | kwargs))


# --------------------------------------------------------------------------- Twilio


def test_api_base_url_redirects_the_sync_client(fake_twilio: FakeTwilio) -> None:
    client = Client(fake_twilio.account_sid, fake_twilio.auth_token)
    client.api.base_url = fake_twilio.url
    client.edge = client.region = None

    message = client.messages.create(
        to=TO, from_=FROM, body="Case c1 escalated", status_callback="https://hooks.example/s"
    )

    assert message.sid is not None and message.sid.startswith("SM") and len(message.sid) == 34
    assert message.status == "queued" and message.direction == "outbound-api"
    assert (message.to, message.from_, message.account_sid) == (TO, FROM, fake_twilio.account_sid)
    assert message.num_segments == "1" and message.price is None and message.error_code is None
    assert message.date_created is not None and message.date_created.tzinfo is not None
    [request] = fake_twilio.requests
    assert request.path == f"/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    assert request.headers["authorization"].startswith("Basic ")
    assert request.form == {
        "To": TO,
        "From": FROM,
        "Body": "Case c1 escalated",
        "StatusCallback": "https://hooks.example/s",
    }
    [sent] = fake_twilio.messages
    assert sent["sid"] == message.sid and sent["status_callback"] == "https://hooks.example/s"
    assert sent["headers"]["User-Agent"].startswith("twilio-python/")
    assert client.messages(message.sid).fetch().status == "queued"


def test_messaging_service_and_media(fake_twilio: FakeTwilio) -> None:
    message = fake_twilio.client().messages.create(
        to=TO, messaging_service_sid=SERVICE, media_url=["https://cdn.example/a.png"]
    )
    assert message.sid is not None and message.sid.startswith("MM")
    assert (message.status, message.from_, message.num_segments) == ("accepted", None, "0")
    assert message.num_media == "1" and message.messaging_service_sid == SERVICE


def test_segments_follow_the_encoding() -> None:
    assert count_segments("a" * 160) == 1 and count_segments("a" * 161) == 2
    assert count_segments("€" * 80) == 1 and count_segments("é" * 160) == 1
    assert count_segments("ş" * 70) == 1 and count_segments("ş" * 71) == 2


async def test_create_async_with_the_aiohttp_client(
    fake_twilio: FakeTwilio, async_http: AsyncTwilioHttpClient
) -> None:
    client = fake_twilio.client(http_client=async_http)
    message = await client.messages.create_async(to=TO, from_=FROM, body="On it")
    assert message.sid is not None and message.status == "queued"
    assert fake_twilio.messages[0]["body"] == "On it"

    fake_twilio.fail_next(429, 20429, "Too Many Requests", retry_after=2)
    with pytest.raises(TwilioRestException) as caught:
        await client.messages.create_async(to=TO, from_=FROM, body="On it")
    assert (caught.value.status, caught.value.code) == (429, 20429)
    last = async_http._test_only_last_response
    assert last is not None and last.headers["Retry-After"] == "2"


def test_scripted_failures_are_consumed_in_order(fake_twilio: FakeTwilio) -> None:
    client = fake_twilio.client()
    fake_twilio.fail_next(429, 20429, "Too Many Requests", retry_after=2)
    fake_twilio.fail_next(400, 21211, f"The 'To' number {TO} is not a valid phone number.")
    fake_twilio.fail_next(503)
    fake_twilio.fail_next(502, body="<html><body>502 Bad Gateway</body></html>")

    limited = twilio_error(lambda: send_sms(client))
    assert (limited.status, limited.code) == (429, 20429)
    assert limited.msg == "Unable to create record: Too Many Requests"
    # The exception has no headers; the HTTP client keeps the last response.
    assert client.http_client._test_only_last_response.headers["Retry-After"] == "2"

    invalid = twilio_error(lambda: send_sms(client))
    assert (invalid.status, invalid.code) == (400, 21211)
    assert "is not a valid phone number" in invalid.msg

    unavailable = twilio_error(lambda: send_sms(client))  # empty body: code falls back to status
    assert (unavailable.status, unavailable.code) == (503, 503)
    gateway = twilio_error(lambda: send_sms(client))  # HTML body, same
    assert (gateway.status, gateway.code) == (502, 502)

    assert fake_twilio.pending_failures == 0
    assert send_sms(client).status == "queued"
    assert len(fake_twilio.requests) == 5 and len(fake_twilio.messages) == 1


def test_fail_for_a_number_until_reset(fake_twilio: FakeTwilio) -> None:
    client = fake_twilio.client()
    opted_out = "+12025550199"
    fake_twilio.fail_for(
        opted_out, 400, 21610, "Attempt to send to unsubscribed recipient", retry_after=None
    )
    for _ in range(2):
        error = twilio_error(lambda: send_sms(client, to=opted_out))
        assert (error.status, error.code) == (400, 21610)
    assert send_sms(client).status == "queued"
    fake_twilio.reset()
    assert send_sms(client, to=opted_out).status == "queued"
    assert len(fake_twilio.messages) == 1


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"to": ""}, 21604),
        ({"from_": None}, 21603),
        ({"body": None}, 21602),
        ({"to": "12345"}, 21211),
        ({"body": "x" * 1601}, 21617),
    ],
)
def test_missing_or_invalid_parameters(
    fake_twilio: FakeTwilio, kwargs: dict[str, Any], code: int
) -> None:
    client = fake_twilio.client()
    arguments = {"to": TO, "from_": FROM, "body": "hi"} | kwargs
    arguments = {k: v for k, v in arguments.items() if v is not None}
    error = twilio_error(lambda: client.messages.create(**arguments))
    assert (error.status, error.code) == (400, code)
    assert fake_twilio.messages == []


def test_authentication(fake_twilio: FakeTwilio) -> None:
    wrong = Client(fake_twilio.account_sid, "not-the-token")
    wrong.api.base_url = fake_twilio.url
    error = twilio_error(lambda: send_sms(wrong))
    assert (error.status, error.code, error.msg) == (
        401,
        20003,
        "Unable to create record: Authenticate",
    )

    fake_twilio.api_keys["SK" + "1" * 32] = "key-secret"
    keyed = Client("SK" + "1" * 32, "key-secret", fake_twilio.account_sid)
    keyed.api.base_url = fake_twilio.url
    assert send_sms(keyed).account_sid == fake_twilio.account_sid

    elsewhere = Client(fake_twilio.account_sid, fake_twilio.auth_token, "AC" + "2" * 32)
    elsewhere.api.base_url = fake_twilio.url
    assert twilio_error(lambda: send_sms(elsewhere)).code == 20003


def test_slow_provider_and_client_timeouts(fake_twilio: FakeTwilio) -> None:
    client = fake_twilio.client(http_client=TwilioHttpClient(timeout=0.1))
    fake_twilio.delay_next(30)
    with pytest.raises(requests.exceptions.Timeout):
        send_sms(client)
    assert send_sms(client).status == "queued"  # only the next request was slow


async def test_async_client_ignores_its_timeout_argument(fake_twilio: FakeTwilio) -> None:
    http = AsyncTwilioHttpClient(timeout=0.01)
    try:
        client = fake_twilio.client(http_client=http)
        fake_twilio.delay_next(0.2)
        message = await client.messages.create_async(to=TO, from_=FROM, body="slow")
        assert message.status == "queued"  # 0.2 s > 0.01 s, yet no timeout

        fake_twilio.delay_next(30)
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.1):
                await client.messages.create_async(to=TO, from_=FROM, body="slow")
    finally:
        await http.close()


class TimeoutHonouringClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Passes the constructor's timeout on; aiohttp takes a float (a ClientTimeout breaks the
    SDK's ``timeout <= 0`` check with a TypeError)."""

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        return await super().request(*args, **kwargs)


@pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning")
async def test_a_subclass_can_make_the_async_timeout_work(fake_twilio: FakeTwilio) -> None:
    http = TimeoutHonouringClient(timeout=0.1)
    try:
        client = fake_twilio.client(http_client=http)
        fake_twilio.delay_next(30)
        with pytest.raises(TimeoutError):
            await client.messages.create_async(to=TO, from_=FROM, body="slow")
        message = await client.messages.create_async(to=TO, from_=FROM, body="fast")
        assert message.status == "queued"
    finally:
        await http.close()


def test_status_callback_is_signed_like_twilio(fake_twilio: FakeTwilio, sink: FakeProvider) -> None:
    callback = f"{sink.url}/webhooks/twilio/status?tenant=northwind-telecom"
    message = send_sms(fake_twilio.client(), status_callback=callback)

    assert fake_twilio.status_callback(message.sid, "undelivered", error_code=30003) == 204

    [request] = sink.requests
    assert (request.method, request.path) == ("POST", "/webhooks/twilio/status")
    assert request.form == {
        "SmsSid": message.sid,
        "SmsStatus": "undelivered",
        "MessageStatus": "undelivered",
        "To": TO,
        "MessageSid": message.sid,
        "AccountSid": fake_twilio.account_sid,
        "From": FROM,
        "ApiVersion": "2010-04-01",
        "ErrorCode": "30003",
    }
    signature = request.headers["X-Twilio-Signature"]
    assert RequestValidator(fake_twilio.auth_token).validate(callback, request.form, signature)
    assert not RequestValidator("other-token").validate(callback, request.form, signature)
    tampered = request.form | {"MessageStatus": "delivered"}
    assert not RequestValidator(fake_twilio.auth_token).validate(callback, tampered, signature)

    fetched = fake_twilio.client().messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)


async def test_status_callback_async_to_an_explicit_url(
    fake_twilio: FakeTwilio, sink: FakeProvider
) -> None:
    message = send_sms(fake_twilio.client())
    url = f"{sink.url}/status"
    assert await fake_twilio.status_callback_async(message.sid, "delivered", url=url) == 204
    [request] = sink.requests
    assert request.form["MessageStatus"] == "delivered" and "ErrorCode" not in request.form
    assert RequestValidator(fake_twilio.auth_token).validate(
        url, request.form, request.headers["X-Twilio-Signature"]
    )
    with pytest.raises(ValueError, match="no StatusCallback"):
        fake_twilio.status_callback(message.sid, "delivered")


def test_signed_inbound_sms(sink: FakeProvider) -> None:
    url = f"{sink.url}/webhooks/twilio/inbound?tenant=northwind-telecom"
    params, headers = signed_inbound_sms(
        url,
        "token",
        from_=TO,
        to=FROM,
        body="Still no signal",
        media=[("https://api.twilio.com/m/1", "image/png")],
        num_media=2,
    )
    assert params["MessageSid"].startswith("MM") and params["SmsMessageSid"] == params["MessageSid"]
    assert (params["From"], params["To"], params["Body"]) == (TO, FROM, "Still no signal")
    assert params["NumMedia"] == "2" and params["MediaContentType0"] == "image/png"
    assert params["MediaUrl1"].startswith("https://api.twilio.com/") and params["FromCity"]
    assert params["AccountSid"].startswith("AC") and params["ApiVersion"] == "2010-04-01"

    assert httpx.post(url, data=params, headers=headers).status_code == 204
    [request] = sink.requests
    assert request.form == params
    assert RequestValidator("token").validate(url, request.form, headers["X-Twilio-Signature"])

    text, _ = signed_inbound_sms(url, "token", from_=TO, to=FROM, body="hi", message_sid="SM1")
    assert (text["MessageSid"], text["NumMedia"]) == ("SM1", "0") and "MediaUrl0" not in text


def test_concurrent_sends_are_all_recorded(fake_twilio: FakeTwilio) -> None:
    client = fake_twilio.client()
    sids: list[str] = []

    def send(n: int) -> None:
        sids.append(send_sms(client, body=f"message {n}").sid)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(sids)) == 16
    assert {m["sid"] for m in fake_twilio.messages} == set(sids)


def test_a_crashing_fake_fails_loudly() -> None:
    class Broken(FakeProvider):
        def _respond(self, request: RecordedRequest) -> Any:
            raise KeyError("bug in the fake")

    broken = Broken().start()
    assert httpx.get(broken.url).status_code == 500
    with pytest.raises(RuntimeError, match="bug in the fake"):
        broken.stop()


# --------------------------------------------------------------------------- SendGrid


def escalation_mail(to: str = "sup@northwind.example") -> Mail:
    mail = Mail(
        from_email=From("alerts@bpo.example", "BPO Escalations"),
        to_emails=to,
        subject="Case c1 escalated to L2",
        plain_text_content="Case c1 escalated",
        html_content="<p>Case c1 escalated</p>",
    )
    mail.custom_arg = [CustomArg("case_id", "c1"), CustomArg("tenant", "northwind-telecom")]
    mail.reply_to = ReplyTo("case-c1@reply.bpo.example")
    mail.header = Header("X-Case-Id", "c1")
    return mail


def sendgrid_error(client: SendGridAPIClient, mail: Any) -> HTTPError:
    with pytest.raises(HTTPError) as caught:
        client.send(mail)
    return caught.value


def test_send_is_accepted_with_a_message_id(fake_sendgrid: FakeSendGrid) -> None:
    client = SendGridAPIClient(fake_sendgrid.api_key, host=fake_sendgrid.url)
    response = client.send(escalation_mail())

    assert (response.status_code, response.body) == (202, b"")
    message_id = response.headers["X-Message-Id"]
    assert len(message_id) == 22
    [mail] = fake_sendgrid.mails
    assert mail["message_id"] == message_id
    assert (mail["to"], mail["from_"]) == (["sup@northwind.example"], "alerts@bpo.example")
    assert mail["subject"] == "Case c1 escalated to L2"
    assert [c["type"] for c in mail["content"]] == ["text/plain", "text/html"]
    assert mail["custom_args"] == {"case_id": "c1", "tenant": "northwind-telecom"}
    assert mail["reply_to"] == "case-c1@reply.bpo.example"
    assert mail["mail_headers"] == {"X-Case-Id": "c1"}
    assert mail["headers"]["authorization"] == f"Bearer {fake_sendgrid.api_key}"
    [request] = fake_sendgrid.requests
    assert (request.method, request.path) == ("POST", "/v3/mail/send")
    assert request.headers["content-type"] == "application/json"


def test_bad_api_key(fake_sendgrid: FakeSendGrid) -> None:
    error = sendgrid_error(SendGridAPIClient("SG.wrong", host=fake_sendgrid.url), escalation_mail())
    assert isinstance(error, UnauthorizedError) and error.status_code == 401
    assert error.to_dict == {"errors": [{"message": INVALID_GRANT, "field": None, "help": None}]}
    assert fake_sendgrid.mails == []


def test_rate_limited_send_carries_retry_headers(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.fail_next(429, retry_after=2)
    before = int(time.time())
    error = sendgrid_error(fake_sendgrid.client(), escalation_mail())
    assert isinstance(error, TooManyRequestsError) and error.status_code == 429
    assert error.headers["Retry-After"] == "2"
    assert error.headers["X-RateLimit-Remaining"] == "0"
    assert error.headers["X-RateLimit-Limit"] == "600"
    assert int(error.headers["X-RateLimit-Reset"]) >= before + 2
    assert error.to_dict["errors"][0]["message"] == "too many requests"
    assert fake_sendgrid.client().send(escalation_mail()).status_code == 202


@pytest.mark.parametrize(
    ("status", "kind", "body"),
    [
        (400, BadRequestsError, b'{"errors": [{"message": "Bad Request"'),
        (403, ForbiddenError, b'{"errors": [{"message": "access forbidden"'),
        (413, PayloadTooLargeError, b'{"errors": [{"message": "The JSON payload'),
        (500, InternalServerError, b""),
        (503, ServiceUnavailableError, b""),
        (502, HTTPError, b""),
    ],
)
def test_scripted_statuses_map_to_sdk_exceptions(
    fake_sendgrid: FakeSendGrid, status: int, kind: type[HTTPError], body: bytes
) -> None:
    fake_sendgrid.fail_next(status)
    error = sendgrid_error(fake_sendgrid.client(), escalation_mail())
    assert type(error) is kind and error.status_code == status
    assert error.body.startswith(body) and (body or error.body == b"")
    assert "Retry-After" not in error.headers


def test_invalid_mail_is_rejected_with_field_errors(fake_sendgrid: FakeSendGrid) -> None:
    client = fake_sendgrid.client()
    payload: dict[str, Any] = {
        "personalizations": [{"to": [{"email": "sup@northwind.example"}]}],
        "from": {"email": "alerts@bpo.example"},
    }
    error = sendgrid_error(client, payload)
    assert isinstance(error, BadRequestsError)
    assert [e["field"] for e in error.to_dict["errors"]] == ["subject", "content"]

    error = sendgrid_error(client, {"from": {"email": "nope"}, "subject": "s"})
    fields = [e["field"] for e in error.to_dict["errors"]]
    assert fields == ["personalizations", "from.email", "content"]

    templated = payload | {"template_id": "d-123"}
    assert client.send(templated).status_code == 202


def test_fail_for_a_recipient(fake_sendgrid: FakeSendGrid) -> None:
    fake_sendgrid.fail_for("Blocked@Northwind.example", 403, "access forbidden")
    client = fake_sendgrid.client()
    for _ in range(2):
        assert isinstance(
            sendgrid_error(client, escalation_mail("blocked@northwind.example")), ForbiddenError
        )
    assert client.send(escalation_mail()).status_code == 202
    assert [m["to"] for m in fake_sendgrid.mails] == [["sup@northwind.example"]]


def test_slow_send_times_out_only_with_a_client_timeout(fake_sendgrid: FakeSendGrid) -> None:
    client = fake_sendgrid.client()
    client.client.timeout = 0.1
    fake_sendgrid.delay_next(30)
    with pytest.raises(TimeoutError):
        client.send(escalation_mail())
    assert client.send(escalation_mail()).status_code == 202


def test_public_key_round_trips_through_the_sdk(fake_sendgrid: FakeSendGrid) -> None:
    key = EventWebhook().convert_public_key_to_ecdsa(fake_sendgrid.public_key)
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    assert fake_sendgrid.public_key.startswith("MFkw")


def test_signed_event_batch_verifies_and_tampering_fails(
    fake_sendgrid: FakeSendGrid, sink: FakeProvider
) -> None:
    message_id = fake_sendgrid.client().send(escalation_mail()).headers["X-Message-Id"]
    events = [
        fake_sendgrid.event_for(message_id, "delivered"),
        fake_sendgrid.event_for(message_id, "bounce", reason="550 mailbox full"),
    ]
    url = f"{sink.url}/webhooks/sendgrid/events"
    assert fake_sendgrid.post_events(url, events) == 204

    [request] = sink.requests
    signature = request.headers[EventWebhookHeader.SIGNATURE]
    timestamp = request.headers[EventWebhookHeader.TIMESTAMP]
    verifier = EventWebhook(fake_sendgrid.public_key)
    assert verifier.verify_signature(request.raw.decode(), signature, timestamp)
    tampered = bytearray(request.raw)
    tampered[tampered.index(b"bounce")] = ord("B")
    assert not verifier.verify_signature(tampered.decode(), signature, timestamp)
    assert not verifier.verify_signature(request.raw.decode(), signature, str(int(timestamp) + 1))

    delivered, bounced = json.loads(request.raw)
    for event in (delivered, bounced):
        assert event["email"] == "sup@northwind.example"
        assert event["sg_message_id"].startswith(message_id + ".")
        assert (event["case_id"], event["tenant"]) == ("c1", "northwind-telecom")
        assert isinstance(event["timestamp"], int) and event["sg_event_id"]
    assert delivered["event"] == "delivered" and delivered["response"].startswith("250")
    assert (bounced["event"], bounced["type"], bounced["reason"]) == (
        "bounce",
        "bounce",
        "550 mailbox full",
    )


async def test_signed_events_complete_minimal_events(
    fake_sendgrid: FakeSendGrid, sink: FakeProvider
) -> None:
    message_id = fake_sendgrid.client().send(escalation_mail()).headers["X-Message-Id"]
    minimal = {"email": "sup@northwind.example", "event": "dropped"}
    body, headers = fake_sendgrid.signed_events([minimal | {"sg_message_id": f"{message_id}.x"}])
    [event] = json.loads(body)
    assert event["case_id"] == "c1" and event["sg_event_id"] and event["timestamp"]
    assert EventWebhook(fake_sendgrid.public_key).verify_signature(
        body.decode(),
        headers[EventWebhookHeader.SIGNATURE],
        headers[EventWebhookHeader.TIMESTAMP],
    )
    assert base64.b64decode(headers[EventWebhookHeader.SIGNATURE])[0] == 0x30  # DER sequence
    stranger = {"email": "who@else.example", "event": "processed"}
    assert await fake_sendgrid.post_events_async(f"{sink.url}/events", [minimal, stranger]) == 204
    by_email, unknown = json.loads(sink.requests[0].raw)
    assert by_email["sg_message_id"].startswith(message_id) and by_email["tenant"]
    assert by_email["reason"] == "Bounced Address"
    assert set(unknown) == {"email", "event", "timestamp", "sg_event_id"}
    with pytest.raises(ValueError, match="needs 'email' and 'event'"):
        fake_sendgrid.signed_events([{"email": "a@b.example"}])


def test_inbound_parse_form(sink: FakeProvider) -> None:
    form = inbound_parse_form(
        from_="Ana Customer <ana@customer.example>",
        to="support+c1@reply.bpo.example",
        subject="Re: Case c1",
        text="Still broken",
        html="<p>Still broken</p>",
        headers={"In-Reply-To": "<c1@bpo.example>"},
    )
    assert json.loads(form["envelope"]) == {
        "to": ["support+c1@reply.bpo.example"],
        "from": "ana@customer.example",
    }
    assert (form["from"], form["subject"], form["text"]) == (
        "Ana Customer <ana@customer.example>",
        "Re: Case c1",
        "Still broken",
    )
    assert "In-Reply-To: <c1@bpo.example>\n" in form["headers"]
    assert form["attachments"] == "0" and form["SPF"] == "pass" and form["dkim"]
    assert json.loads(form["charsets"])["html"] == "utf-8" and form["sender_ip"]
    assert float(form["spam_score"]) < 1

    files = {name: (None, value) for name, value in form.items()}
    assert httpx.post(f"{sink.url}/inbound", files=files).status_code == 204
    [request] = sink.requests
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="envelope"' in request.raw and b"filename" not in request.raw
