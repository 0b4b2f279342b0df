"""The complete record of a case, as auditors read and file it, from the case record store.

`record(store, case_id)` pages through every message (bodies resolved), every event and the
case's RCAs; `cases(store, tenant, since)` lists a tenant's cases; `note_reveal` keeps who
had message texts shown.
"""

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from domain.rca import RcaRecord
from domain.record import (
    CaseSnapshot,
    TimelineEvent,
    TimelinePage,
    TranscriptEntry,
    TranscriptPage,
)
from records.schema import audit_reveals, cases
from records.store import CaseStore, read_snapshot, unavailable_as_retryable, write_transaction

PAGE = 500


@dataclass
class FullRecord:
    case_id: str
    summary: CaseSnapshot | None
    messages: list[TranscriptEntry] = field(default_factory=list)
    events: list[TimelineEvent] = field(default_factory=list)
    rcas: list[RcaRecord] = field(default_factory=list)


def record(store: CaseStore, case_id: str) -> FullRecord:
    found = FullRecord(case_id=case_id, summary=store.summary(case_id))
    for page in store.every_page(case_id, limit=PAGE):
        assert isinstance(page, TranscriptPage)
        found.messages += page.entries
    for events in store.every_page(case_id, events=True, limit=PAGE):
        assert isinstance(events, TimelinePage)
        found.events += events.events
    found.rcas = store.rcas(case_id)
    return found


def case_ids(store: CaseStore, tenant: str, since: datetime | None = None) -> list[str]:
    """The tenant's cases (opened since `since`), oldest first."""
    query = select(cases.c.case_id).where(cases.c.tenant == tenant)
    if since is not None:
        query = query.where(cases.c.opened_at >= since)
    with read_snapshot(store.engine) as conn:
        return list(conn.execute(query.order_by(cases.c.opened_at, cases.c.case_id)).scalars())


def note_reveal(store: CaseStore, actor: str, command: str, scope: str, at: datetime) -> None:
    """Record that `actor` had message texts shown by `command` for `scope`."""
    with write_transaction(store.engine) as conn:
        conn.execute(
            audit_reveals.insert().values(
                at=at, actor=actor[:128], command=command, scope=scope[:200]
            )
        )


def reveals(store: CaseStore) -> list[tuple[datetime, str, str, str]]:
    with unavailable_as_retryable(), store.engine.connect() as conn:
        rows = conn.execute(select(audit_reveals).order_by(audit_reveals.c.id)).all()
    return [(r.at, r.actor, r.command, r.scope) for r in rows]
