"""A local fake of SendGrid's v3 Mail Send API and signed Event Webhook, for the real SDK.

Pointing the SDK at it: ``SendGridAPIClient(api_key, host=fake.url)``. The host is baked into
the underlying ``python_http_client.Client`` at construction, so set it there (changing
``.host`` afterwards does nothing). A request timeout goes on that client:
``sg.client.timeout = 2.0`` (the SDK sets none, so a hung provider blocks forever); urllib then
raises the builtin ``TimeoutError``.

Error classification with the SDK: non-2xx replies raise ``python_http_client.exceptions
.HTTPError`` subclasses (``BadRequestsError`` 400, ``UnauthorizedError`` 401,
``ForbiddenError`` 403, ``PayloadTooLargeError`` 413, ``TooManyRequestsError`` 429,
``InternalServerError`` 500, ``ServiceUnavailableError`` 503, ``GatewayTimeoutError`` 504;
other statuses the base ``HTTPError``) with ``.status_code``, ``.body`` (bytes; ``.to_dict``
parses SendGrid's ``{"errors": [...]}``) and ``.headers`` (an ``http.client.HTTPMessage``:
``.headers.get("Retry-After")``, ``X-RateLimit-Reset`` in epoch seconds).
"""

from __future__ import annotations

import base64
import email.utils
import json
import math
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import httpx
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sendgrid import SendGridAPIClient

from tests.fakes.twilio_api import FakeProvider, RecordedRequest, Reply, ScriptedFailure

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"
ERRORS_HELP = "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html#{anchor}"
INVALID_GRANT = "The provided authorization grant is invalid, expired, or revoked"
DEFAULT_MESSAGES = {
    400: "Bad Request",
    401: INVALID_GRANT,
    403: "access forbidden",
    404: "not found",
    405: "method not allowed",
    413: "The JSON payload you have included in your request is too large.",
    415: "Content-Type should be application/json.",
    429: "too many requests",
}
RATE_LIMIT = 600
EVENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "processed": {},
    "delivered": {"response": "250 2.0.0 OK", "ip": "149.72.154.232", "tls": 1},
    "deferred": {"response": "421 4.7.0 Try again later", "attempt": "1", "ip": "149.72.154.232"},
    "bounce": {
        "type": "bounce",
        "status": "5.1.1",
        "reason": "550 5.1.1 The email account that you tried to reach does not exist.",
        "bounce_classification": "Invalid Address",
        "ip": "149.72.154.232",
    },
    "dropped": {"reason": "Bounced Address", "status": "5.0.0"},
    "open": {"useragent": "Mozilla/5.0", "ip": "203.0.113.7", "sg_machine_open": False},
    "click": {"useragent": "Mozilla/5.0", "ip": "203.0.113.7", "url": "https://example.com/"},
    "spamreport": {},
    "unsubscribe": {},
}


class SentMail(TypedDict):
    """A mail the fake accepted (202)."""

    message_id: str
    to: list[str]
    cc: list[str]
    bcc: list[str]
    from_: str
    subject: str | None
    content: list[dict[str, str]]
    template_id: str | None
    custom_args: dict[str, str]
    """Top-level custom_args merged with every personalization's."""
    reply_to: str | None
    categories: list[str]
    mail_headers: dict[str, str]
    """The mail's own ``headers`` field (e.g. In-Reply-To)."""
    headers: httpx.Headers
    """HTTP request headers (case-insensitive)."""
    json: dict[str, Any]


def _error(field: str | None, message: str, anchor: str | None = None) -> dict[str, Any]:
    return {
        "message": message,
        "field": field,
        "help": ERRORS_HELP.format(anchor=anchor or f"message.{field}") if field else None,
    }


def sendgrid_errors(status: int, errors: Sequence[dict[str, Any]], **headers: str) -> Reply:
    """A reply in SendGrid's ``{"errors": [...]}`` shape."""
    return Reply.json(status, {"errors": list(errors)}, **headers)


def _emails(items: Any) -> list[str]:
    if not isinstance(items, list):
        return []
    return [str(i.get("email", "")) for i in items if isinstance(i, dict)]


def _valid_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and "." in domain and " " not in address)


def _event(mail: SentMail, email: str, event: str) -> dict[str, Any]:
    """The fields SendGrid puts in an ``event`` about ``mail`` for recipient ``email``."""
    message_id = mail["message_id"]
    result: dict[str, Any] = {
        "email": email,
        "timestamp": int(time.time()),
        "smtp-id": f"<{message_id}@geopod-ismtpd-1>",
        "event": event,
        "sg_event_id": secrets.token_urlsafe(16),
        "sg_message_id": f"{message_id}.filterdrecv-{secrets.token_hex(5)}-1-0",
        **({"category": mail["categories"]} if mail["categories"] else {}),
        **EVENT_DEFAULTS.get(event, {}),
    }
    args = dict(mail["json"].get("custom_args") or {})
    for personalization in mail["json"].get("personalizations", []):
        addresses = {
            a.lower() for key in ("to", "cc", "bcc") for a in _emails(personalization.get(key))
        }
        if email.lower() in addresses:
            args.update(personalization.get("custom_args") or {})
    for key, value in args.items():  # custom_args become top-level keys, never over SendGrid's
        result.setdefault(key, value)
    return result


class FakeSendGrid(FakeProvider):
    """SendGrid's ``POST /v3/mail/send`` plus a signing key for the Event Webhook."""

    def __init__(self, api_key: str | None = None) -> None:
        super().__init__()
        self.api_key = api_key or (
            f"SG.{secrets.token_urlsafe(16)[:22]}.{secrets.token_urlsafe(32)[:43]}"
        )
        self._signing_key = ec.generate_private_key(ec.SECP256R1())
        der = self._signing_key.public_key().public_bytes(
            Encoding.DER, PublicFormat.SubjectPublicKeyInfo
        )
        self.public_key = base64.b64encode(der).decode()
        """The verification key as SendGrid's settings page shows it (base64 DER, "MFkw...")."""
        self._mails: list[SentMail] = []

    def client(self) -> SendGridAPIClient:
        """A real ``SendGridAPIClient`` pointed at this fake."""
        return SendGridAPIClient(self.api_key, host=self.url)

    # script

    def fail_next(
        self,
        status: int,
        message: str | None = None,
        *,
        field: str | None = None,
        retry_after: int | str | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` sends (after auth, before validation).

        A 429 carries ``X-RateLimit-*`` headers (and ``Retry-After`` if given); a 5xx without
        ``message`` has an empty body; other statuses get SendGrid's error JSON.
        """
        failure = ScriptedFailure(
            status,
            message=message,
            field_name=field,
            retry_after=retry_after,
            body=body,
            content_type=content_type,
            headers=dict(headers or {}),
        )
        self._queue(failure, times)

    def fail_for(
        self,
        to: str,
        status: int = 400,
        message: str | None = None,
        *,
        field: str | None = None,
        retry_after: int | str | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Fail every send with ``to`` among its recipients until ``reset()``."""
        failure = ScriptedFailure(
            status,
            message=message,
            field_name=field,
            retry_after=retry_after,
            body=body,
            content_type=content_type,
            headers=dict(headers or {}),
            to=to,
        )
        self._add_rule(failure)

    def reset(self) -> None:
        """Forget requests, mails and every scripted failure and delay (the key pair stays)."""
        with self._lock:
            super().reset()
            self._mails.clear()

    @property
    def mails(self) -> list[SentMail]:
        """Mails accepted so far, oldest first (copies)."""
        with self._lock:
            return [m.copy() for m in self._mails]

    @staticmethod
    def _normalize(recipient: str) -> str:
        return recipient.strip().lower()

    # event webhook

    def event_for(
        self, message_id: str, event: str = "delivered", *, email: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        """An event about accepted mail ``message_id`` (its X-Message-Id), as SendGrid builds it:
        the recipient's custom_args merged in, plus typical fields for ``event``; ``fields``
        override. ``email`` is needed when the mail had several recipients."""
        with self._lock:
            mail = next((m for m in self._mails if m["message_id"] == message_id), None)
        if mail is None:
            raise KeyError(f"no accepted mail with X-Message-Id {message_id}")
        recipients = mail["to"] + mail["cc"] + mail["bcc"]
        if email is None:
            if len(recipients) != 1:
                raise ValueError(f"mail {message_id} has {len(recipients)} recipients; pass email")
            email = recipients[0]
        return _event(mail, email, event) | fields

    def signed_events(self, events: Sequence[Mapping[str, Any]]) -> tuple[bytes, dict[str, str]]:
        """Body and headers of a signed Event Webhook POST carrying ``events``.

        Each event needs ``email`` and ``event``. It is completed like ``event_for`` (given
        keys win) from the accepted mail its ``sg_message_id`` starts with, or else the latest
        accepted mail to its ``email``; events matching no mail just get ``timestamp`` and
        ``sg_event_id``. The signature is ECDSA P-256/SHA-256 over ``timestamp + body``, base64
        DER, as ``EventWebhook.verify_signature`` expects.
        """
        with self._lock:
            mails = list(self._mails)
        completed = []
        for given in events:
            if "email" not in given or "event" not in given:
                raise ValueError(f"an event needs 'email' and 'event': {given!r}")
            email, kind = str(given["email"]), str(given["event"])
            message_id = str(given.get("sg_message_id", "")).split(".")[0]
            mail = next(
                (
                    m
                    for m in reversed(mails)
                    if (m["message_id"] == message_id)
                    or (
                        not message_id
                        and email.lower() in {r.lower() for r in m["to"] + m["cc"] + m["bcc"]}
                    )
                ),
                None,
            )
            base = (
                _event(mail, email, kind)
                if mail is not None
                else {"timestamp": int(time.time()), "sg_event_id": secrets.token_urlsafe(16)}
            )
            completed.append(base | dict(given))
        body = json.dumps(completed, separators=(",", ":")).encode() + b"\r\n"
        timestamp = str(int(time.time()))
        signature = self._signing_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "SendGrid Event API",
            SIGNATURE_HEADER: base64.b64encode(signature).decode(),
            TIMESTAMP_HEADER: timestamp,
        }
        return body, headers

    def post_events(self, url: str, events: Sequence[Mapping[str, Any]]) -> int:
        """POST a signed batch of ``events`` to ``url``; returns the receiver's HTTP status."""
        body, headers = self.signed_events(events)
        return httpx.post(url, content=body, headers=headers, timeout=10).status_code

    async def post_events_async(self, url: str, events: Sequence[Mapping[str, Any]]) -> int:
        """``post_events`` for a receiver running on the caller's event loop."""
        body, headers = self.signed_events(events)
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.post(url, content=body, headers=headers)).status_code

    # serving

    def _respond(self, request: RecordedRequest) -> Reply:
        if request.path.rstrip("/") != "/v3/mail/send":
            return sendgrid_errors(404, [{"field": None, "message": "not found"}])
        if request.method != "POST":
            return sendgrid_errors(405, [{"field": None, "message": "method not allowed"}])
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key:
            return sendgrid_errors(401, [_error(None, "authorization required")])
        if not secrets.compare_digest(key.encode(), self.api_key.encode()):
            return sendgrid_errors(401, [_error(None, INVALID_GRANT)])
        if (failure := self._next_failure()) is not None:
            return self._failure_reply(failure)
        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if kind != "application/json":
            return sendgrid_errors(415, [_error(None, DEFAULT_MESSAGES[415])])
        if not isinstance(request.body, dict):
            return sendgrid_errors(400, [_error(None, "Bad Request")])
        if errors := self._validate(request.body):
            return sendgrid_errors(400, errors)
        recipients = [
            address
            for p in request.body["personalizations"]
            for key in ("to", "cc", "bcc")
            for address in _emails(p.get(key))
        ]
        if (rule := self._rule_for(recipients)) is not None:
            return self._failure_reply(rule)
        mail = self._record(request)
        return Reply(202, b"", {"X-Message-Id": mail["message_id"]})

    def _failure_reply(self, failure: ScriptedFailure) -> Reply:
        headers = {**self._rate_headers(failure), **failure.headers}
        if failure.body is not None:
            body = failure.body.encode() if isinstance(failure.body, str) else failure.body
            headers.setdefault("Content-Type", failure.content_type or "text/html")
            return Reply(failure.status, body, headers)
        if failure.status >= 500 and failure.message is None:
            return Reply(failure.status, b"", headers)
        message = failure.message or DEFAULT_MESSAGES.get(failure.status, "Bad Request")
        error = {"message": message, "field": failure.field_name, "help": None}
        return sendgrid_errors(failure.status, [error], **headers)

    @staticmethod
    def _rate_headers(failure: ScriptedFailure) -> dict[str, str]:
        if failure.status != 429:
            return {} if failure.retry_after is None else {"Retry-After": str(failure.retry_after)}
        wait = 1
        if isinstance(failure.retry_after, int):
            wait = failure.retry_after
        elif isinstance(failure.retry_after, str) and failure.retry_after.isdigit():
            wait = int(failure.retry_after)
        headers = {
            "X-RateLimit-Limit": str(RATE_LIMIT),
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": str(math.ceil(time.time()) + wait),
        }
        if failure.retry_after is not None:
            headers["Retry-After"] = str(failure.retry_after)
        return headers

    @staticmethod
    def _validate(mail: dict[str, Any]) -> list[dict[str, Any]]:
        """The basic checks SendGrid makes before accepting a mail, all errors at once."""
        errors: list[dict[str, Any]] = []
        template = mail.get("template_id")
        personalizations = mail.get("personalizations")
        if not isinstance(personalizations, list) or not personalizations:
            errors.append(
                _error(
                    "personalizations",
                    "The personalizations field is required and must have at least one "
                    "personalization.",
                    "-Personalizations-Errors",
                )
            )
            personalizations = []
        every_has_subject = bool(personalizations)
        for i, personalization in enumerate(personalizations):
            if not isinstance(personalization, dict):
                errors.append(_error(f"personalizations.{i}", "Invalid type. Expected: object"))
                every_has_subject = False
                continue
            to = _emails(personalization.get("to"))
            if not to:
                errors.append(
                    _error(
                        f"personalizations.{i}.to",
                        "The to array is required for all personalization objects, and must "
                        "have at least one email object with a valid email address.",
                        "message.personalizations.to",
                    )
                )
            for key in ("to", "cc", "bcc"):
                for j, address in enumerate(_emails(personalization.get(key))):
                    if not _valid_address(address):
                        errors.append(
                            _error(
                                f"personalizations.{i}.{key}.{j}.email",
                                "Does not contain a valid address.",
                                f"message.personalizations.{key}.email",
                            )
                        )
            every_has_subject &= bool(personalization.get("subject"))
        sender = mail.get("from")
        sender_email = sender.get("email") if isinstance(sender, dict) else None
        if not sender_email:
            errors.append(
                _error(
                    "from.email",
                    "The from object must be provided for every email send. It is an object "
                    "that requires the email parameter, but may also contain a name parameter.  "
                    'e.g. {"email" : "example@example.com"}  or {"email" : '
                    '"example@example.com", "name" : "Example Recipient"}.',
                )
            )
        elif not _valid_address(str(sender_email)):
            errors.append(_error("from.email", "The from email does not contain a valid address."))
        if not mail.get("subject") and not template and not every_has_subject:
            errors.append(
                _error(
                    "subject",
                    "The subject is required. You can get around this requirement if you use a "
                    "template with a subject defined or if every personalization has a subject "
                    "defined.",
                )
            )
        content = mail.get("content")
        if not template and (not isinstance(content, list) or not content):
            errors.append(
                _error(
                    "content",
                    "Unless a valid template_id is provided, the content parameter is required. "
                    "There must be at least one defined content block. We typically suggest "
                    "both text/plain and text/html blocks are included, but only one block is "
                    "required.",
                )
            )
        for i, block in enumerate(content if isinstance(content, list) else []):
            if not isinstance(block, dict) or not block.get("value"):
                errors.append(
                    _error(
                        f"content.{i}.value",
                        "The content value must be a string at least one character in length.",
                        "message.content.value",
                    )
                )
        return errors

    def _record(self, request: RecordedRequest) -> SentMail:
        body: dict[str, Any] = request.body
        personalizations = body["personalizations"]
        custom_args = dict(body.get("custom_args") or {})
        for p in personalizations:
            custom_args.update(p.get("custom_args") or {})
        reply_to = body.get("reply_to")
        content = body.get("content") or []
        mail: SentMail = {
            "message_id": secrets.token_urlsafe(16)[:22],
            "to": [e for p in personalizations for e in _emails(p.get("to"))],
            "cc": [e for p in personalizations for e in _emails(p.get("cc"))],
            "bcc": [e for p in personalizations for e in _emails(p.get("bcc"))],
            "from_": body["from"]["email"],
            "subject": body.get("subject") or personalizations[0].get("subject"),
            "content": [dict(c) for c in content],
            "template_id": body.get("template_id"),
            "custom_args": custom_args,
            "reply_to": reply_to.get("email") if isinstance(reply_to, dict) else None,
            "categories": list(body.get("categories") or []),
            "mail_headers": dict(body.get("headers") or {}),
            "headers": request.headers,
            "json": body,
        }
        with self._lock:
            self._mails.append(mail)
        return mail


def inbound_parse_form(
    *,
    from_: str,
    to: str,
    subject: str,
    text: str,
    html: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The fields SendGrid's Inbound Parse posts (as multipart/form-data) for one email.

    ``headers`` adds raw headers (e.g. In-Reply-To, References) to the ``headers`` field.
    To post it as multipart with httpx: ``files={k: (None, v) for k, v in form.items()}``.
    """
    sender = email.utils.parseaddr(from_)[1]
    recipient = email.utils.parseaddr(to)[1]
    domain = sender.rpartition("@")[2] or "example.com"
    raw_headers = {
        "Received": f"by mx0047p1mdw1.sendgrid.net with SMTP id {secrets.token_hex(5)} "
        f"{email.utils.formatdate(usegmt=True)}",
        "DKIM-Signature": f"v=1; a=rsa-sha256; d={domain}; s=s1; b={secrets.token_hex(8)}",
        "From": from_,
        "To": to,
        "Subject": subject,
        "Date": email.utils.formatdate(localtime=False),
        "Message-ID": email.utils.make_msgid(domain=domain),
        "MIME-Version": "1.0",
        "Content-Type": 'multipart/alternative; boundary="000000000000b1a2c3d4e5f6"',
        **dict(headers or {}),
    }
    form = {
        "headers": "".join(f"{k}: {v}\n" for k, v in raw_headers.items()),
        "dkim": f"{{@{domain} : pass}}",
        "to": to,
        "from": from_,
        "text": text,
        "sender_ip": "209.85.220.41",
        "spam_score": "0.011",
        "envelope": json.dumps({"to": [recipient], "from": sender}),
        "charsets": json.dumps(
            {"to": "UTF-8", "from": "UTF-8", "subject": "UTF-8", "text": "utf-8"}
            | ({"html": "utf-8"} if html is not None else {})
        ),
        "SPF": "pass",
        "subject": subject,
        "attachments": "0",
    }
    if html is not None:
        form["html"] = html
    return form
