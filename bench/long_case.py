"""Long case: one case receiving N messages stays small, fast and complete.

Starts a real Temporal dev server (on 127.0.0.1) and a worker in this process with
the real journal writing to a SQLite case record store. Sends N customer messages
into ONE case through the client API (SMS of ~300 characters, a 50 KB email every
`--email-every`, claim-checked into the store; a provider retry every
`--dup-every`), bounded in concurrency, and measures, in the same run:

- messages per second into the case until it has applied them all, against a bare
  workflow that only counts the same number of signals;
- the carried state (the continue-as-new input) and the largest payload anywhere in
  the case's histories, against Temporal's 512 KB warning;
- the time to read a 100-message transcript page from the store, against asking the
  workflow for its window.

Prints a table and writes JSON to bench/results/.
"""

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.delivery import DeliveryActivities
from activities.journal import JournalActivities
from activities.outbox import Outbox
from activities.tenants import TenantActivities, load_directory
from bench.payloads import PayloadSizes
from bench.report import report
from bench.workflows import BareInbox
from domain.commands import InboundMessage
from domain.models import CaseInput, Channel
from domain.record import TranscriptWindow
from records import migrate
from records.channels import ChannelStore
from records.store import CaseStore, sqlite_url
from service import logs
from starters.client import CaseClient
from starters.dev import server_limit_flags, tool
from workers.sandbox import workflow_runner
from workflows import visibility
from workflows.case import CaseWorkflow

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "bench-long-case"
CONCURRENCY = 32
SMS = "My router keeps dropping the connection every evening around eight. " * 5  # ~340 chars
EMAIL = "Please find the full diagnostic log of the router below.\n" + "log line " * 5_600


def messages(n: int, email_every: int, dup_every: int) -> list[InboundMessage]:
    out = []
    for i in range(n):
        if email_every and i % email_every == email_every - 1:
            out.append(
                InboundMessage(
                    channel=Channel.EMAIL, text=f"{i} {EMAIL}", provider_message_id=f"E{i}"
                )
            )
        else:
            out.append(
                InboundMessage(channel=Channel.SMS, text=f"{i} {SMS}", provider_message_id=f"S{i}")
            )
        if dup_every and i % dup_every == dup_every - 1:
            out.append(out[-1])  # a provider retry of the same message
    return out


async def send_all(items: list[Any], send: Any) -> float:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(item: Any) -> None:
        async with gate:
            await send(item)

    started = time.monotonic()
    await asyncio.gather(*(one(i) for i in items))
    return time.monotonic() - started


async def wait_for(probe: Any, check: Any, timeout: float) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = await probe()
        except WorkflowQueryFailedError as exc:  # the case is still opening
            value = exc
        else:
            if check(value):
                return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"not reached within {timeout}s: {value!r}")
        await asyncio.sleep(0.2)


async def run_bare(client: Client, n: int) -> dict[str, float]:
    handle = await client.start_workflow(BareInbox.run, id=f"bare-inbox-{n}", task_queue=TASK_QUEUE)
    started = time.monotonic()
    payload = {"channel": "sms", "text": SMS}
    await send_all(list(range(n)), lambda _i: handle.signal(BareInbox.message, payload))
    await wait_for(lambda: handle.query(BareInbox.count), lambda c: c >= n, 600)
    seconds = time.monotonic() - started
    await handle.signal(BareInbox.done)
    return {"seconds": seconds, "messages_per_second": n / seconds}


async def history_sizes(client: Client, workflow_id: str) -> dict[str, Any]:
    sizes, runs, events = PayloadSizes(), 0, 0
    async for execution in client.list_workflows(f"WorkflowId = '{workflow_id}'"):
        runs += 1
        handle = client.get_workflow_handle(workflow_id, run_id=execution.run_id)
        async for event in handle.fetch_history_events():
            events += 1
            sizes.add(event)
    return {
        "runs": runs,
        "history_events": events,
        "largest_payload_bytes": sizes.largest,
        "largest_payload_event": sizes.largest_event,
        "largest_carried_state_bytes": max(sizes.continue_as_new_inputs, default=0),
    }


async def run_case(
    cases: CaseClient, store: CaseStore, n: int, args: argparse.Namespace
) -> dict[str, Any]:
    case = CaseInput.model_validate(
        {
            "case_id": f"long-{n}",
            "tenant": "northwind-telecom",
            "customer": {"id": "bench-1", "phone": "+12025550123", "email": "ada@example.com"},
            "channel": "sms",
            "category": "technical",
            "message": "My internet is down again",
        }
    )
    handle = await cases.open_case(case)
    await wait_for(lambda: cases.state(case.case_id), lambda s: s.messages == 1, 60)
    batch = messages(n, args.email_every, args.dup_every)
    started = time.monotonic()
    sent = await send_all(batch, lambda m: cases.post_customer_message(case.case_id, m))
    view = await wait_for(lambda: cases.state(case.case_id), lambda s: s.messages == n + 1, 900)
    applied = time.monotonic() - started
    page = await wait_for(
        lambda: cases.transcript(case.case_id, limit=1), lambda p: p.total == n + 1, 900
    )
    stored = time.monotonic() - started
    # Reading: a 100-message page from the store at random places, vs the workflow's window.
    reads = []
    for _ in range(args.page_reads):
        after = random.randint(0, max(page.total - 100, 0))
        t0 = time.perf_counter()
        got = await asyncio.to_thread(store.transcript, case.case_id, after=after, limit=100)
        reads.append(time.perf_counter() - t0)
        assert len(got.entries) == min(100, page.total - after)
    queries = []
    for _ in range(min(args.page_reads, 50)):
        t0 = time.perf_counter()
        await handle.query("transcript", result_type=TranscriptWindow)
        queries.append(time.perf_counter() - t0)
    sizes = await history_sizes(cases.client, handle.id)
    return {
        "messages_sent": len(batch),
        "distinct_messages": n,
        "send_seconds": sent,
        "applied_seconds": applied,
        "stored_seconds": stored,
        "messages_per_second": n / applied,
        "stored_messages": page.total,
        "escalation_level": int(view.level),
        "page_read_ms_p50": 1000 * statistics.median(reads),
        "page_read_ms_max": 1000 * max(reads),
        "window_query_ms_p50": 1000 * statistics.median(queries),
        **sizes,
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    n = args.messages
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "records.sqlite3")
        migrate.upgrade(url)
        store = CaseStore(url)
        env = await WorkflowEnvironment.start_local(
            data_converter=pydantic_data_converter,
            dev_server_existing_path=tool("temporal"),
            search_attributes=visibility.ALL,
            ip="127.0.0.1",
            dev_server_log_level="error",
            dev_server_extra_args=server_limit_flags(),
        )
        configs = load_directory(ROOT / "config" / "tenants")
        tenants = TenantActivities(configs)
        delivery = DeliveryActivities(
            Outbox(Path(tmp) / "outbox.sqlite3"), ChannelStore(engine=store.engine), configs
        )
        journal = JournalActivities(store)
        async with (
            env,
            Worker(
                env.client,
                task_queue=TASK_QUEUE,
                workflows=[CaseWorkflow, BareInbox],
                activities=[
                    tenants.load_tenant_policy,
                    delivery.notify_escalation,
                    delivery.send_customer_message,
                    journal.journal_case,
                ],
                workflow_runner=workflow_runner(),
            ),
        ):
            bare = await run_bare(env.client, n)
            case = await run_case(CaseClient(env.client, TASK_QUEUE, store), store, n, args)
        store.close()
    return {
        "messages": n,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{__import__('os').cpu_count()} cores",
        "bare_inbox": bare,
        "case": case,
        "ratios": {
            "case_vs_bare_messages_per_second": case["messages_per_second"]
            / bare["messages_per_second"],
            "carried_state_vs_512kb_warning": case["largest_carried_state_bytes"] / (512 * 1024),
            "largest_payload_vs_512kb_warning": case["largest_payload_bytes"] / (512 * 1024),
            "page_read_vs_window_query": case["page_read_ms_p50"] / case["window_query_ms_p50"],
        },
    }


def table(result: dict[str, Any]) -> str:
    bare, case, ratios = result["bare_inbox"], result["case"], result["ratios"]
    kb = 1024
    return "\n".join(
        [
            f"Long case: {result['messages']} messages into one case ({case['messages_sent']} sent "
            f"with provider retries), {result['machine']}",
            f"  messages/s into the case   {case['messages_per_second']:>9.0f}   "
            f"bare inbox {bare['messages_per_second']:.0f}  (ratio {ratios['case_vs_bare_messages_per_second']:.2f})",
            f"  all in the store after     {case['stored_seconds']:>9.1f} s ({case['stored_messages']} messages)",
            f"  largest carried state      {case['largest_carried_state_bytes'] / kb:>9.1f} KB "
            f"({ratios['carried_state_vs_512kb_warning']:.1%} of the 512 KB warning; "
            f"{case['runs']} runs, {case['history_events']} history events)",
            f"  largest payload            {case['largest_payload_bytes'] / kb:>9.1f} KB "
            f"({case['largest_payload_event']})",
            f"  100-message page (store)   {case['page_read_ms_p50']:>9.2f} ms p50, "
            f"{case['page_read_ms_max']:.2f} ms max; window query {case['window_query_ms_p50']:.2f} ms",
        ]
    )


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--email-every", type=int, default=500)
    parser.add_argument("--dup-every", type=int, default=100)
    parser.add_argument("--page-reads", type=int, default=200)
    args = parser.parse_args()
    logs.configure("console", "warning")
    if not 1 <= args.messages <= 50_000:
        parser.error("--messages must be between 1 and 50000")
    result = asyncio.run(main(args))
    report(f"long_case-{args.messages}", result, table(result))


if __name__ == "__main__":
    cli()
