"""BreachDigestWorkflow: one per tenant, team and level while SLA alerts come in a burst.

Cases send their non-P1 SLA alerts here (signal-with-start, from the `post_to_digest`
activity) instead of notifying directly. The first alert of a quiet spell goes out at once;
the ones that follow within the window go out as one digest when it ends; a window with
nothing in it ends the workflow (the next alert starts another). The rules are in
`domain/digest.py`; the notices go through the same `notify_escalation` activity as a
case's own.
"""

from collections import deque
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.digest import PENDING_MAX, SEEN_KEPT, DigestStart, gather
    from domain.effects import NoticeResult, Notify
    from workflows.retries import DELIVERY_RETRY

# A long burst continues as new well before its history grows heavy.
EVENTS_PER_RUN = 2_000


@workflow.defn(name="BreachDigestWorkflow")
class BreachDigestWorkflow:
    @workflow.init
    def __init__(self, start: DigestStart) -> None:
        self._pending: list[Notify] = list(start.pending)
        self._seen: deque[str] = deque(start.seen, maxlen=SEEN_KEPT)
        self._sent = start.sent
        self._overflow = start.overflow

    @workflow.signal(
        name="alert",
        description="An SLA alert of a case for this team and level (cases send these).",
    )
    def alert(self, notice: Notify) -> None:
        if notice.key in self._seen:
            return  # the same alert again (a retried activity)
        self._seen.append(notice.key)
        if len(self._pending) >= PENDING_MAX:
            self._overflow += 1  # counted in the window's digest, not kept
            return
        self._pending.append(notice)

    @workflow.query(name="pending", description="The alerts waiting for the window's end")
    def pending(self) -> list[str]:
        return [f"{n.case_id}: {n.kind}" for n in self._pending]

    @workflow.run
    async def run(self, start: DigestStart) -> int:
        if self._sent == 0:  # a quiet spell's first alert goes at once
            await workflow.wait_condition(lambda: bool(self._pending))
            await self._notify(self._pending.pop(0))
        while True:
            await workflow.sleep(start.window, summary="digest window")
            if not self._pending:
                return self._sent  # a quiet window: the spell is over
            batch, self._pending = self._pending, []
            overflow, self._overflow = self._overflow, 0
            key = f"{workflow.info().workflow_id}:{workflow.info().run_id[:8]}:{self._sent}"
            for notice in gather(batch, start.window, key, overflow):
                await self._notify(notice)
            info = workflow.info()
            if (
                info.is_continue_as_new_suggested()
                or info.get_current_history_length() > EVENTS_PER_RUN
            ):
                await workflow.wait_condition(workflow.all_handlers_finished)
                carried = {
                    "pending": self._pending,
                    "seen": list(self._seen),
                    "sent": self._sent,
                    "overflow": self._overflow,
                }
                workflow.continue_as_new(start.model_copy(update=carried))

    async def _notify(self, notice: Notify) -> None:
        self._sent += 1
        try:
            result = await workflow.execute_activity(
                "notify_escalation",
                notice.model_copy(update={"report": True}),
                result_type=NoticeResult,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(hours=2),
                retry_policy=DELIVERY_RETRY,
                summary=f"notify: {notice.kind}",
            )
        except ActivityError as err:
            workflow.logger.warning("digest notice not delivered: %s", err.cause or err)
            return
        for failure in result.failures:
            workflow.logger.warning(
                "digest notice refused on %s for %s: %s",
                failure.channel.value,
                failure.contact,
                failure.reason,
            )
