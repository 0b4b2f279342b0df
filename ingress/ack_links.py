"""Signed links with which staff acknowledge an escalation from the notice itself.

`https://support.example.com/ack/TOKEN`: the token (itsdangerous, HMAC-SHA256 with a
timestamp) names the case, the level asked to acknowledge and the person the notice went
to. Opening it shows one button: mail scanners that open every link change nothing.
Pressing it acknowledges the case as that person, only while the case still waits for that
level. A link works for the tenant's `notifications.ack_link_valid` from when it was sent.
The key is derived from the webhook signing key, like the chat links'.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer

from domain.models import Level
from ingress.chat_links import LinkProblem, LinkRefused
from ingress.signing import derived_secret
from service.settings import Settings

_CONTEXT = b"escalate ack-link v1"
_SALT = "ack-link"


@dataclass(frozen=True)
class AckClaim:
    """What a link acknowledges: one case, at one level, as one person."""

    case_id: str
    tenant: str
    level: Level
    contact: str
    notice_key: str
    issued_at: datetime


class AckLinks:
    def __init__(self, secret: str, public_url: str) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.public_url = public_url.rstrip("/")

    @classmethod
    def from_settings(cls, settings: Settings) -> "AckLinks":
        return cls(derived_secret(settings, _CONTEXT), settings.public_url)

    def url(self, case_id: str, tenant: str, level: Level, contact: str, notice_key: str) -> str:
        token = self._signer.dumps(
            {"c": case_id, "t": tenant, "l": int(level), "p": contact, "k": notice_key}
        )
        return f"{self.public_url}/ack/{token}"

    def read(self, token: str, valid_for: Callable[[str], timedelta | None]) -> AckClaim:
        """The claim a token makes; LinkRefused if it was altered or is older than its
        tenant's `valid_for(tenant)` (None: a tenant no longer configured)."""
        try:
            found, signed_at = self._signer.loads(token, return_timestamp=True)
            claim = AckClaim(
                case_id=str(found["c"]),
                tenant=str(found["t"]),
                level=Level(int(found["l"])),
                contact=str(found["p"]),
                notice_key=str(found["k"]),
                issued_at=signed_at.astimezone(UTC),
            )
        except (BadSignature, KeyError, TypeError, ValueError):
            raise LinkRefused(LinkProblem.TAMPERED) from None
        valid = valid_for(claim.tenant)
        if valid is None or datetime.now(UTC) - claim.issued_at > valid:
            raise LinkRefused(LinkProblem.EXPIRED)
        return claim
