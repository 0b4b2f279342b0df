"""Handing what a webhook accepted to its case: written durably first, delivered after.

Acceptance is the spool write: a webhook's call becomes a spool entry, committed to disk,
and the webhook answers 200 without waiting for Temporal (Twilio allows 15 s; a busy
Temporal must not make a customer's text slow or lost). The relay, in the same process,
delivers the entries in the background:

- in the order they were written within one *conversation* (a customer's texts and their
  STOP reach the case in the order they came), and in parallel across conversations, so a
  case that is slow to open holds up nobody else;
- once Temporal or the store fails (`TemporalUnavailable`, `StoreUnavailable`), deliveries
  pause; one probe tries again every `retry_interval` and resumes them when both answer;
- entries that can never be delivered (a payload the code does not understand, a
  conversation whose cases keep closing) are set aside in the spool, not lost.

A customer message finds its case through the conversation store: a new case id is made
up front and `claim_conversation` decides, so two first texts racing each other open one
case (also across ingress replicas). A conversation whose case has closed gets a new case
(`replace_conversation`).

Delivery is at least once: an entry is forgotten in batches after its case has it, so a
crash in between delivers it again, and a call that timed out may have reached the case;
the case drops a message whose provider id it has, and the signals are idempotent.
"""

import asyncio
import contextlib
import contextvars
import functools
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeVar

import structlog
from pydantic import BaseModel, Field, TypeAdapter, ValidationError, model_validator

from domain.channels import address_key
from domain.commands import ChatJoined, DeliveryReport, InboundMessage, SmsConsent
from domain.models import CaseInput, Channel
from ingress.cases import CaseClosed, Cases, TemporalUnavailable
from ingress.reopen import Reopener
from ingress.spool import Spool, SpoolEntry, SpoolUnavailable
from records.channels import ChannelStore
from records.store import StoreUnavailable

log = structlog.get_logger(__name__)

SIGNALS: dict[str, type[SmsConsent] | type[DeliveryReport] | type[ChatJoined]] = {
    "sms_consent": SmsConsent,
    "delivery_report": DeliveryReport,
    "chat_joined": ChatJoined,
}
T = TypeVar("T")
READ_PAGE = 500  # spool entries read at once
# Delivered entries are forgotten in one transaction per batch: few writes of the relay's
# own to queue the webhooks' spool writes behind (SQLite has one writer at a time).
FORGET_BATCH = 200  # entries in a batch at most...
FORGET_EVERY = 1.0  # ...or seconds from a batch's first delivery
# A conversation's case that closes again as soon as it is replaced is a bug, not a race.
REPLACE_ATTEMPTS = 3


def new_case_id(tenant: str, channel: Channel) -> str:
    """A case id for a customer who wrote in; never derived from their address."""
    return f"{tenant}-{channel.value}-{uuid.uuid4().hex[:12]}"


def customer_id(channel: Channel, address: str) -> str:
    """An opaque id for the customer behind a phone number or email, stable across cases."""
    return f"{channel.value}-{address_key(channel, address)[:16]}"


def conversation_key(tenant: str, channel: Channel, address: str) -> str:
    """Entries with the same key are delivered one at a time, in spool order."""
    return f"{tenant}|{channel.value}|{address_key(channel, address)}"


class MessageJob(BaseModel):
    """A customer message for the case of a conversation (or of a reply token)."""

    kind: Literal["message"] = "message"
    tenant: str
    channel: Channel
    address: str = Field(description="the customer's number or email: the conversation's key")
    case: CaseInput = Field(description="opens the case; its case_id is offered to the store")
    message: InboundMessage
    reply_to: str | None = Field(default=None, description="the case a reply token names")

    @property
    def key(self) -> str:
        return conversation_key(self.tenant, self.channel, self.address)


class Conversation(BaseModel):
    tenant: str
    channel: Channel
    address: str


class SignalJob(BaseModel):
    """A signal for a case, named by its id or by the customer's conversation (resolved at
    delivery, so a STOP right after a first text reaches the case that text opened)."""

    kind: Literal["signal"] = "signal"
    case_id: str | None = None
    conversation: Conversation | None = None
    name: Literal["sms_consent", "delivery_report", "chat_joined"]
    payload: dict[str, Any]

    @model_validator(mode="after")
    def _one_target(self) -> "SignalJob":
        if (self.case_id is None) == (self.conversation is None):
            raise ValueError("a signal names its case or its conversation, not both")
        return self

    @property
    def key(self) -> str:
        if self.conversation is not None:
            c = self.conversation
            return conversation_key(c.tenant, c.channel, c.address)
        return f"case|{self.case_id}"


Job = Annotated[MessageJob | SignalJob, Field(discriminator="kind")]
_JOB: TypeAdapter[MessageJob | SignalJob] = TypeAdapter(Job)


class Outcome(StrEnum):
    ACCEPTED = "accepted"  # durably spooled; delivery follows
    DELIVERED = "delivered"
    DUPLICATE = "duplicate"  # the case already had this provider message id
    DROPPED = "dropped"  # a signal for a case that has ended, or not there yet


class CaseUnreachable(Exception):
    """The conversation kept pointing at closed cases."""


@dataclass
class _Pending:
    entry: SpoolEntry
    job: MessageJob | SignalJob | None
    problem: str | None = None  # why the payload cannot be read


def _parse(entry: SpoolEntry) -> tuple[str, _Pending]:
    try:
        job = _JOB.validate_python(entry.payload)
    except ValidationError as exc:
        return f"unreadable|{entry.id}", _Pending(entry, None, f"ValidationError: {exc}")
    return job.key, _Pending(entry, job)


class Relay:
    def __init__(
        self,
        cases: Cases,
        store: ChannelStore,
        spool: Spool,
        *,
        retry_interval: float = 5.0,
        parallel: int = 32,
        window: int = 2_000,
        poll_interval: float | None = None,
        reopen: Reopener | None = None,
    ) -> None:
        """`parallel` deliveries at most at once; `window` entries read into memory at most
        (the rest wait in the spool, read in order as room frees up). With `poll_interval`,
        the spool is also read that often: for a relay in another process than the webhooks
        that write it (`ingress.deliver`), which cannot wake it."""
        self.cases = cases
        self.store = store
        self.reopen = reopen  # a message after the customer's case closed may reopen it
        self.spool = spool
        self.retry_interval = retry_interval
        self.poll_interval = poll_interval
        self.window = window
        self._slots = asyncio.Semaphore(parallel)
        # One thread for the spool: its calls are short and serialised by SQLite anyway, and
        # they never wait behind the store's reads in the default executor.
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="ingress-spool")
        self._queues: dict[str, deque[_Pending]] = {}  # a key here has a running worker
        self._workers: set[asyncio.Task[None]] = set()
        self._held = 0  # entries in memory
        self._high = 0  # the highest spool id read into memory
        self._full = False  # the loader stopped at the window
        self._delivered: list[int] = []  # to forget in the next batch
        self._first_delivered = 0.0  # loop time of the batch's first
        self._wake = asyncio.Event()
        self._up = asyncio.Event()
        self._up.set()
        self._probe: asyncio.Task[None] | None = None
        # The case an attempt reached, for its log line (each worker task has its own copy).
        self._case_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
            "relay_case_id", default=None
        )

    @property
    def held(self) -> int:
        """Entries read into memory and not yet delivered (at most `window`)."""
        return self._held

    async def _in_spool_thread(self, call: Callable[..., T], *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, functools.partial(call, *args))

    async def submit(self, job: MessageJob | SignalJob) -> Outcome:
        """Accept a call: durable when this returns. Raises SpoolUnavailable when the spool
        cannot be written (nothing was accepted)."""
        await self._in_spool_thread(self.spool.put, job.kind, job.model_dump(mode="json"))
        self._wake.set()
        return Outcome.ACCEPTED

    # ----- delivery ------------------------------------------------------------------------
    async def _deliver(self, job: MessageJob | SignalJob) -> Outcome:
        if isinstance(job, SignalJob):
            return await self._signal(job)
        return await self._message(job)

    async def _signal(self, job: SignalJob) -> Outcome:
        payload = SIGNALS[job.name].model_validate(job.payload)
        case_id = job.case_id
        if job.conversation is not None:
            c = job.conversation
            case_id = await asyncio.to_thread(
                self.store.conversation, c.tenant, c.channel, c.address
            )
            if case_id is None:
                log.info("signal dropped: the customer has no case", signal=job.name)
                return Outcome.DROPPED
        assert case_id is not None
        self._case_id.set(case_id)
        try:
            await self.cases.signal(case_id, job.name, payload)
        except CaseClosed:
            log.info("signal dropped: the case has ended", case_id=case_id, signal=job.name)
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
            reopened = await self.reopen(job.case) if self.reopen is not None else None
            if reopened is not None:
                job = job.model_copy(update={"case": reopened})
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
                reopened = await self.reopen(job.case) if self.reopen is not None else None
                if reopened is not None and reopened.case_id == closed.case_id:
                    job = job.model_copy(update={"case": reopened})  # post again: reopen it
                    continue
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
        self._case_id.set(case_id)
        return Outcome.DELIVERED if posted else Outcome.DUPLICATE

    # ----- the background: reading the spool, one worker per busy conversation -----------
    async def run(self) -> None:
        """Deliver what the spool holds (an earlier run's entries first) and whatever is
        accepted from now on, until cancelled."""
        loop = asyncio.get_running_loop()
        try:
            while True:
                self._wake.clear()  # before reading: an entry accepted meanwhile wakes us again
                pause: float | None = self.poll_interval
                failed = False
                try:
                    await self._load()
                    if len(self._delivered) >= FORGET_BATCH or (
                        self._delivered and loop.time() - self._first_delivered >= FORGET_EVERY
                    ):
                        await self._forget_delivered()
                except SpoolUnavailable as exc:
                    log.error("the spool cannot be used", error=str(exc))
                    failed = True
                except Exception:  # a bug must not end deliveries for the life of the process
                    log.exception("spool reading failed")
                    failed = True
                if failed:  # back off, also from a batch that is overdue to be forgotten
                    pause = max(pause or 0.0, self.retry_interval)
                elif self._delivered:  # forget them when the batch is full or old enough
                    due = max(0.0, self._first_delivered + FORGET_EVERY - loop.time())
                    pause = due if pause is None else min(pause, due)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(pause):
                        await self._wake.wait()
        finally:
            await self._stop_workers()

    async def _load(self) -> None:
        """Read entries not yet in memory, in spool order, into their conversations' queues."""
        self._full = False
        while True:
            room = self.window - self._held
            if room <= 0:
                self._full = True
                return
            limit = min(room, READ_PAGE)
            entries = await self._in_spool_thread(self.spool.pending, self._high, limit)
            for entry in entries:
                self._high = entry.id
                key, pending = _parse(entry)
                self._held += 1
                queue = self._queues.get(key)
                if queue is None:
                    queue = self._queues[key] = deque()
                    worker = asyncio.create_task(self._work(key, queue), name="ingress-delivery")
                    self._workers.add(worker)
                    worker.add_done_callback(self._workers.discard)
                queue.append(pending)
            if len(entries) < limit:  # all read; a full page may mean more, or the window
                return

    async def _work(self, key: str, queue: deque[_Pending]) -> None:
        """Deliver one conversation's entries, oldest first, one at a time."""
        try:
            while queue:
                await self._up.wait()
                async with self._slots:
                    done = await self._attempt(queue[0])
                if not done:
                    continue  # an outage: wait for the probe, then try the same entry again
                queue.popleft()
                self._held -= 1
                if self._full or len(self._delivered) in (1, FORGET_BATCH):
                    self._wake.set()  # room to read more, or a batch to forget (or time)
        finally:
            # No await between the queue running dry and this: nothing can be added unseen.
            if self._queues.get(key) is queue and not queue:
                del self._queues[key]

    async def _attempt(self, pending: _Pending) -> bool:
        """Deliver one entry (or set it aside); False when an outage stopped it."""
        entry = pending.entry
        self._case_id.set(None)
        try:
            if pending.job is None:
                raise ValueError(pending.problem)
            outcome = await self._deliver(pending.job)
        except (TemporalUnavailable, StoreUnavailable) as exc:
            self._down(str(exc))
            with contextlib.suppress(SpoolUnavailable):
                await self._in_spool_thread(self.spool.attempted, entry.id, str(exc))
            return False
        except Exception as exc:  # unreadable, CaseUnreachable, a bug: never deliverable
            log.error("spool entry set aside", entry=entry.id, error=type(exc).__name__)
            try:
                await self._in_spool_thread(
                    self.spool.set_aside, entry.id, f"{type(exc).__name__}: {exc}"
                )
            except SpoolUnavailable as spool_error:
                # Kept at the head of its conversation, to be set aside on the next try.
                self._down(f"the spool cannot be written: {spool_error}")
                return False
            return True
        if not self._delivered:
            self._first_delivered = asyncio.get_running_loop().time()
        self._delivered.append(entry.id)
        log.info(
            "delivered to its case",
            kind=entry.kind,
            case_id=self._case_id.get(),
            outcome=outcome.value,
            queued_ms=round((datetime.now(UTC) - entry.created_at).total_seconds() * 1000, 1),
            attempts=entry.attempts,
        )
        return True

    def _down(self, why: str) -> None:
        if not self._up.is_set():
            return
        self._up.clear()
        log.warning("deliveries paused: retrying", why=why, every_seconds=self.retry_interval)
        self._probe = asyncio.create_task(self._wait_for_recovery(), name="ingress-probe")

    async def _wait_for_recovery(self) -> None:
        while True:
            await asyncio.sleep(self.retry_interval)
            try:
                await self.cases.ping()
                await asyncio.to_thread(self.store.case_for_token, "probe")
            except Exception as exc:
                log.info("still unavailable", why=f"{type(exc).__name__}: {exc}"[:200])
                continue
            log.info("deliveries resumed", waiting=self._held)
            self._up.set()
            return

    async def _forget_delivered(self) -> None:
        done, self._delivered = self._delivered, []
        if not done:
            return
        try:
            await self._in_spool_thread(self.spool.delivered, done)
        except SpoolUnavailable:
            self._delivered = done + self._delivered  # try again next round
            raise

    async def _stop_workers(self) -> None:
        tasks = [*self._workers, *([self._probe] if self._probe else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._forget_delivered()

    # ----- waiting for it (tests, a graceful stop) -----------------------------------------
    def busy(self) -> bool:
        """Something is waiting that could be delivered now (not paused by an outage)."""
        if not self._up.is_set():
            return False
        return bool(self._queues) or self._wake.is_set()

    async def settle(self, timeout: float = 10.0) -> None:
        """Return once everything accepted so far is delivered (or set aside) and forgotten,
        or deliveries are paused by an outage."""
        async with asyncio.timeout(timeout):
            while True:
                await asyncio.sleep(0)
                if not self.busy():
                    await self._forget_delivered()
                    if not self._up.is_set() or not await self._in_spool_thread(self.spool.depth):
                        return
                    self._wake.set()
                await asyncio.sleep(0.005)
