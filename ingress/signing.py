"""The secrets the webhooks are checked with, and how to sign a request the way Twilio does.

Twilio signs with the account's auth token. Without one (development, `escalate dev`) the
ingress and `escalate simulate` share a random secret kept in `settings.dev_secret_path`,
created (mode 0600) by whichever of them needs it first.

SendGrid's Inbound Parse is not signed: it is protected by HTTP Basic credentials put in
the URL configured at SendGrid (`https://sendgrid:PASSWORD@host/webhooks/sendgrid/inbound`;
SendGrid sends them as an Authorization header). The password is derived from the Twilio
signing key above, so there is no other secret to keep; rotating the Twilio token changes it
(`escalate ingress --show-parse-url` prints the URL to configure).
"""

import hashlib
import hmac
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from twilio.request_validator import RequestValidator

from service.settings import Settings

PARSE_USER = "sendgrid"
_PARSE_CONTEXT = b"escalate inbound-parse v1"


def dev_secret(path: Path) -> str:
    """The development signing secret at `path`, created (random, 0600) if missing."""
    try:
        return _read(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read(path)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    return secret


def _read(path: Path) -> str:
    secret = path.read_text(encoding="utf-8").strip()
    if not secret:
        raise ValueError(f"{path} is empty: delete it and a new secret is made")
    return secret


def twilio_signing_key(settings: Settings) -> str:
    """The key Twilio's webhooks are signed with: the auth token, else the dev secret."""
    if settings.twilio_auth_token is not None:
        return settings.twilio_auth_token.get_secret_value()
    return dev_secret(settings.dev_secret_path)


def derived_secret(settings: Settings, context: bytes) -> str:
    """A key for one purpose (`context`), derived from the webhook signing key, so the worker
    that signs links and the ingress that checks them agree without another secret."""
    key = twilio_signing_key(settings).encode()
    return hmac.new(key, context, hashlib.sha256).hexdigest()


def parse_password(signing_key: str) -> str:
    """The Inbound Parse Basic-auth password, derived from the Twilio signing key."""
    return hmac.new(signing_key.encode(), _PARSE_CONTEXT, hashlib.sha256).hexdigest()[:40]


def parse_url(settings: Settings, signing_key: str) -> str:
    """The Inbound Parse URL to configure at SendGrid, credentials included."""
    scheme, _, rest = settings.public_url.partition("://")
    return f"{scheme}://{PARSE_USER}:{parse_password(signing_key)}@{rest}/webhooks/sendgrid/inbound"


def twilio_signature(signing_key: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature for a form POST of `params` to `url` (as Twilio computes it)."""
    return str(RequestValidator(signing_key).compute_signature(url, dict(params)))
