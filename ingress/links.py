"""Signed links in the notices and questions the engine sends: acknowledge, and rate.

`/ack/TOKEN` lets staff acknowledge an escalation from its notice: the token names the case,
the level asked to acknowledge and the person the notice went to. `/rate/TOKEN` lets the
customer rate the help from the email that asks: the token names the case. Tokens are
itsdangerous (HMAC-SHA256 with a timestamp), each kind with its own salt, and work for the
tenant's setting from when they were made (`notifications.ack_link_valid`,
`csat.link_valid`). Opening a link shows a page with a button: mail scanners that open every
link change nothing. The key is derived from the webhook signing key, like the chat links'.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from itsdangerous import BadSignature, URLSafeTimedSerializer

from domain.models import Level
from domain.tenant import TenantConfig
from ingress.chat_links import LinkProblem, LinkRefused
from ingress.signing import derived_secret
from service.settings import Settings

_CONTEXT = b"escalate ack-link v1"


class _SignedLinks:
    """Tokens that carry a tenant (whose setting says how long they work) under `path`."""

    salt = ""
    path = ""

    def __init__(self, secret: str, public_url: str) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt=self.salt)
        self.public_url = public_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> Self:
        return cls(derived_secret(settings, _CONTEXT), settings.public_url)

    def _url(self, payload: dict[str, Any]) -> str:
        return f"{self.public_url}/{self.path}/{self._signer.dumps(payload)}"

    @staticmethod
    def valid_for(tenant: TenantConfig) -> timedelta:
        """How long this kind of link works, by the tenant's setting."""
        raise NotImplementedError

    def _read(
        self, token: str, tenants: Mapping[str, TenantConfig]
    ) -> tuple[dict[str, Any], datetime]:
        """The payload and when it was signed; LinkRefused if altered, or older than its
        tenant's setting (or its tenant is no longer configured)."""
        try:
            found, signed_at = self._signer.loads(token, return_timestamp=True)
            tenant = str(found["t"])
        except (BadSignature, KeyError, TypeError, ValueError):
            raise LinkRefused(LinkProblem.TAMPERED) from None
        config = tenants.get(tenant)
        valid = self.valid_for(config) if config is not None else None
        issued = signed_at.astimezone(UTC)
        if valid is None or datetime.now(UTC) - issued > valid:
            raise LinkRefused(LinkProblem.EXPIRED)
        return found, issued


@dataclass(frozen=True)
class AckClaim:
    """What a link acknowledges: one case, at one level, as one person."""

    case_id: str
    tenant: str
    level: Level
    contact: str
    notice_key: str
    issued_at: datetime
    escalation: int | None = None  # which escalation asked (None: a link from before)


class AckLinks(_SignedLinks):
    salt = "ack-link"
    path = "ack"

    def url(
        self,
        case_id: str,
        tenant: str,
        level: Level,
        contact: str,
        notice_key: str,
        escalation: int | None = None,
    ) -> str:
        return self._url(
            {
                "c": case_id,
                "t": tenant,
                "l": int(level),
                "p": contact,
                "k": notice_key,
                "e": escalation,
            }
        )

    @staticmethod
    def valid_for(tenant: TenantConfig) -> timedelta:
        valid: timedelta = tenant.notifications.ack_link_valid
        return valid

    def read(self, token: str, tenants: Mapping[str, TenantConfig]) -> AckClaim:
        found, issued = self._read(token, tenants)
        try:
            return AckClaim(
                case_id=str(found["c"]),
                tenant=str(found["t"]),
                level=Level(int(found["l"])),
                contact=str(found["p"]),
                notice_key=str(found["k"]),
                issued_at=issued,
                escalation=int(found["e"]) if found.get("e") is not None else None,
            )
        except (KeyError, TypeError, ValueError):
            raise LinkRefused(LinkProblem.TAMPERED) from None


@dataclass(frozen=True)
class RatingClaim:
    case_id: str
    tenant: str


class RatingLinks(_SignedLinks):
    salt = "rating-link"
    path = "rate"

    def url(self, case_id: str, tenant: str) -> str:
        return self._url({"c": case_id, "t": tenant})

    @staticmethod
    def valid_for(tenant: TenantConfig) -> timedelta:
        valid: timedelta = tenant.csat.link_valid
        return valid

    def read(self, token: str, tenants: Mapping[str, TenantConfig]) -> RatingClaim:
        found, _ = self._read(token, tenants)
        return RatingClaim(case_id=str(found.get("c", "")), tenant=str(found["t"]))
