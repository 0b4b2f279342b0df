"""End to end: the audit tools against the real dev server's histories and the store the
worker wrote: verify (and a stored text altered on purpose), replay, and db rebuild."""

import json
import sqlite3

import pytest

from records.store import sqlite_url
from tests.e2e.conftest import DevSystem
from tests.e2e.test_cli import show, wait_for

pytestmark = pytest.mark.e2e


def a_finished_case(dev: DevSystem, case_id: str) -> None:
    """A harbour-retail case (the other end-to-end tests list northwind's cases) from opening
    to close: texts, an escalation, a resolution."""
    dev.cli(
        "case", "open", "--case-id", case_id, "--tenant", "harbour-retail",
        "--customer-id", f"c-{case_id}", "--phone", "+12025550128", "--message", "My bill doubled",
    )  # fmt: skip
    for n, text in enumerate(["I was charged twice", "Please call me back"], start=2):
        said = {"channel": "sms", "text": text, "provider_message_id": f"{case_id}-M{n}"}
        dev.cli("case", "signal", case_id, "customer_message", json.dumps(said), "--wait")
    escalate = {"actor": "sam", "kind": "hierarchical", "reason": "wants a manager"}
    dev.cli("case", "signal", case_id, "escalate", json.dumps(escalate), "--wait")
    dev.cli(
        "case",
        "signal",
        case_id,
        "resolve",
        json.dumps({"actor": "sam", "resolution": "refund"}),
        "--wait",
    )
    dev.cli("case", "signal", case_id, "close", json.dumps({"actor": "sam"}))
    wait_for(lambda: show(dev, case_id)["status"], lambda s: s == "closed")
    wait_for(lambda: dev.cli("audit", "timeline", case_id).stdout, lambda t: "closed  by sam" in t)


def test_verify_replay_and_rebuild_against_real_histories(dev_system: DevSystem, tmp_path):
    dev = dev_system
    a_finished_case(dev, "e2e-audit")
    timeline = dev.cli("audit", "timeline", "e2e-audit").stdout
    assert "message  customer/" in timeline and "I was charged twice" not in timeline
    assert "escalated  by sam — wants a manager" in timeline

    ok = dev.cli("audit", "verify", "e2e-audit")
    assert "1 case(s) verified" in ok.stdout

    # Someone edits a stored message: verify names the case and the sequence number.
    db = sqlite3.connect(dev.workdir / ".data" / "records.sqlite3")
    db.execute(
        "UPDATE case_messages SET text = 'I was never charged' WHERE case_id = 'e2e-audit' AND seq = 2"
    )
    db.commit()
    db.close()
    bad = dev.cli("audit", "verify", "e2e-audit", check=False)
    assert bad.returncode == 1
    assert "case e2e-audit message 2: text differs from the history" in bad.stdout

    replayed = dev.cli("audit", "replay", "e2e-audit")
    assert "histories replay on this code" in replayed.stdout
    everything = dev.cli("audit", "replay", "--all")
    assert "histories replay on this code" in everything.stdout, everything.stdout

    # A fresh store rebuilt from the histories holds the case as the worker wrote it (the
    # original text, not the edit): verify passes against it.
    fresh = {"ESCALATE_DATABASE_URL": sqlite_url(tmp_path / "rebuilt.sqlite3")}
    dev.cli("db", "upgrade", env=fresh)
    rebuilt = dev.cli("db", "rebuild", env=fresh)
    assert "rebuilt" in rebuilt.stdout and "journal batches" in rebuilt.stdout
    assert dev.cli("audit", "verify", "e2e-audit", env=fresh).returncode == 0
    before = json.loads(dev.cli("audit", "export", "e2e-audit").stdout)["cases"][0]
    after = json.loads(dev.cli("audit", "export", "e2e-audit", env=fresh).stdout)["cases"][0]
    assert after["events"] == before["events"]
    assert after["messages"][0]["sha256"] == before["messages"][0]["sha256"]
    assert after["messages"][1]["sha256"] != before["messages"][1]["sha256"]  # the edit is gone
    assert after["summary"]["status"] == "closed" and after["summary"]["escalations"] == 1


def test_the_worker_and_the_ingress_serve_prometheus_metrics(dev_system: DevSystem):
    import httpx

    dev = dev_system
    a_finished_case(dev, "e2e-metrics")  # an escalation the journal counts
    ours = wait_for(
        lambda: httpx.get(f"http://127.0.0.1:{dev.metrics_port}/metrics", timeout=5).text,
        lambda t: 'escalate_escalations_total{tenant="harbour-retail",type="hierarchical"}' in t,
    )
    assert "escalate_cases_open" in ours and "escalate_notifications_total" in ours
    sdk = httpx.get(f"http://127.0.0.1:{dev.sdk_metrics_port}/metrics", timeout=5).text
    assert "temporal_workflow_task_execution_latency" in sdk or "temporal_" in sdk, sdk[:500]
    ingress = httpx.get(f"{dev.ingress}/metrics", timeout=5).text
    assert "escalate_cases_open" in ingress
