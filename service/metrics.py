"""Live Prometheus metrics of the engine (prometheus-client), beside the Temporal SDK's own.

The worker serves them on `ESCALATE_METRICS_PORT` (and the SDK's on
`ESCALATE_SDK_METRICS_PORT`); the ingress on its own `/metrics`. Labels carry tenants,
channels and kinds, never a case id or an address (bounded cardinality, no personal data).
"""

from collections.abc import Iterable, Sequence
from typing import Any

import structlog
from prometheus_client import REGISTRY, Counter, Histogram, start_http_server
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from domain.record import TimelineEvent

log = structlog.get_logger(__name__)

ESCALATIONS = Counter(
    "escalate_escalations", "Escalations the cases journalled", ["tenant", "type"]
)
BREACHES = Counter("escalate_sla_breaches", "SLA clocks that breached", ["tenant", "clock"])
NOTIFICATIONS = Counter(
    "escalate_notifications", "Staff notices delivered (new deliveries)", ["tenant", "kind"]
)
NOTIFICATION_FAILURES = Counter(
    "escalate_notification_failures",
    "Staff notices a channel refused for good",
    ["tenant", "channel"],
)
WEBHOOK_SECONDS = Histogram(
    "escalate_webhook_seconds",
    "Time to answer a provider webhook",
    ["route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)


def journalled(tenant: str, events: Sequence[TimelineEvent], new: int) -> None:
    """Count what a journal write added: its last `new` events (a retried batch overlaps an
    earlier one from its start, so the new ones are the last)."""
    for event in events[len(events) - new :] if new else ():
        if event.type == "escalated":
            ESCALATIONS.labels(tenant, str(event.detail.get("escalation_type", "unknown"))).inc()
        elif event.type == "sla_breached":
            BREACHES.labels(tenant, str(event.detail.get("clock", "unknown"))).inc()


class CasesOpen(Collector):
    """`escalate_cases_open{tenant,status}`: the store's cases not closed, read on scrape."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def collect(self) -> Iterable[GaugeMetricFamily]:
        from records.schema import cases

        family = GaugeMetricFamily(
            "escalate_cases_open",
            "Cases not closed, by tenant and status",
            labels=["tenant", "status"],
        )
        query = (
            select(cases.c.tenant, cases.c.status, func.count())
            .where(cases.c.status != "closed")
            .group_by(cases.c.tenant, cases.c.status)
        )
        try:
            with self.store.engine.connect() as conn:
                for tenant, status, count in conn.execute(query):
                    family.add_metric([tenant, status], count)
        except Exception as exc:
            log.warning("cases_open not read", error=str(exc))
        yield family


_CASES: CasesOpen | None = None


def watch_cases(store: Any) -> None:
    """Expose this store's open cases (a process has one store; the latest one counts)."""
    global _CASES
    if _CASES is None:
        _CASES = CasesOpen(store)
        REGISTRY.register(_CASES)
    _CASES.store = store


def serve(host: str, port: int) -> bool:
    """Serve the registry over HTTP; False (and a warning) if the port is taken."""
    try:
        start_http_server(port, addr=host)
    except OSError as exc:
        log.warning("metrics not served", host=host, port=port, error=str(exc))
        return False
    log.info("metrics served", url=f"http://{host}:{port}/metrics")
    return True
