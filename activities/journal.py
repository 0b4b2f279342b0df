"""The journal activity: writes a case's record to the case record store, idempotently.

A batch is keyed by case and sequence number, so a retried write changes nothing.
A store that cannot be reached is a retryable failure: the case keeps running and
its journal tries again until the store is back.
"""

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.rca import RcaRecord
from domain.record import JournalBatch, JournalResult
from records.store import CaseStore, StoreUnavailable
from service import metrics

log = structlog.get_logger(__name__)


@dataclass
class JournalActivities:
    store: CaseStore
    # Writes run on their own threads: a burst of journal batches waiting on SQLite's single
    # write lock must not take every thread of the default pool, which deliveries use. One
    # thread for SQLite (one writer at a time anyway), a few for PostgreSQL.
    _executor: ThreadPoolExecutor = field(init=False)

    def __post_init__(self) -> None:
        writers = 1 if self.store.engine.dialect.name == "sqlite" else 4
        self._executor = ThreadPoolExecutor(writers, thread_name_prefix="journal")

    @activity.defn(name="record_rca")
    async def record_rca(self, found: RcaRecord) -> None:
        """An RCA's row: its owner, due date, status and, once completed, its outcome."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self.store.write_rca, found)
        except StoreUnavailable as exc:
            raise ApplicationError(
                f"case record store unavailable: {exc}", type="StoreUnavailable"
            ) from exc

    @activity.defn(name="journal_case")
    async def journal_case(self, batch: JournalBatch) -> JournalResult:
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(self._executor, self.store.write, batch)
        except StoreUnavailable as exc:
            log.warning("case record store unavailable", case_id=batch.case_id, error=str(exc))
            raise ApplicationError(
                f"case record store unavailable: {exc}", type="StoreUnavailable"
            ) from exc
        tenant = batch.summary.tenant
        metrics.journalled(tenant, batch.events, result.events_written)
        log.debug(
            "journalled",
            case_id=batch.case_id,
            messages=result.messages_written,
            events=result.events_written,
            duplicates=len(result.duplicates),
        )
        return result
