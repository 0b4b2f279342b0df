"""Handing a case's SLA alert to its team's digest (`workflows.digest`)."""

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client

from domain.digest import DigestStart, digest_id
from domain.effects import Notify
from domain.tenant import TenantConfig

DEFAULT_WINDOW = timedelta(minutes=10)


@dataclass
class DigestActivities:
    client: Client
    task_queue: str
    tenants: dict[str, TenantConfig]

    @activity.defn(name="post_to_digest")
    async def post_to_digest(self, notice: Notify) -> None:
        """Signal the team's digest with the alert, starting it if no spell is running.

        A retry signals again; the digest keeps each alert key once."""
        tenant = self.tenants.get(notice.tenant)
        window = tenant.notifications.digest_window if tenant else DEFAULT_WINDOW
        start = DigestStart(
            tenant=notice.tenant, team=notice.team or "none", level=notice.level, window=window
        )
        await self.client.start_workflow(
            "BreachDigestWorkflow",
            start,
            id=digest_id(notice),
            task_queue=self.task_queue,
            start_signal="alert",
            start_signal_args=[notice],
            static_summary=f"SLA alerts for {start.team} ({notice.level.label}), {notice.tenant}",
        )
