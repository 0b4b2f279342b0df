"""A local fake of Twilio's Messages REST API, for tests that drive the real `twilio` SDK.

Pointing the SDK at it: ``Domain.absolute_url`` reads ``base_url`` on every request, so

    client = Client(fake.account_sid, fake.auth_token)
    client.api.base_url = fake.url  # every client.messages / client.api.v2010 call now goes here

works for the sync client (``TwilioHttpClient``, requests) and for ``create_async`` with
``http_client=AsyncTwilioHttpClient()`` (aiohttp). The client must have no edge or region
(``TWILIO_EDGE`` / ``TWILIO_REGION`` in the environment set them; ``environment={}`` does not
help, the SDK treats an empty mapping as "use os.environ"): with one, ``get_hostname`` rewrites
the netloc and the request leaves 127.0.0.1. ``FakeTwilio.client()`` does all of this.

Error classification with the SDK: every non-2xx reply raises ``TwilioRestException`` with
``.status`` (HTTP status) and ``.code`` (Twilio error code from the JSON body; equal to
``.status`` when the body is empty or not JSON, as on a 502/503). The exception carries no
headers: ``Retry-After`` is only reachable through the HTTP client's last response
(``client.http_client._test_only_last_response.headers``), so an adapter that honours it needs
its own ``HttpClient`` wrapper. Timeouts: ``TwilioHttpClient(timeout=...)`` raises
``requests.exceptions.Timeout``; ``AsyncTwilioHttpClient`` ignores its ``timeout`` argument
(the SDK passes ``timeout=None`` per request), so bound ``create_async`` with
``asyncio.timeout`` or pass the float on in a subclass (both raise ``TimeoutError``).

``FakeProvider`` (the threaded server, request recording and failure script) lives here and is
shared by ``tests.fakes.sendgrid_api``.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import email.utils
import json
import math
import re
import secrets
import threading
import traceback
from collections import deque
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self, TypedDict
from urllib.parse import parse_qs, urlsplit

import httpx
from twilio.http import HttpClient
from twilio.request_validator import RequestValidator
from twilio.rest import Client

API_VERSION = "2010-04-01"
ERRORS_URL = "https://www.twilio.com/docs/errors/{code}"
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = frozenset("\f^{}\\[~]|€")
MAX_BODY = 1600


# --------------------------------------------------------------------------- shared server


@dataclasses.dataclass(frozen=True)
class RecordedRequest:
    """One HTTP request as the fake received it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: httpx.Headers
    raw: bytes
    body: Any
    """Form bodies as ``dict[str, list[str]]``, JSON bodies decoded, anything else None."""

    @property
    def form(self) -> dict[str, str]:
        """The form body with one (the first) value per field."""
        if not isinstance(self.body, dict):
            return {}
        return {k: v[0] for k, v in self.body.items() if isinstance(v, list) and v}


@dataclasses.dataclass(frozen=True)
class ScriptedFailure:
    """A provider error the fake plays instead of accepting a send."""

    status: int
    code: int | None = None
    message: str | None = None
    field_name: str | None = None
    retry_after: int | str | None = None
    body: str | bytes | None = None
    content_type: str | None = None
    headers: Mapping[str, str] = dataclasses.field(default_factory=dict)
    to: str | None = None


@dataclasses.dataclass
class Reply:
    """An HTTP response to write back."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = dataclasses.field(default_factory=dict)

    @classmethod
    def json(cls, status: int, payload: Any, **headers: str) -> Reply:
        """A JSON reply."""
        body = json.dumps(payload).encode()
        return cls(status, body, {"Content-Type": "application/json; charset=utf-8", **headers})


def _parse_body(content_type: str, raw: bytes) -> Any:
    """Decode a form or JSON body; anything else stays raw (None here)."""
    kind = content_type.split(";")[0].strip().lower()
    try:
        if kind == "application/x-www-form-urlencoded":
            return parse_qs(raw.decode(), keep_blank_values=True)
        if kind.endswith("json") and raw:
            return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        return None
    return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 drops a burst of concurrent connects for ~1 s

    def __init__(self, fake: FakeProvider) -> None:
        self.fake = fake
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        headers = httpx.Headers(list(self.headers.items()))
        request = RecordedRequest(
            method=self.command,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers=headers,
            raw=raw,
            body=_parse_body(headers.get("content-type", ""), raw),
        )
        self.close_connection = True
        reply = self.server.fake._dispatch(request)
        if reply is None:  # stopped while delaying
            return
        try:
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)


class FakeProvider:
    """A provider API on 127.0.0.1, served from a daemon thread.

    Records every request, plays scripted failures in order (``fail_next``), per-recipient
    failures (``fail_for``) and delays (``delay_next``). Use as a context manager or call
    ``start()``/``stop()`` from a fixture. ``stop()`` raises if the fake itself crashed while
    handling a request, so a bug in a fake cannot pass as a provider 500. On its own it answers
    204 to everything, which makes it a recording sink for webhooks the fakes send.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._failures: deque[ScriptedFailure] = deque()
        self._rules: list[ScriptedFailure] = []
        self._delays: deque[float] = deque()
        self._crashes: list[str] = []

    # lifecycle

    @property
    def url(self) -> str:
        """Base URL, like ``http://127.0.0.1:PORT``."""
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Self:
        """Bind a free port and serve in a daemon thread."""
        if self._server is not None:
            return self
        self._stopping.clear()
        server = _Server(self)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name=f"{type(self).__name__}-{server.server_address[1]}",
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        """Stop serving, cut pending delays short, and raise if a handler crashed."""
        server, thread = self._server, self._thread
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = self._thread = None
        with self._lock:
            crashes, self._crashes = self._crashes, []
        if crashes:
            raise RuntimeError(f"{type(self).__name__} crashed:\n" + "\n".join(crashes))

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # script

    def delay_next(self, seconds: float, *, times: int = 1) -> None:
        """Hold the next ``times`` requests for ``seconds`` before answering (a slow provider)."""
        with self._lock:
            self._delays.extend([seconds] * times)

    def reset(self) -> None:
        """Forget recorded requests and every scripted failure and delay."""
        with self._lock:
            self._requests.clear()
            self._failures.clear()
            self._rules.clear()
            self._delays.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in arrival order (a copy)."""
        with self._lock:
            return list(self._requests)

    @property
    def pending_failures(self) -> int:
        """Scripted ``fail_next`` failures not yet consumed."""
        with self._lock:
            return len(self._failures)

    def _queue(self, failure: ScriptedFailure, times: int) -> None:
        with self._lock:
            self._failures.extend([failure] * times)

    def _add_rule(self, failure: ScriptedFailure) -> None:
        with self._lock:
            self._rules.append(failure)

    def _next_failure(self) -> ScriptedFailure | None:
        with self._lock:
            return self._failures.popleft() if self._failures else None

    def _rule_for(self, recipients: Sequence[str]) -> ScriptedFailure | None:
        wanted = {self._normalize(r) for r in recipients}
        with self._lock:
            for rule in self._rules:
                if rule.to is not None and self._normalize(rule.to) in wanted:
                    return rule
        return None

    @staticmethod
    def _normalize(recipient: str) -> str:
        return recipient.strip()

    # serving

    def _dispatch(self, request: RecordedRequest) -> Reply | None:
        with self._lock:
            self._requests.append(request)
            delay = self._delays.popleft() if self._delays else 0.0
        if delay and self._stopping.wait(delay):
            return None
        try:
            return self._respond(request)
        except Exception:
            with self._lock:
                self._crashes.append(traceback.format_exc())
            return Reply(500, b"fake crashed", {"Content-Type": "text/plain"})

    def _respond(self, request: RecordedRequest) -> Reply:
        """Answer one request (subclasses implement the provider's API)."""
        return Reply(204)


def _retry_after(value: int | str | None) -> dict[str, str]:
    return {} if value is None else {"Retry-After": str(value)}


# --------------------------------------------------------------------------- Twilio


class SentMessage(TypedDict):
    """A message the fake accepted."""

    sid: str
    account_sid: str
    to: str
    from_: str | None
    messaging_service_sid: str | None
    body: str
    media_urls: list[str]
    status_callback: str | None
    status: str
    error_code: int | None
    num_segments: str
    date_created: str
    date_updated: str
    date_sent: str | None
    headers: httpx.Headers
    params: dict[str, list[str]]


DEFAULT_CODES = {401: 20003, 403: 20403, 404: 20404, 405: 20004, 429: 20429, 500: 20500, 503: 20503}
DEFAULT_MESSAGES = {
    400: "Bad Request",
    401: "Authenticate",
    403: "Forbidden",
    404: "The requested resource was not found",
    405: "Method not allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


def _rfc2822(moment: datetime) -> str:
    return email.utils.format_datetime(moment)  # "Tue, 01 Jul 2025 12:00:00 +0000", like Twilio


def _sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


def count_segments(body: str) -> int:
    """SMS segments for ``body``: GSM-7 (160, or 153 per part) else UCS-2 (70, or 67)."""
    if all(c in GSM7_BASIC or c in GSM7_EXTENDED for c in body):
        units, single, part = sum(2 if c in GSM7_EXTENDED else 1 for c in body), 160, 153
    else:
        units, single, part = len(body.encode("utf-16-le")) // 2, 70, 67
    return 1 if units <= single else math.ceil(units / part)


def twilio_error(status: int, code: int | None, message: str, **headers: str) -> Reply:
    """A reply in Twilio's legacy error shape, which the SDK turns into TwilioRestException."""
    payload = {
        "code": code,
        "message": message,
        "more_info": ERRORS_URL.format(code=code) if code else None,
        "status": status,
    }
    return Reply.json(status, payload, **headers)


class FakeTwilio(FakeProvider):
    """Twilio's ``/2010-04-01/Accounts/{AccountSid}/Messages.json`` (create) and fetch."""

    def __init__(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        api_keys: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.account_sid = account_sid or _sid("AC")
        self.auth_token = auth_token or secrets.token_hex(16)
        self.api_keys: dict[str, str] = dict(api_keys or {})
        self._messages: dict[str, SentMessage] = {}

    def client(self, *, http_client: HttpClient | None = None) -> Client:
        """A real ``twilio.rest.Client`` pointed at this fake (pass ``AsyncTwilioHttpClient()``
        as ``http_client`` for ``create_async``)."""
        client = Client(self.account_sid, self.auth_token, http_client=http_client)
        client.edge = client.region = None  # an edge/region would rewrite 127.0.0.1 away
        client.api.base_url = self.url
        return client

    # script

    def fail_next(
        self,
        status: int,
        code: int | None = None,
        message: str | None = None,
        *,
        retry_after: int | str | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
        times: int = 1,
    ) -> None:
        """Fail the next ``times`` message creations (after auth, before validation).

        Without ``code``/``message`` a 5xx gets an empty body (``body``/``content_type`` give
        e.g. an HTML gateway page); 4xx get Twilio's JSON error with a default code.
        """
        failure = ScriptedFailure(
            status,
            code=code,
            message=message,
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
        code: int | None = None,
        message: str | None = None,
        *,
        retry_after: int | str | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Fail every message to ``to`` until ``reset()`` (e.g. 21610, an opted-out number)."""
        failure = ScriptedFailure(
            status,
            code=code,
            message=message,
            retry_after=retry_after,
            body=body,
            content_type=content_type,
            headers=dict(headers or {}),
            to=to,
        )
        self._add_rule(failure)

    def reset(self) -> None:
        """Forget requests, messages and every scripted failure and delay."""
        with self._lock:
            super().reset()
            self._messages.clear()

    @property
    def messages(self) -> list[SentMessage]:
        """Messages created so far, oldest first (copies)."""
        with self._lock:
            return [m.copy() for m in self._messages.values()]

    def message(self, sid: str) -> SentMessage:
        """One created message by sid (a copy)."""
        with self._lock:
            return self._messages[sid].copy()

    # status callbacks

    def signed_status_callback(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        url: str | None = None,
        auth_token: str | None = None,
    ) -> tuple[str, dict[str, str], dict[str, str]]:
        """Move message ``sid`` to ``status`` and build Twilio's status callback for it.

        Returns (url, form params, headers incl. ``X-Twilio-Signature``) for tests that post
        it themselves; the URL is the message's StatusCallback unless ``url`` is given.
        """
        now = _rfc2822(datetime.now(UTC))
        with self._lock:
            message = self._messages[sid]
            target = url or message["status_callback"]
            if not target:
                raise ValueError(f"message {sid} has no StatusCallback and no url was given")
            message["status"] = status
            message["error_code"] = error_code
            message["date_updated"] = now
            if status in {"sent", "delivered"} and message["date_sent"] is None:
                message["date_sent"] = now
            snapshot = message.copy()
        params = {
            "SmsSid": sid,
            "SmsStatus": status,
            "MessageStatus": status,
            "To": snapshot["to"],
            "MessageSid": sid,
            "AccountSid": snapshot["account_sid"],
            "From": snapshot["from_"] or "",
            "ApiVersion": API_VERSION,
        }
        if snapshot["messaging_service_sid"]:
            params["MessagingServiceSid"] = str(snapshot["messaging_service_sid"])
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        if status == "delivered":
            params["RawDlrDoneDate"] = datetime.now(UTC).strftime("%y%m%d%H%M")
        return target, params, _webhook_headers(target, params, auth_token or self.auth_token)

    def status_callback(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        url: str | None = None,
        auth_token: str | None = None,
    ) -> int:
        """POST a signed status callback like Twilio would; returns the receiver's HTTP status."""
        target, params, headers = self.signed_status_callback(
            sid, status, error_code, url=url, auth_token=auth_token
        )
        return httpx.post(target, data=params, headers=headers, timeout=10).status_code

    async def status_callback_async(
        self,
        sid: str,
        status: str,
        error_code: int | None = None,
        url: str | None = None,
        auth_token: str | None = None,
    ) -> int:
        """``status_callback`` for a receiver running on the caller's event loop."""
        target, params, headers = self.signed_status_callback(
            sid, status, error_code, url=url, auth_token=auth_token
        )
        async with httpx.AsyncClient(timeout=10) as http:
            return (await http.post(target, data=params, headers=headers)).status_code

    # serving

    def _authenticated(self, request: RecordedRequest) -> bool:
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        if user == self.account_sid:
            return secrets.compare_digest(password, self.auth_token)
        secret = self.api_keys.get(user)
        return secret is not None and secrets.compare_digest(password, secret)

    def _respond(self, request: RecordedRequest) -> Reply:
        parts = request.path.strip("/").split("/")
        is_list = len(parts) == 4 and parts[3] == "Messages.json"
        is_item = len(parts) == 5 and parts[3] == "Messages" and parts[4].endswith(".json")
        if parts[:2] != [API_VERSION, "Accounts"] or not (is_list or is_item):
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        if not self._authenticated(request) or parts[2] != self.account_sid:
            return twilio_error(
                401,
                20003,
                "Authenticate",
                **{"WWW-Authenticate": 'Basic realm="Twilio API"'},
            )
        if is_item:
            if request.method != "GET":
                return twilio_error(405, 20004, "Method not allowed")
            return self._fetch(request.path, parts[4].removesuffix(".json"))
        if request.method != "POST":
            return twilio_error(405, 20004, "Method not allowed")
        if (failure := self._next_failure()) is not None:
            return self._failure_reply(failure)
        return self._create(request)

    def _failure_reply(self, failure: ScriptedFailure) -> Reply:
        headers = {**_retry_after(failure.retry_after), **failure.headers}
        if failure.body is not None:
            body = failure.body.encode() if isinstance(failure.body, str) else failure.body
            headers.setdefault("Content-Type", failure.content_type or "text/html")
            return Reply(failure.status, body, headers)
        if failure.status >= 500 and failure.code is None and failure.message is None:
            return Reply(failure.status, b"", headers)
        code = failure.code if failure.code is not None else DEFAULT_CODES.get(failure.status)
        message = failure.message or DEFAULT_MESSAGES.get(failure.status, "Error")
        return twilio_error(failure.status, code, message, **headers)

    def _fetch(self, path: str, sid: str) -> Reply:
        with self._lock:
            message = self._messages.get(sid)
            resource = None if message is None else self._resource(message)
        if resource is None:
            return twilio_error(404, 20404, f"The requested resource {path} was not found")
        return Reply.json(200, resource)

    def _create(self, request: RecordedRequest) -> Reply:
        params: dict[str, list[str]] = request.body if isinstance(request.body, dict) else {}

        def first(name: str) -> str:
            values = params.get(name) or [""]
            return values[0]

        to, from_, service = first("To"), first("From"), first("MessagingServiceSid")
        body, media = first("Body"), [u for u in params.get("MediaUrl", []) if u]
        if not to:
            return twilio_error(400, 21604, "A 'To' phone number is required.")
        if not from_ and not service:
            return twilio_error(400, 21603, "A 'From' phone number is required.")
        if not body and not media and not first("ContentSid"):
            return twilio_error(400, 21602, "Message body is required.")
        number = to.split(":", 1)[1] if to.startswith("whatsapp:") else to
        if not E164.match(number):
            return twilio_error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if len(body) > MAX_BODY:
            return twilio_error(
                400, 21617, "The concatenated message body exceeds the 1600 character limit."
            )
        if (rule := self._rule_for([to])) is not None:
            return self._failure_reply(rule)

        now = _rfc2822(datetime.now(UTC))
        if first("ScheduleType") == "fixed" and first("SendAt"):
            status = "scheduled"
        elif service and not from_:
            status = "accepted"
        else:
            status = "queued"
        message: SentMessage = {
            "sid": _sid("MM" if media else "SM"),
            "account_sid": self.account_sid,
            "to": to,
            "from_": from_ or None,
            "messaging_service_sid": service or None,
            "body": body,
            "media_urls": media,
            "status_callback": first("StatusCallback") or None,
            "status": status,
            "error_code": None,
            "num_segments": "0" if status == "accepted" else str(count_segments(body)),
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "headers": request.headers,
            "params": params,
        }
        with self._lock:
            self._messages[message["sid"]] = message
            resource = self._resource(message)
        return Reply.json(201, resource, **{"Twilio-Request-Id": _sid("RQ")})

    def _resource(self, m: SentMessage) -> dict[str, Any]:
        uri = f"/{API_VERSION}/Accounts/{m['account_sid']}/Messages/{m['sid']}"
        return {
            "account_sid": m["account_sid"],
            "api_version": API_VERSION,
            "body": m["body"],
            "date_created": m["date_created"],
            "date_sent": m["date_sent"],
            "date_updated": m["date_updated"],
            "direction": "outbound-api",
            "error_code": m["error_code"],
            "error_message": None,
            "from": m["from_"],
            "messaging_service_sid": m["messaging_service_sid"],
            "num_media": str(len(m["media_urls"])),
            "num_segments": m["num_segments"],
            "price": None,
            "price_unit": "USD",
            "sid": m["sid"],
            "status": m["status"],
            "subresource_uris": {"media": f"{uri}/Media.json", "feedback": f"{uri}/Feedback.json"},
            "to": m["to"],
            "uri": f"{uri}.json",
        }


def _webhook_headers(url: str, params: Mapping[str, str], auth_token: str) -> dict[str, str]:
    signature = RequestValidator(auth_token).compute_signature(url, dict(params))
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "User-Agent": "TwilioProxy/1.1",
        "I-Twilio-Idempotency-Token": secrets.token_hex(16),
        "X-Twilio-Signature": signature,
    }


def signed_inbound_sms(
    url: str,
    auth_token: str,
    *,
    from_: str,
    to: str,
    body: str,
    message_sid: str | None = None,
    num_media: int = 0,
    media: Sequence[tuple[str, str]] = (),
    account_sid: str | None = None,
    messaging_service_sid: str | None = None,
) -> tuple[dict[str, str], dict[str, str]]:
    """Twilio's incoming-message webhook for ``url``: (form params, headers with signature).

    ``media`` is (url, content type) pairs; ``num_media`` beyond them adds JPEG placeholders.
    Post the params form-encoded to exactly ``url`` (the signature covers it, query included).
    """
    account = account_sid or _sid("AC")
    count = max(num_media, len(media))
    sid = message_sid or _sid("MM" if count else "SM")
    items = list(media) + [
        (
            f"https://api.twilio.com/{API_VERSION}/Accounts/{account}/Messages/{sid}"
            f"/Media/{_sid('ME')}",
            "image/jpeg",
        )
        for _ in range(count - len(media))
    ]
    params = {
        "ToCountry": "US",
        "ToState": "DC",
        "SmsMessageSid": sid,
        "NumMedia": str(count),
        "ToCity": "WASHINGTON",
        "FromZip": "20001",
        "SmsSid": sid,
        "FromState": "DC",
        "SmsStatus": "received",
        "FromCity": "WASHINGTON",
        "Body": body,
        "FromCountry": "US",
        "To": to,
        "MessagingServiceSid": messaging_service_sid or _sid("MG"),
        "ToZip": "20001",
        "NumSegments": str(count_segments(body)),
        "MessageSid": sid,
        "AccountSid": account,
        "From": from_,
        "ApiVersion": API_VERSION,
    }
    for index, (media_url, content_type) in enumerate(items):
        params[f"MediaContentType{index}"] = content_type
        params[f"MediaUrl{index}"] = media_url
    return params, _webhook_headers(url, params, auth_token)
