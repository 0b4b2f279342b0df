"""`escalate simulate`: a customer's text or email, posted to the running ingress as the
provider would post it (Twilio's signature; Inbound Parse's credentials).

The request is signed for `settings.public_url` (what the ingress checks) and sent to
`--url` when given (e.g. the local port behind a tunnel), else to the public URL.
"""

import base64
import email.utils
import json
import mimetypes
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from ingress.signing import PARSE_USER, parse_password, twilio_signature, twilio_signing_key
from service.settings import Settings

SMS_PATH = "/webhooks/twilio/sms"
INBOUND_PATH = "/webhooks/sendgrid/inbound"


@dataclass(frozen=True)
class Simulated:
    """A provider's request: path, form fields, headers; multipart when `multipart`."""

    path: str
    fields: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    multipart: bool = False


def sms_request(
    settings: Settings, *, from_: str, to: str, text: str, media_urls: Sequence[str] = ()
) -> Simulated:
    """Twilio's incoming-message webhook for one text (MMS with media URLs), signed."""
    sid = ("MM" if media_urls else "SM") + secrets.token_hex(16)
    fields = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": settings.twilio_account_sid or "AC" + "0" * 32,
        "From": from_,
        "To": to,
        "Body": text,
        "NumMedia": str(len(media_urls)),
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    for index, url in enumerate(media_urls):
        fields[f"MediaUrl{index}"] = url
        fields[f"MediaContentType{index}"] = mimetypes.guess_type(url)[0] or "image/jpeg"
    signature = twilio_signature(
        twilio_signing_key(settings), settings.public_url + SMS_PATH, fields
    )
    return Simulated(SMS_PATH, fields, {"X-Twilio-Signature": signature})


def email_request(settings: Settings, *, from_: str, to: str, subject: str, text: str) -> Simulated:
    """SendGrid Inbound Parse's post of one plain-text email, with the URL's credentials."""
    sender = email.utils.parseaddr(from_)[1]
    domain = sender.rpartition("@")[2] or "example.com"
    headers = {
        "From": from_,
        "To": to,
        "Subject": subject,
        "Date": email.utils.formatdate(usegmt=True),
        "Message-ID": email.utils.make_msgid(domain=domain),
        "MIME-Version": "1.0",
        "Content-Type": 'text/plain; charset="UTF-8"',
    }
    fields = {
        "headers": "".join(f"{k}: {v}\n" for k, v in headers.items()),
        "from": from_,
        "to": to,
        "subject": subject,
        "text": text,
        "envelope": json.dumps({"to": [email.utils.parseaddr(to)[1]], "from": sender}),
        "charsets": json.dumps(
            {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "utf-8"}
        ),
        "attachments": "0",
        "SPF": "pass",
    }
    # SendGrid sends the credentials of the configured URL as Basic authorization.
    pair = f"{PARSE_USER}:{parse_password(twilio_signing_key(settings))}".encode()
    authorization = "Basic " + base64.b64encode(pair).decode()
    return Simulated(INBOUND_PATH, fields, {"Authorization": authorization}, multipart=True)


async def post(
    request: Simulated, base_url: str, *, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.Response:
    """Send the request to the ingress at `base_url`."""
    async with httpx.AsyncClient(base_url=base_url, transport=transport, timeout=20) as http:
        if request.multipart:
            files = {name: (None, value) for name, value in request.fields.items()}
            return await http.post(request.path, files=files, headers=request.headers)
        return await http.post(request.path, data=request.fields, headers=request.headers)
