"""Sending SMS: Twilio through its real SDK, or the local outbox when no account is set up.

Twilio's Messages API has no idempotency key: a request whose response is lost (a
timeout after Twilio accepted it) can be sent twice by a retry. The delivery activity
narrows that gap (it records every accepted message under the case's effect key and
checks the record before sending), it cannot close it; see the README.
"""

import asyncio
import contextvars
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import structlog
from twilio.base.exceptions import TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from activities.outbox import Outbox, OutboxEntry, now_utc
from activities.providers import ProviderFailed, retry_after
from domain.privacy import mask_phone, redact

log = structlog.get_logger(__name__)

# Twilio error codes that no retry can fix (https://www.twilio.com/docs/api/errors).
PERMANENT_CODES: dict[int, str] = {
    20003: "Twilio refused the credentials",
    21211: "invalid 'To' phone number",
    21408: "SMS to this region is not enabled on the account",
    21602: "the message body is empty",
    21606: "the 'From' number cannot send SMS",
    21610: "the recipient has opted out (replied STOP to this number)",
    21612: "the recipient's network cannot be reached from this number",
    21614: "the 'To' number is not a mobile number",
    21617: "the message body is too long",
    21660: "the 'From' number does not belong to the account",
}


@dataclass(frozen=True)
class Sms:
    key: str
    case_id: str
    tenant: str
    sender: str
    to: str
    body: str
    status_callback: str | None = None
    kind: str = "customer"  # or the staff notice's kind
    name: str | None = None  # the recipient's name, for the outbox listing


class SmsProvider(Protocol):
    name: str

    async def send(self, sms: Sms) -> str:
        """Send; the provider's id for the message. Raises ProviderFailed."""
        ...


class OutboxSms:
    """The embedded default: texts land in the local outbox, recipients masked."""

    name = "outbox"

    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def send(self, sms: Sms) -> str:
        entry = OutboxEntry(
            key=sms.key,
            at=now_utc(),
            kind=sms.kind,
            case_id=sms.case_id,
            tenant=sms.tenant,
            channel="sms",
            recipient=f"{sms.name} <{mask_phone(sms.to)}>" if sms.name else mask_phone(sms.to),
            text=sms.body,
        )
        await asyncio.to_thread(self.outbox.put, entry)
        return f"outbox:{sms.key}"


# The last HTTP response of the current task: TwilioRestException drops the headers, and
# a 429's Retry-After is in them. A context variable keeps concurrent sends apart.
_last_response: contextvars.ContextVar[Response | None] = contextvars.ContextVar(
    "twilio_last_response", default=None
)


class _HeaderKeepingClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    async def request(self, *args: Any, **kwargs: Any) -> Response:
        # The SDK passes timeout=None on every call, which overrides the client's own.
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        response = await super().request(*args, **kwargs)
        _last_response.set(response)
        return response


class TwilioSms:
    """Twilio's Messages API through the official SDK (async client, pooled connections)."""

    name = "twilio"

    def __init__(
        self, account_sid: str, auth_token: str, api_url: str, timeout: float = 15.0
    ) -> None:
        self._sid, self._token, self._api_url, self._timeout = (
            account_sid,
            auth_token,
            api_url,
            timeout,
        )
        self._client: Client | None = None

    def _twilio(self) -> Client:
        # Built on first use: its aiohttp session must belong to the worker's event loop.
        if self._client is None:
            client = Client(
                self._sid,
                self._token,
                http_client=_HeaderKeepingClient(timeout=self._timeout),
            )
            client.api.base_url = self._api_url.rstrip("/")
            # TWILIO_EDGE / TWILIO_REGION in the environment would rewrite the host.
            client.edge = client.region = None
            self._client = client
        return self._client

    async def send(self, sms: Sms) -> str:
        _last_response.set(None)
        extra: dict[str, Any] = {}
        if sms.status_callback:
            extra["status_callback"] = sms.status_callback
        try:
            message = await self._twilio().messages.create_async(
                to=sms.to, from_=sms.sender, body=sms.body, **extra
            )
        except TwilioRestException as exc:
            response = _last_response.get()
            raise classify(exc, response.headers if response is not None else {}) from exc
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise ProviderFailed(
                "twilio", f"cannot reach Twilio: {type(exc).__name__}: {exc}", permanent=False
            ) from exc
        return str(message.sid)

    async def close(self) -> None:
        if self._client is not None:
            http = self._client.http_client
            if isinstance(http, AsyncTwilioHttpClient):
                await http.close()


def classify(exc: TwilioRestException, headers: Mapping[str, str]) -> ProviderFailed:
    """A Twilio error as retryable (429, 5xx) or permanent (a known code, any other 4xx)."""
    status = int(exc.status)
    code = int(exc.code) if isinstance(exc.code, int) else None
    # Twilio's messages quote the numbers: keep them out of the case's history and logs.
    detail = redact(str(exc.msg or "").strip()) or f"HTTP {status}"
    if status == 429 or status >= 500:
        wait = retry_after(_header(headers, "Retry-After"), time.time())
        return ProviderFailed(
            "twilio",
            f"HTTP {status} (code {code}): {detail}",
            permanent=False,
            code=str(code) if code is not None else None,
            retry_after=wait,
        )
    meaning = PERMANENT_CODES.get(code or 0)
    reason = f"{meaning} (code {code})" if meaning else f"HTTP {status} (code {code}): {detail}"
    return ProviderFailed(
        "twilio", reason, permanent=True, code=str(code) if code is not None else str(status)
    )


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return str(value)
    return None
