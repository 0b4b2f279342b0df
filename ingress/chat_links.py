"""Signed, expiring, single-case links to the web chat, sent to customers by SMS.

`https://support.example.com/chat/CASE?t=TOKEN`: the token (itsdangerous, HMAC-SHA256 with a
timestamp) names the case, so a link works for its own case only, for `chat_link_hours`
after it was made; a changed character, an old link or another case's token is refused with
its reason. The key is `ESCALATE_CHAT_LINK_SECRET`, else one derived from the webhook signing
key (the Twilio auth token or the development secret), so the worker that makes the links
and the ingress that checks them agree without another secret to share.
"""

from datetime import timedelta
from enum import StrEnum
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ingress.signing import derived_secret
from service.settings import Settings

_CONTEXT = b"escalate chat-link v1"
_SALT = "chat-link"


class LinkProblem(StrEnum):
    TAMPERED = "tampered"
    EXPIRED = "expired"
    OTHER_CASE = "other_case"


class LinkRefused(Exception):
    def __init__(self, problem: LinkProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


class ChatLinks:
    def __init__(self, secret: str, public_url: str, valid_for: timedelta) -> None:
        self._signer = URLSafeTimedSerializer(secret, salt=_SALT)
        self.public_url = public_url.rstrip("/")
        self.valid_for = valid_for

    @classmethod
    def from_settings(cls, settings: Settings) -> "ChatLinks":
        if settings.chat_link_secret is not None:
            secret = settings.chat_link_secret.get_secret_value()
        else:
            secret = derived_secret(settings, _CONTEXT)
        return cls(secret, settings.public_url, timedelta(hours=settings.chat_link_hours))

    def token(self, case_id: str) -> str:
        return self._signer.dumps({"case": case_id})

    def url(self, case_id: str) -> str:
        return f"{self.public_url}/chat/{quote(case_id, safe='')}?t={self.token(case_id)}"

    def check(self, case_id: str, token: str) -> None:
        """Return if `token` opens `case_id` now; raise LinkRefused with the reason if not."""
        try:
            found = self._signer.loads(token, max_age=int(self.valid_for.total_seconds()))
        except SignatureExpired:
            raise LinkRefused(LinkProblem.EXPIRED) from None
        except BadSignature:
            raise LinkRefused(LinkProblem.TAMPERED) from None
        if not isinstance(found, dict) or found.get("case") != case_id:
            raise LinkRefused(LinkProblem.OTHER_CASE)
