"""Retry policies the case and its RCA share."""

from datetime import timedelta

from temporalio.common import RetryPolicy

# Deliveries give up after this and are recorded as failed, so a dead provider is visible.
DELIVERY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
    maximum_attempts=12,
    non_retryable_error_types=["InvalidRecipient", "PermanentDeliveryError"],
)
