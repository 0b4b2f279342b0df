"""SLA breach lateness: how long after its deadline does a case record its breach escalation?

Opens N cases on a real Temporal dev server (started here, on 127.0.0.1) whose
first-response deadlines fall in a short real-time window, with a real worker in
this process and the real SQLite outbox and case record store. Reports p50/p99/max of
(breach escalation recorded - deadline) and (staff notified - deadline), and case
throughput against a bare workflow that only sleeps until the same kind of deadline,
measured in the same run, with the CPU time this process (the worker and the load) and the
dev server spent on each phase (a cost per case that does not swing with the tail). Prints a
table and writes JSON to bench/results/.
"""

import argparse
import asyncio
import os
import statistics
import tempfile
import time
import tomllib
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.delivery import DeliveryActivities
from activities.journal import JournalActivities
from activities.outbox import Outbox
from activities.tenants import TenantActivities
from bench.report import report
from bench.workflows import BareTimer
from domain.models import CaseInput
from domain.tenant import TenantConfig
from domain.views import CaseView
from records import migrate
from records.channels import ChannelStore
from records.store import CaseStore, sqlite_url
from service import logs
from starters.client import CaseClient
from starters.dev import server_limit_flags, tool
from workers.sandbox import precompile_workflows, workflow_runner
from workflows import visibility
from workflows.case import CaseWorkflow

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "bench-escalations"
CONCURRENCY = 50  # bounded: the dev server caps concurrent long polls per namespace


def bench_tenant(target: timedelta) -> TenantConfig:
    raw = tomllib.loads((ROOT / "config" / "tenants" / "demo-express.toml").read_text())
    raw["id"] = "bench"
    raw["sla"]["targets"]["P3"]["first_response"] = f"{int(target.total_seconds())}s"
    for level in raw["escalation"]["levels"].values():
        level["ack_timeout"] = "1h"  # keep the ladder out of the measurement window
    return TenantConfig.model_validate(raw)


def percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    if not ordered:
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"p50": statistics.median(ordered), "p99": p99, "max": ordered[-1]}


def _cpu(stat: str) -> float:
    """User + system CPU seconds from a /proc/<pid>/stat line."""
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> dict[str, float]:
    """CPU time (user + system) so far of this process and of the dev server it started."""
    me = os.getpid()
    server = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            parent = int(stat.rpartition(")")[2].split()[1])
            if name == "temporal" and parent == me:
                server += _cpu(stat)
        except (OSError, ValueError):
            continue  # a process that ended while we looked
    return {"worker": _cpu(Path(f"/proc/{me}/stat").read_text()), "server": server}


def cpu_per_case(before: dict[str, float], after: dict[str, float], n: int) -> dict[str, float]:
    return {f"{k}_ms": 1000 * (after[k] - before[k]) / n for k in before}


async def bounded(items: list[Any], fn: Any, limit: int = CONCURRENCY) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(item: Any) -> Any:
        async with gate:
            return await fn(item)

    return await asyncio.gather(*(one(i) for i in items))


async def _ask(query: Any) -> Any:
    """A query, or None if the loaded server timed it out (it is asked again)."""
    try:
        return await query
    except (RPCError, WorkflowQueryFailedError):
        return None


async def run_bare(client: Client, n: int, target: timedelta) -> dict[str, Any]:
    started = time.monotonic()

    async def start(i: int) -> Any:
        deadline = datetime.now(UTC) + target
        return await client.start_workflow(
            BareTimer.run, deadline, id=f"bare-{uuid.uuid4().hex}", task_queue=TASK_QUEUE
        )

    handles = await bounded(list(range(n)), start)
    start_seconds = time.monotonic() - started
    # Query once the last deadline has passed; re-ask the few that had not woken yet.
    await asyncio.sleep(max(0.0, target.total_seconds() - (time.monotonic() - started)) + 2)
    lateness: list[float | None] = [None] * n
    give_up = time.monotonic() + 300
    while any(v is None for v in lateness) and time.monotonic() < give_up:
        pending = [i for i, v in enumerate(lateness) if v is None]
        found = await bounded(pending, lambda i: _ask(handles[i].query(BareTimer.lateness)))
        for i, value in zip(pending, found, strict=True):
            lateness[i] = value
        await asyncio.sleep(1)
    return {
        "start_seconds": start_seconds,
        "starts_per_second": n / start_seconds,
        "total_seconds": time.monotonic() - started,
        "not_woken": sum(v is None for v in lateness),
        "lateness_s": percentiles([v for v in lateness if v is not None]),
    }


async def run_cases(cases: CaseClient, outbox: Outbox, n: int, target: timedelta) -> dict[str, Any]:
    started = time.monotonic()
    ids = [f"bench-{uuid.uuid4().hex[:12]}" for _ in range(n)]

    async def open_one(case_id: str) -> None:
        await cases.open_case(
            CaseInput(
                case_id=case_id,
                tenant="bench",
                channel="chat",
                priority="P3",
                customer={"id": f"cust-{case_id}"},
                message="My parcel has not arrived",
            )
        )

    await bounded(ids, open_one)
    start_seconds = time.monotonic() - started

    # Wait on visibility (one count a second), not by polling every case.
    query = f"{visibility.TENANT.name} = 'bench' AND {visibility.SLA_BREACHED.name} = true"
    give_up = time.monotonic() + target.total_seconds() + start_seconds + 300
    while time.monotonic() < give_up:
        count = await cases.client.count_workflows(query)
        if count.count >= n:
            break
        await asyncio.sleep(1)

    views: list[CaseView | None] = [None] * n
    give_up = time.monotonic() + 300
    while any(v is None for v in views) and time.monotonic() < give_up:
        pending = [i for i, v in enumerate(views) if v is None]
        found = await bounded(pending, lambda i: _ask(cases.state(ids[i])))
        for i, view in zip(pending, found, strict=True):
            views[i] = view
    total = time.monotonic() - started
    recorded, notified, missing = [], [], 0
    notices = {e.case_id: e for e in outbox.list(limit=10 * n) if e.kind == "escalation"}
    for view in views:
        if view is None:
            missing += 1
            continue
        clock = next(c for c in view.clocks if c.kind == "first_response")
        if not view.sla_breached or clock.deadline is None:
            missing += 1
            continue
        escalation = next(e for e in view.escalations if e.type == "time_based")
        recorded.append((escalation.at - clock.deadline).total_seconds())
        if view.case_id in notices:
            notified.append((notices[view.case_id].at - clock.deadline).total_seconds())
    return {
        "start_seconds": start_seconds,
        "starts_per_second": n / start_seconds,
        "total_seconds": total,
        "not_breached": missing,
        "recorded_lateness_s": percentiles(recorded),
        "notified_lateness_s": percentiles(notified),
    }


async def main(n: int, target_seconds: int, order: str = "bare-first") -> dict[str, Any]:
    target = timedelta(seconds=target_seconds)
    precompile_workflows()  # as the worker does: the sandbox imports the workflow per case
    with tempfile.TemporaryDirectory() as tmp:
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=tool("temporal"),
            search_attributes=visibility.ALL,
            ip="127.0.0.1",
            dev_server_log_level="error",
            dev_server_extra_args=server_limit_flags(),
        )
        outbox = Outbox(Path(tmp) / "outbox.sqlite3")
        records_url = sqlite_url(Path(tmp) / "records.sqlite3")
        migrate.upgrade(records_url)
        store = CaseStore(records_url)
        journal = JournalActivities(store)
        configs = {"bench": bench_tenant(target)}
        delivery = DeliveryActivities(outbox, ChannelStore(engine=store.engine), configs)
        tenants = TenantActivities(configs)
        async with (
            env,
            Worker(
                env.client,
                task_queue=TASK_QUEUE,
                workflows=[CaseWorkflow, BareTimer],
                activities=[
                    tenants.load_tenant_policy,
                    delivery.notify_escalation,
                    delivery.send_customer_message,
                    journal.journal_case,
                ],
                workflow_runner=workflow_runner(),
                max_concurrent_workflow_tasks=200,
                # Every case stays open: keep them all cached, as a worker sized for its load would.
                max_cached_workflows=2 * n + 100,
                max_concurrent_activities=200,
            ),
        ):
            client = CaseClient(env.client, TASK_QUEUE)
            phases = ["cases", "bare"] if order == "cases-first" else ["bare", "cases"]
            results: dict[str, dict[str, Any]] = {}
            for phase in phases:
                before = cpu_seconds()
                if phase == "bare":
                    results[phase] = await run_bare(env.client, n, target)
                else:
                    results[phase] = await run_cases(client, outbox, n, target)
                results[phase]["cpu_per_case"] = cpu_per_case(before, cpu_seconds(), n)
            bare, cases = results["bare"], results["cases"]
    return {
        "cases": n,
        "target_seconds": target_seconds,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{__import__('os').cpu_count()} cores",
        "bare_timer": bare,
        "case_workflow": cases,
        "ratios": {
            "case_vs_bare_start_throughput": cases["starts_per_second"] / bare["starts_per_second"],
            "case_vs_bare_p99_lateness": _ratio(
                cases["recorded_lateness_s"]["p99"], bare["lateness_s"]["p99"]
            ),
        },
    }


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def table(result: dict[str, Any]) -> str:
    bare, cases = result["bare_timer"], result["case_workflow"]
    rows = [
        ("", "p50 (s)", "p99 (s)", "max (s)"),
        (
            "bare timer woke late by",
            *(f"{bare['lateness_s'][k]:.3f}" for k in ("p50", "p99", "max")),
        ),
        (
            "case breach recorded late by",
            *(f"{cases['recorded_lateness_s'][k]:.3f}" for k in ("p50", "p99", "max")),
        ),
        (
            "staff notified late by",
            *(f"{cases['notified_lateness_s'][k]:.3f}" for k in ("p50", "p99", "max")),
        ),
    ]
    lines = [
        f"SLA breach lateness: {result['cases']} cases, {result['target_seconds']} s first-response target, {result['machine']}"
    ]
    lines += [f"  {r[0]:<30} {r[1]:>9} {r[2]:>9} {r[3]:>9}" for r in rows]
    lines += [
        f"  starts/s: bare {bare['starts_per_second']:.0f}, cases {cases['starts_per_second']:.0f} "
        f"(ratio {result['ratios']['case_vs_bare_start_throughput']:.2f})",
        f"  cases not breached in time: {cases['not_breached']}",
        "  CPU per case (whole phase, queries included; worker = this process, load too): "
        + ", ".join(
            f"{name} worker {r['cpu_per_case']['worker_ms']:.1f} ms, "
            f"server {r['cpu_per_case']['server_ms']:.1f} ms"
            for name, r in (("bare", bare), ("case", cases))
        ),
    ]
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--target-seconds", type=int, default=30)
    parser.add_argument("--order", choices=["bare-first", "cases-first"], default="bare-first")
    args = parser.parse_args()
    logs.configure("console", "warning")
    if not 1 <= args.cases <= 20_000:
        parser.error("--cases must be between 1 and 20000")
    result = asyncio.run(main(args.cases, args.target_seconds, args.order))
    report(f"sla_lateness-{args.cases}", result, table(result))


if __name__ == "__main__":
    cli()
