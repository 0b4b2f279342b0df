"""The baseline: a bare workflow that only sleeps until a deadline and notes how late it woke.

It stays open after waking (like a case after its breach) so the measurement is the timer,
not the cost of closing thousands of workflows at once.
"""

from datetime import datetime
from typing import Any

from temporalio import workflow


@workflow.defn(name="BareTimer")
class BareTimer:
    def __init__(self) -> None:
        self._lateness: float | None = None
        self._done = False

    @workflow.run
    async def run(self, deadline: datetime) -> float | None:
        delay = (deadline - workflow.now()).total_seconds()
        if delay > 0:
            await workflow.sleep(delay)
        self._lateness = (workflow.now() - deadline).total_seconds()
        await workflow.wait_condition(lambda: self._done)
        return self._lateness

    @workflow.query
    def lateness(self) -> float | None:
        return self._lateness

    @workflow.signal
    def done(self) -> None:
        self._done = True


@workflow.defn(name="BareInbox")
class BareInbox:
    """The baseline for messages into one case: a workflow that only counts its signals."""

    def __init__(self) -> None:
        self._count = 0
        self._done = False

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self._done)
        return self._count

    @workflow.signal
    def message(self, _payload: dict[str, str]) -> None:
        self._count += 1

    @workflow.query
    def count(self) -> int:
        return self._count

    @workflow.signal
    def done(self) -> None:
        self._done = True


@workflow.defn(name="BareCase")
class BareCase:
    """The baseline for webhooks: a workflow opened or reached by signal-with-start, as a case
    is by the ingress, that only counts its customer messages."""

    def __init__(self) -> None:
        self._count = 0
        self._done = False

    @workflow.run
    async def run(self, _case: dict[str, Any]) -> int:
        await workflow.wait_condition(lambda: self._done)
        return self._count

    @workflow.signal
    def customer_message(self, _payload: dict[str, Any]) -> None:
        self._count += 1

    @workflow.query
    def count(self) -> int:
        return self._count

    @workflow.signal
    def done(self) -> None:
        self._done = True
