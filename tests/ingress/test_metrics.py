"""The ingress's /metrics: webhook latency per route and status, and the store's open cases."""

from prometheus_client import REGISTRY

from domain.record import TimelineEvent
from service import metrics
from tests.ingress.conftest import Ingress
from tests.ingress.test_twilio import replies, text
from tests.records.test_store import T0, batch


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_webhook_latency_is_measured_per_route_and_status(ingress: Ingress):
    route = {"route": "/webhooks/twilio/sms", "status": "200"}
    before = sample("escalate_webhook_seconds_count", **route)
    replies(await text(ingress, "Hello"))
    replies(await text(ingress, "Again"))
    assert sample("escalate_webhook_seconds_count", **route) == before + 2
    unsigned = await ingress.http.post("/webhooks/twilio/sms", data={"Body": "x"})
    assert unsigned.status_code == 403
    assert sample("escalate_webhook_seconds_count", route="/webhooks/twilio/sms", status="403") >= 1
    page = await ingress.http.get("/metrics")
    assert page.status_code == 200 and "escalate_webhook_seconds_bucket" in page.text
    assert "+1202" not in page.text  # no address in a label


def test_a_retried_journal_batch_counts_its_escalations_and_breaches_once():
    events = [
        TimelineEvent(seq=1, at=T0, type="opened", actor="system"),
        TimelineEvent(seq=2, at=T0, type="escalated", actor="sam", detail={"escalation_type": "hierarchical"}),
        TimelineEvent(seq=3, at=T0, type="sla_breached", actor="system", detail={"clock": "first_response"}),
    ]  # fmt: skip
    labels = {"tenant": "metrics-test", "type": "hierarchical"}
    before = sample("escalate_escalations_total", **labels)
    metrics.journalled("metrics-test", events, new=3)
    metrics.journalled("metrics-test", events, new=0)  # the same batch again: nothing new
    metrics.journalled("metrics-test", events, new=1)  # an overlapping one: only its last
    assert sample("escalate_escalations_total", **labels) == before + 1
    assert sample("escalate_sla_breaches_total", tenant="metrics-test", clock="first_response") == 2


def test_open_cases_are_read_from_the_store_on_scrape(store_url):
    from records.store import CaseStore

    store = CaseStore(store_url)
    store.write(batch(case_id="m-1", tenant="metrics-tenant", status="open"))
    store.write(batch(case_id="m-2", tenant="metrics-tenant", status="resolved"))
    store.write(batch(case_id="m-3", tenant="metrics-tenant", status="closed"))
    families = {
        tuple(s.labels.values()): s.value
        for family in metrics.CasesOpen(store).collect()
        for s in family.samples
        if s.labels["tenant"] == "metrics-tenant"
    }
    assert families == {("metrics-tenant", "open"): 1, ("metrics-tenant", "resolved"): 1}
    store.close()
