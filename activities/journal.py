"""The journal activity: writes a case's record to the case record store, idempotently.

A batch is keyed by case and sequence number, so a retried write changes nothing.
A store that cannot be reached is a retryable failure: the case keeps running and
its journal tries again until the store is back.
"""

import asyncio
from dataclasses import dataclass

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.record import JournalBatch, JournalResult
from records.store import CaseStore, StoreUnavailable

log = structlog.get_logger(__name__)


@dataclass
class JournalActivities:
    store: CaseStore

    @activity.defn(name="journal_case")
    async def journal_case(self, batch: JournalBatch) -> JournalResult:
        try:
            result = await asyncio.to_thread(self.store.write, batch)
        except StoreUnavailable as exc:
            log.warning("case record store unavailable", case_id=batch.case_id, error=str(exc))
            raise ApplicationError(
                f"case record store unavailable: {exc}", type="StoreUnavailable"
            ) from exc
        log.debug(
            "journalled",
            case_id=batch.case_id,
            messages=result.messages_written,
            events=result.events_written,
            duplicates=len(result.duplicates),
        )
        return result
