"""A message from a customer whose case has closed: reopen that case, if the tenant says so.

With `after_close.message = "reopen"`, a message arriving within `after_close.within` of the
customer's last case closing reopens it (the same case id, a new workflow run that keeps its
level, team, priority, owner and record); otherwise, or for a tenant that opens new cases,
the message opens a new case.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from domain.models import CaseInput, Priority, Reopening
from domain.tenant import TenantDirectory
from records.store import CaseStore

# Given the case a message would open, the closed case it reopens instead (or None).
Reopener = Callable[[CaseInput], Awaitable[CaseInput | None]]


def reopener(records: CaseStore, tenants: TenantDirectory) -> Reopener:
    async def find(case: CaseInput) -> CaseInput | None:
        tenant = tenants.tenants.get(case.tenant)
        if tenant is None or tenant.after_close.message != "reopen":
            return None
        since = datetime.now(UTC) - tenant.after_close.within
        closed = await asyncio.to_thread(records.last_closed, case.tenant, case.customer.id, since)
        if closed is None or closed.closed_at is None:
            return None
        was = Reopening(
            closed_at=closed.closed_at,
            level=closed.level,
            team=closed.team,
            priority=Priority(closed.priority),
            assignee=closed.assignee,
            escalations=closed.escalations,
            messages=closed.messages,
            events=closed.events,
            first_response_at=closed.first_response_at,
        )
        return case.model_copy(update={"case_id": closed.case_id, "reopens": was})

    return find
