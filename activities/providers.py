"""What a provider's failure means for a retry: the two kinds every channel raises.

A send either went, or failed in one of two ways: for now (rate limit, 5xx, network:
retry, after the provider's Retry-After when it gave one) or for good (bad number,
opted out at the carrier, bad credentials: retrying cannot help; the case falls back
to another channel). Activities turn these into Temporal's retryable and
non-retryable ApplicationErrors.
"""

from datetime import timedelta
from email.utils import parsedate_to_datetime

from temporalio.exceptions import ApplicationError

PERMANENT = "PermanentDeliveryError"
TRANSIENT = "ProviderUnavailable"
# Never wait longer than this on a provider's say-so: the retry policy's ceiling.
MAX_RETRY_AFTER = timedelta(minutes=5)


class ProviderFailed(Exception):
    """A send the provider refused; `permanent` says whether a retry could succeed."""

    def __init__(
        self,
        provider: str,
        reason: str,
        *,
        permanent: bool,
        code: str | None = None,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(f"{provider}: {reason}")
        self.provider = provider
        self.reason = reason
        self.permanent = permanent
        self.code = code
        self.retry_after = retry_after

    def as_activity_error(self) -> ApplicationError:
        delay = None
        if self.retry_after is not None:
            delay = min(max(self.retry_after, timedelta(0)), MAX_RETRY_AFTER)
        return ApplicationError(
            str(self),
            {"provider": self.provider, "code": self.code},
            type=PERMANENT if self.permanent else TRANSIENT,
            non_retryable=self.permanent,
            next_retry_delay=delay,
        )


def retry_after(value: str | None, now_epoch: float) -> timedelta | None:
    """A Retry-After header (seconds, or an HTTP date) as a delay; None if absent or bad."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return timedelta(seconds=max(when.timestamp() - now_epoch, 0))
