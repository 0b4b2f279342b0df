"""Handing what a webhook accepted to its case, or to the spool while Temporal is away.

A customer message finds its case through the conversation store: a new case id is made
up front and `claim_conversation` decides, so two first texts racing each other open one
case. A conversation whose case has closed gets a new case (`replace_conversation`).

While the spool holds anything, new calls queue behind it, so the cases hear them in the
order they arrived; one background task replays the spool in order, at startup and
whenever Temporal is back. Delivery is at least once: a call that timed out may have
reached the case and is sent again; the case drops a message whose provider id it has.
"""

import asyncio
import contextlib
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

import structlog
from pydantic import BaseModel, Field, TypeAdapter

from domain.channels import address_key
from domain.commands import DeliveryReport, InboundMessage, SmsConsent
from domain.models import CaseInput, Channel
from ingress.cases import CaseClosed, Cases, TemporalUnavailable
from ingress.spool import Spool, SpoolEntry, SpoolUnavailable
from records.channels import ChannelStore
from records.store import StoreUnavailable

log = structlog.get_logger(__name__)

SIGNALS: dict[str, type[SmsConsent] | type[DeliveryReport]] = {
    "sms_consent": SmsConsent,
    "delivery_report": DeliveryReport,
}
# A conversation's case that closes again as soon as it is replaced is a bug, not a race.
REPLACE_ATTEMPTS = 3


def new_case_id(tenant: str, channel: Channel) -> str:
    """A case id for a customer who wrote in; never derived from their address."""
    return f"{tenant}-{channel.value}-{uuid.uuid4().hex[:12]}"


def customer_id(channel: Channel, address: str) -> str:
    """An opaque id for the customer behind a phone number or email, stable across cases."""
    return f"{channel.value}-{address_key(channel, address)[:16]}"


class MessageJob(BaseModel):
    """A customer message for the case of a conversation (or of a reply token)."""

    kind: Literal["message"] = "message"
    tenant: str
    channel: Channel
    address: str = Field(description="the customer's number or email: the conversation's key")
    case: CaseInput = Field(description="opens the case; its case_id is offered to the store")
    message: InboundMessage
    reply_to: str | None = Field(default=None, description="the case a reply token names")


class SignalJob(BaseModel):
    kind: Literal["signal"] = "signal"
    case_id: str
    name: Literal["sms_consent", "delivery_report"]
    payload: dict[str, Any]


Job = Annotated[MessageJob | SignalJob, Field(discriminator="kind")]
_JOB: TypeAdapter[MessageJob | SignalJob] = TypeAdapter(Job)


class Outcome(StrEnum):
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"  # the case already had this provider message id
    DROPPED = "dropped"  # a signal for a case that has ended
    SPOOLED = "spooled"


class CaseUnreachable(Exception):
    """The conversation kept pointing at closed cases."""


class Relay:
    def __init__(
        self, cases: Cases, store: ChannelStore, spool: Spool, *, retry_interval: float = 5.0
    ) -> None:
        self.cases = cases
        self.store = store
        self.spool = spool
        self.retry_interval = retry_interval
        self._wake = asyncio.Event()
        self._draining = asyncio.Lock()

    async def submit(self, job: MessageJob | SignalJob) -> Outcome:
        """Deliver now, or spool when Temporal is away or others wait before this one.

        Raises StoreUnavailable or SpoolUnavailable when the call was not accepted.
        """
        if await asyncio.to_thread(self.spool.depth):
            return await self._spool(job, "behind others in the spool")
        try:
            return await self._deliver(job)
        except TemporalUnavailable as exc:
            return await self._spool(job, str(exc))

    async def _spool(self, job: MessageJob | SignalJob, why: str) -> Outcome:
        entry = await asyncio.to_thread(self.spool.put, job.kind, job.model_dump(mode="json"))
        log.warning("spooled for later", kind=job.kind, entry=entry, why=why)
        self._wake.set()
        return Outcome.SPOOLED

    async def _deliver(self, job: MessageJob | SignalJob) -> Outcome:
        if isinstance(job, SignalJob):
            return await self._signal(job)
        return await self._message(job)

    async def _signal(self, job: SignalJob) -> Outcome:
        payload = SIGNALS[job.name].model_validate(job.payload)
        try:
            await self.cases.signal(job.case_id, job.name, payload)
        except CaseClosed:
            log.info("signal dropped: the case has ended", case_id=job.case_id, signal=job.name)
            return Outcome.DROPPED
        return Outcome.DELIVERED

    async def _message(self, job: MessageJob) -> Outcome:
        if job.reply_to is not None:
            try:
                return await self._post(job.reply_to, job)
            except CaseClosed:
                log.info(
                    "reply to a closed case: it goes to the conversation", case_id=job.reply_to
                )
        # Most messages belong to a conversation that exists: a read, which never waits for
        # the store's write lock (SQLite has one writer: the journals hold it in bursts).
        current = await asyncio.to_thread(
            self.store.conversation, job.tenant, job.channel, job.address
        )
        if current is None:
            current = await asyncio.to_thread(
                self.store.claim_conversation,
                job.tenant,
                job.channel,
                job.address,
                job.case.case_id,
                datetime.now(UTC),
            )
        for _ in range(REPLACE_ATTEMPTS):
            try:
                return await self._post(current, job)
            except CaseClosed as closed:
                fresh = new_case_id(job.tenant, job.channel)
                current = await asyncio.to_thread(
                    self.store.replace_conversation,
                    job.tenant,
                    job.channel,
                    job.address,
                    closed.case_id,
                    fresh,
                    datetime.now(UTC),
                )
                log.info("conversation moved to a new case", closed=closed.case_id, case_id=current)
        raise CaseUnreachable(f"the conversation's cases kept closing (last: {current})")

    async def _post(self, case_id: str, job: MessageJob) -> Outcome:
        case: CaseInput | str = case_id
        if job.reply_to != case_id:
            case = job.case.model_copy(update={"case_id": case_id})
        posted = await self.cases.post_customer_message(case, job.message)
        log.info(
            "message handed to its case" if posted else "duplicate message dropped",
            case_id=case_id,
            channel=job.channel.value,
        )
        return Outcome.DELIVERED if posted else Outcome.DUPLICATE

    # ----- the spool's replay --------------------------------------------------------------
    async def drain(self) -> int:
        """Deliver spooled calls in order until none is left or Temporal is away again.

        Returns how many were delivered (or dropped as moot).
        """
        done = 0
        async with self._draining:
            while True:
                entries = await asyncio.to_thread(self.spool.pending)
                if not entries:
                    return done
                for entry in entries:
                    if not await self._replay(entry):
                        return done
                    done += 1

    async def _replay(self, entry: SpoolEntry) -> bool:
        """Deliver one entry; False to stop (retry later), True to go on with the next."""
        try:
            job = _JOB.validate_python(entry.payload)
            outcome = await self._deliver(job)
        except (TemporalUnavailable, StoreUnavailable) as exc:
            await asyncio.to_thread(self.spool.attempted, entry.id, str(exc))
            log.info("spool replay paused", entry=entry.id, why=str(exc))
            return False
        except Exception as exc:  # ValidationError, CaseUnreachable, a bug: never replayable
            await asyncio.to_thread(self.spool.set_aside, entry.id, f"{type(exc).__name__}: {exc}")
            log.error("spool entry set aside", entry=entry.id, error=type(exc).__name__)
            return True
        await asyncio.to_thread(self.spool.delivered, entry.id)
        log.info("spooled call delivered", entry=entry.id, outcome=outcome.value)
        return True

    async def run(self) -> None:
        """Replay the spool now and whenever there may be something to deliver."""
        while True:
            self._wake.clear()  # before draining: a call spooled meanwhile wakes the next round
            try:
                await self.drain()
            except SpoolUnavailable as exc:
                log.error("the spool cannot be read", error=str(exc))
            except Exception:  # a bug must not end the replay for the life of the process
                log.exception("spool replay failed")
            backlog = await asyncio.to_thread(self._depth_or_zero)
            # With a backlog, try again after a pause; without one, sleep until woken.
            # (asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation.)
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.retry_interval if backlog else None):
                    await self._wake.wait()

    def _depth_or_zero(self) -> int:
        try:
            return self.spool.depth()
        except SpoolUnavailable:
            return 1
