"""End to end: the `escalate` CLI against the real dev server and a real worker process."""

import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import DevSystem

pytestmark = pytest.mark.e2e


def wait_for(probe: Callable[[], Any], check: Callable[[Any], bool], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if check(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not met within {timeout}s; last value: {value!r}")
        time.sleep(0.2)


def show(dev: DevSystem, case_id: str) -> dict[str, Any]:
    return json.loads(dev.cli("case", "show", case_id, "--json").stdout)


def test_a_case_escalates_by_every_route_through_the_cli(dev_system: DevSystem):
    dev = dev_system
    # Time-based on the real server: e2e-quick gives P2 an 8 s first response.
    dev.cli(
        "case",
        "open",
        "--case-id",
        "e2e-sla",
        "--tenant",
        "e2e-quick",
        "--customer-id",
        "c-1",
        "--phone",
        "+12025550123",
        "--priority",
        "P2",
        "--message",
        "Where is my parcel?",
    )
    opened = dev.cli(
        "case",
        "open",
        "--case-id",
        "e2e-cli",
        "--tenant",
        "northwind-telecom",
        "--customer-id",
        "c-2",
        "--phone",
        "+12025550124",
        "--category",
        "billing",
        "--message",
        "Overcharged again. Get me a SUPERVISOR!",
    )
    assert "opened e2e-cli" in opened.stdout

    state = wait_for(lambda: show(dev, "e2e-cli"), lambda s: s["level"] == 2)
    assert state["escalations"][0]["type"] == "client_initiated"
    assert state["team"] == "billing"

    # An update answers at once with the new state...
    acked = json.loads(
        dev.cli("case", "signal", "e2e-cli", "acknowledge", '{"actor": "sam"}', "--wait").stdout
    )
    assert acked["awaiting_ack"] is None and acked["assignee"] == "sam"
    # ...and a rejected one says why, with a non-zero exit.
    refused = dev.cli(
        "case", "signal", "e2e-cli", "acknowledge", '{"actor": "sam"}', "--wait", check=False
    )
    assert (
        refused.returncode != 0 and "no escalation is waiting for acknowledgement" in refused.stderr
    )

    dev.cli(
        "case",
        "signal",
        "e2e-cli",
        "escalate",
        '{"actor": "sam", "kind": "functional", "to_team": "fraud", "reason": "card skimming suspected"}',
    )
    dev.cli("case", "signal", "e2e-cli", "set_priority", '{"actor": "sam", "priority": "P0"}')
    wait_for(lambda: show(dev, "e2e-cli"), lambda s: s["team"] == "fraud" and s["last_rejection"])

    # The timeline is read from the case record store, written by the journal a moment later.
    timeline = wait_for(
        lambda: dev.cli("case", "timeline", "e2e-cli").stdout, lambda t: " rejected " in t
    )
    assert "rejected" in timeline and "set_priority" not in timeline.split("rejected")[0]
    assert "escalation_type=functional" in timeline

    # Visibility and deliveries trail the case's own state by a moment: wait for them.
    listed = wait_for(
        lambda: json.loads(
            dev.cli("case", "list", "--tenant", "northwind-telecom", "--json").stdout
        ),
        lambda cases: [c["team"] for c in cases] == ["fraud"],
    )
    assert [c["case_id"] for c in listed] == ["e2e-cli"]

    outbox = wait_for(
        lambda: dev.cli("outbox", "--case", "e2e-cli").stdout, lambda o: "Fraud desk" in o
    )
    assert "support supervisor now owns case e2e-cli" in outbox  # the customer's acknowledgement
    assert "+12******124" in outbox and "+12025550124" not in outbox

    # The SLA timer fires on the real server at its deadline.
    breached = wait_for(lambda: show(dev, "e2e-sla"), lambda s: s["sla_breached"], timeout=90)
    escalation = breached["escalations"][-1]
    first = next(c for c in breached["clocks"] if c["kind"] == "first_response")
    assert escalation["type"] == "time_based"
    lateness = _seconds(escalation["at"]) - _seconds(first["deadline"])
    assert 0 <= lateness < 10, f"breach recorded {lateness:.1f}s after the deadline"
    listed_breached = wait_for(
        lambda: json.loads(dev.cli("case", "list", "--breached", "--json").stdout),
        lambda cases: bool(cases),
    )
    assert [c["case_id"] for c in listed_breached] == ["e2e-sla"]


def _seconds(stamp: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(stamp).timestamp()


def test_bad_input_from_the_cli_is_refused_clearly(dev_system: DevSystem):
    bad_phone = dev_system.cli(
        "case",
        "open",
        "--tenant",
        "northwind-telecom",
        "--customer-id",
        "c",
        "--phone",
        "555-1234",
        "--message",
        "hi",
        check=False,
    )
    assert bad_phone.returncode == 2 and "customer.phone" in bad_phone.stderr
    bad_json = dev_system.cli("case", "signal", "x", "escalate", "{not json", check=False)
    assert bad_json.returncode == 2 and "payload is not JSON" in bad_json.stderr
    missing = dev_system.cli("case", "show", "no-such-case", check=False)
    assert missing.returncode == 2 and "not found" in missing.stderr


def test_ctrl_c_stops_everything_and_the_next_start_finds_the_cases(dev_system: DevSystem):
    dev = dev_system
    dev.cli(
        "case",
        "open",
        "--case-id",
        "e2e-restart",
        "--tenant",
        "harbour-retail",
        "--customer-id",
        "c-3",
        "--email",
        "kim@example.com",
        "--channel",
        "email",
        "--message",
        "Order 1182 arrived damaged",
    )
    wait_for(lambda: show(dev, "e2e-restart"), lambda s: s["messages"] == 1)
    assert dev.proc is not None
    children = subprocess.run(["pgrep", "-P", str(dev.proc.pid)], capture_output=True, text=True)
    child_pids = [int(p) for p in children.stdout.split()]
    assert len(child_pids) == 3  # the Temporal dev server, the worker and the ingress
    assert dev.stop() == 0
    assert "Stopped." in "".join(dev.output)
    down = dev.cli("case", "show", "e2e-restart", check=False)
    assert down.returncode != 0
    from starters.dev import port_free

    assert port_free("127.0.0.1", dev.grpc_port) and port_free("127.0.0.1", dev.ui_port)
    for pid in child_pids:  # every child is gone, not orphaned
        assert (
            not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text()
        )

    dev.start()
    after = show(dev, "e2e-restart")
    assert after["status"] == "open" and after["team"] == "customer-care"
    # still live: it takes new signals after the restart
    dev.cli(
        "case",
        "signal",
        "e2e-restart",
        "escalate",
        '{"actor": "kim", "kind": "functional", "to_team": "orders", "reason": "damaged in transit"}',
    )
    wait_for(lambda: show(dev, "e2e-restart"), lambda s: s["team"] == "orders")


def test_demo_seeds_cases_that_escalate_by_different_routes(dev_system: DevSystem):
    seeded = dev_system.cli("demo").stdout
    ids = seeded.split(": ", 1)[1].strip().split(", ")
    assert len(ids) == 5
    views = {
        i: wait_for(lambda i=i: show(dev_system, i), lambda s: s["messages"] >= 1) for i in ids
    }
    routes = {i: [e["type"] for e in v["escalations"]] for i, v in views.items()}
    assert routes[ids[0]] == ["client_initiated"]  # "I want a supervisor"
    assert routes[ids[1]] == ["priority_based"] and views[ids[1]]["level"] == 3  # P1 outage
    assert routes[ids[2]] == ["priority_based"] and views[ids[2]]["level"] == 2  # VIP
    assert views[ids[3]]["tenant"] == "demo-express"  # breaches its one-minute SLA next
    assert views[ids[4]]["team"] == "payments"  # functional routing at open


def test_a_resolved_escalated_case_gets_an_rca_completed_from_the_cli(dev_system: DevSystem):
    dev = dev_system
    dev.cli(
        "case", "open", "--case-id", "e2e-rca", "--tenant", "northwind-telecom",
        "--customer-id", "c-rca", "--phone", "+12025550125", "--message", "Billed twice",
    )  # fmt: skip
    escalate = {"actor": "sam", "kind": "hierarchical", "reason": "wants a manager"}
    dev.cli("case", "signal", "e2e-rca", "escalate", json.dumps(escalate), "--wait")
    resolve = {"actor": "sam", "resolution": "refunded"}
    dev.cli("case", "signal", "e2e-rca", "resolve", json.dumps(resolve), "--wait")
    listed = wait_for(
        lambda: dev.cli("rca", "list", "e2e-rca").stdout, lambda out: "rca-e2e-rca-1" in out
    )
    assert "open" in listed and "(escalated)" in listed and "Shift supervisor" in listed
    refused = dev.cli(
        "rca", "complete", "rca-e2e-rca-1", "--actor", "sam", "--cause", "bad luck",
        "--action", "none", "--owner", "sam", check=False,
    )  # fmt: skip
    assert refused.returncode != 0 and "unknown cause category 'bad luck'" in refused.stderr
    done = dev.cli(
        "rca", "complete", "rca-e2e-rca-1", "--actor", "sam", "--cause", "training",
        "--action", "billing refresher for tier 1", "--owner", "dana",
    )  # fmt: skip
    assert json.loads(done.stdout)["status"] == "done"
    final = wait_for(
        lambda: dev.cli("rca", "list", "e2e-rca").stdout, lambda out: "cause training" in out
    )
    assert "billing refresher for tier 1 (action owner dana; done by sam" in final
    timeline = dev.cli("case", "timeline", "e2e-rca").stdout
    assert "rca_opened" in timeline and "rca-e2e-rca-1" in timeline


def test_staff_acknowledge_from_the_notice_by_its_link_or_by_text(dev_system: DevSystem):
    """The worker signs the link and picks the code; the ingress checks them: one system."""
    import re

    import httpx

    dev = dev_system
    dev.cli(
        "case", "open", "--case-id", "e2e-ack", "--tenant", "demo-express",
        "--customer-id", "c-ack", "--phone", "+12025550126", "--message", "Where is my parcel?",
    )  # fmt: skip
    escalate = {"actor": "sam", "kind": "hierarchical", "reason": "parcel lost twice"}
    dev.cli("case", "signal", "e2e-ack", "escalate", json.dumps(escalate), "--wait")
    outbox = wait_for(lambda: dev.cli("outbox", "--case", "e2e-ack").stdout, lambda o: "/ack/" in o)
    found = re.search(r"(http://127\.0\.0\.1:\d+/ack/[A-Za-z0-9_.-]+)", outbox)
    assert found is not None, outbox
    url = found.group(1)
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and "Acknowledge case e2e-ack" in page.text
    assert show(dev, "e2e-ack")["awaiting_ack"] is not None  # opening the link changes nothing
    done = httpx.post(url, timeout=10)
    assert done.status_code == 200 and "its owner is Supervisors" in done.text, done.text
    view = show(dev, "e2e-ack")
    assert view["awaiting_ack"] is None and view["assignee"] == "Supervisors"

    # Northwind's on-call supervisor is texted a code, and texts it back.
    dev.cli(
        "case", "open", "--case-id", "e2e-ack-sms", "--tenant", "northwind-telecom",
        "--customer-id", "c-ack-2", "--phone", "+12025550127", "--message", "Overcharged",
    )  # fmt: skip
    dev.cli("case", "signal", "e2e-ack-sms", "escalate", json.dumps(escalate), "--wait")
    texts = wait_for(
        lambda: dev.cli("outbox", "--case", "e2e-ack-sms").stdout, lambda o: "Reply ACK" in o
    )
    code = re.search(r"Reply ACK (\d{4})", texts)
    assert code is not None, texts
    answer = dev.cli(
        "simulate", "sms", "--from", "+12025550143", "--to", "+12125550100", f"ACK {code.group(1)}"
    )  # fmt: skip
    assert "is acknowledged at L2" in answer.stdout, answer.stdout
    view = show(dev, "e2e-ack-sms")
    assert view["awaiting_ack"] is None and view["assignee"] == "Supervisor on call"
