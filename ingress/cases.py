"""What the ingress needs from cases (four calls), and its adapter over the client API.

The adapter turns "Temporal is not there" (it cannot connect, the call times out, the
server answers UNAVAILABLE or DEADLINE_EXCEEDED) into `TemporalUnavailable`, which the
relay answers by spooling; every other error passes through unchanged.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

import structlog
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.commands import Command, InboundMessage
from domain.models import CaseInput
from domain.views import CaseView
from service.settings import Settings
from starters.client import CaseClient, CaseClosed

__all__ = [
    "CaseClosed",
    "Cases",
    "Refused",
    "TemporalCases",
    "TemporalUnavailable",
    "Verdict",
    "act_once",
    "unavailable",
]

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Twilio gives up on a webhook after 15 s; the client's own RPC retries can take longer.
CALL_DEADLINE = 5.0


class TemporalUnavailable(Exception):
    """Temporal cannot take the call now; it may later."""


class Refused(Exception):
    """The case refused a command (an update's validator or handler said why)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Cases(Protocol):
    async def post_customer_message(self, case: CaseInput | str, message: InboundMessage) -> bool:
        """Deliver a customer message (a CaseInput opens the case if needed); False when the
        message's provider id is already recorded. Raises CaseClosed, TemporalUnavailable."""
        ...

    async def signal(self, case_id: str, name: str, payload: Command) -> None:
        """Send a signal to a running case. Raises CaseClosed, TemporalUnavailable."""
        ...

    async def act(self, case_id: str, command: Command, update_id: str | None = None) -> CaseView:
        """Apply a command as an update and wait for the verdict: the case's new state; the
        same `update_id` again gets the first one's outcome (applied once).
        Raises Refused (nothing changed), CaseClosed, TemporalUnavailable."""
        ...

    async def ping(self) -> None:
        """Return when Temporal answers; raise TemporalUnavailable when it does not."""
        ...


def unavailable(exc: BaseException) -> bool:
    """Whether an error from the Temporal client means "not reachable now"."""
    if isinstance(exc, RPCError):
        return exc.status in (
            RPCStatusCode.UNAVAILABLE,
            RPCStatusCode.DEADLINE_EXCEEDED,
            RPCStatusCode.CANCELLED,
            RPCStatusCode.RESOURCE_EXHAUSTED,  # rate-limited: later is fine
        )
    if isinstance(exc, TimeoutError | ConnectionError | OSError):
        return True
    # Client.connect raises a bare RuntimeError("Failed client connect: ...").
    return isinstance(exc, RuntimeError) and "connect" in str(exc).lower()


class TemporalCases:
    """`Cases` over a CaseClient, connecting lazily: the ingress starts without Temporal."""

    def __init__(
        self,
        settings: Settings,
        *,
        deadline: float = CALL_DEADLINE,
        connect: Callable[[Settings], Awaitable[CaseClient]] = CaseClient.connect,
    ) -> None:
        self._settings = settings
        self._deadline = deadline
        self._connect = connect
        self._client: CaseClient | None = None
        self._connecting = asyncio.Lock()

    async def _case_client(self) -> CaseClient:
        if self._client is not None:
            return self._client
        async with self._connecting:
            if self._client is None:
                self._client = await self._call(self._connect(self._settings))
                log.info("connected to Temporal", address=self._settings.temporal_address)
        return self._client

    async def _call(self, call: Awaitable[T]) -> T:
        try:
            async with asyncio.timeout(self._deadline):  # not wait_for: it can eat a cancel
                return await call
        except CaseClosed:
            raise
        except Exception as exc:
            if unavailable(exc):
                raise TemporalUnavailable(f"{type(exc).__name__}: {exc}") from exc
            raise

    async def post_customer_message(self, case: CaseInput | str, message: InboundMessage) -> bool:
        client = await self._case_client()
        # The client takes an InboundMessage (and claim-checks its long body) although its
        # annotation still names only CustomerMessage.
        return await self._call(client.post_customer_message(case, message))

    async def signal(self, case_id: str, name: str, payload: Command) -> None:
        client = await self._case_client()
        try:
            await self._call(client.signal(case_id, name, payload))
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise CaseClosed(case_id) from exc
            raise

    async def act(self, case_id: str, command: Command, update_id: str | None = None) -> CaseView:
        client = await self._case_client()
        try:
            return await self._call(client.act(case_id, command, update_id))
        except WorkflowUpdateFailedError as exc:
            raise Refused(str(getattr(exc.cause, "message", None) or exc)) from exc
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                raise CaseClosed(case_id) from exc
            raise

    async def ping(self) -> None:
        client = await self._case_client()
        await self._call(client.client.service_client.check_health())


class Verdict:
    """What a command sent from a link or a page came to: a sentence and its HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message


async def act_once(
    cases: Cases,
    case_id: str,
    command: Command,
    update_id: str,
    done: Callable[[CaseView], str],
) -> Verdict:
    """Apply `command` as an update (the same `update_id` again is applied once) and say how
    it went, in words a person reads: done, refused and why, ended, or try again."""
    try:
        view = await cases.act(case_id, command, update_id)
    except Refused as refused:
        return Verdict(409, f"Case {case_id}: {refused.reason}.")
    except CaseClosed:
        return Verdict(410, f"Case {case_id} has ended: there is nothing left to do here.")
    except TemporalUnavailable:
        return Verdict(503, "No answer from the case yet. Try again in a minute: it counts once.")
    return Verdict(200, done(view))
