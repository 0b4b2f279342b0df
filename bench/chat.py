"""Chat latency: an agent's console reply to the customer's open chat page, against a bare signal.

Starts a real Temporal dev server (on 127.0.0.1) and a migrated SQLite case record store in a
temporary directory, then, each as its own process as `make run` starts them, the real worker
(`escalate worker`) and the real ingress (`escalate ingress`, on a free port of 127.0.0.1,
public URL http so the console's session cookie is not Secure). This process only generates
the load. Then:

- opens `--pages` cases for the demo tenant (demo-express) through the client API, each with
  a text that asks for a chat, so each case offers the web chat by SMS (to the outbox);
- signs the demo agent in to the console (the login form's CSRF cookie and field, then the
  session's CSRF token from a case page);
- measures the ingress's CPU with no chat page open, then opens every case's chat page
  (`/chat/{case}?t=TOKEN`, a real signed link: the case moves to chat) and its Server-Sent
  Events stream (`/chat/{case}/events`), one connection per page, and measures the ingress's
  CPU again while the streams are idle (one `ingress.live.StoreWatch` per ingress reads the
  followed cases' versions every `ingress.live.POLL_SECONDS` and wakes the changed ones);
- sends `--warmup` unmeasured messages, then `--messages` agent messages, open loop at
  `--rate` per second (message i at a random point of [t0 + i/rate, t0 + (i+0.9)/rate],
  whether or not earlier ones have arrived; bounded by `--seconds` too), message i to case
  i mod pages, alternating between:
    A. the console: POST /console/cases/{case}/reply (an `agent_message` update), timed to
       the message's `message` event on that case's customer stream;
    B. the baseline: a plain `agent_message` signal from a Temporal client, timed to the
       message being in the store (read directly every `--store-poll` seconds): signal and
       journal write, without the HTTP, update and SSE layers.
  Every message of either kind is also looked for in the store and on its stream, so each
  has the same three times (answered, in the store, on the stream).

Afterwards every message must have arrived exactly once on its case's stream, in the order
each case was sent its messages, and be in the store exactly once. CPU is read from /proc for
each process and for the whole machine (what else ran shows as "not ours"). Prints a table
and writes JSON to bench/results/chat-<pages>.json (with every message's times). Everything
stays on 127.0.0.1, stops by itself, and stops what it started on exit, Ctrl-C or SIGTERM.
"""

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError

from bench.report import report
from bench.sla_lateness import percentiles
from bench.webhook_ingest import (
    LoopLag,
    Processes,
    child,
    children,
    code_version,
    free_port,
    log_summary,
    start_dev_server,
    system_env,
    wait_for_line,
    wait_ready,
)
from domain.commands import AgentMessage
from domain.models import CaseInput, Channel, Customer
from ingress import live
from ingress.chat_links import ChatLinks
from ingress.relay import customer_id, new_case_id
from records import migrate
from records.store import CaseStore, sqlite_url
from service import logs
from service.settings import Settings
from starters.client import CaseClient
from starters.dev import tool

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "bench-chat"
TENANT = "demo-express"
TENANT_NUMBER = "+13125550100"  # demo-express's SMS number (config/tenants/demo-express.toml)
AGENT, PASSWORD = "demo", "demo-agent-pass"  # its demo console agent
CONSOLE, SIGNAL = "console", "signal"
SETUP_CONCURRENCY = 10  # cases opened, pages loaded at once (the dev server caps long polls)
IN_FLIGHT = 50  # messages in flight at most: a safety cap, never reached at a sane rate
REQUEST_TIMEOUT = 30.0
DRAIN_SECONDS = 30.0  # after the last message is sent, how long the stragglers may take
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


def customer_number(index: int) -> str:
    return f"+1202555{3000 + index:04d}"


# ----- what was sent, and when each part of its way was seen ---------------------------------
@dataclass
class Sent:
    index: int
    case: str
    kind: str  # CONSOLE (A) or SIGNAL (B)
    text: str
    warmup: bool
    due: float = 0.0
    sent: float = 0.0
    answered: float | None = None  # the POST's answer, or the signal call's return
    status: str = ""
    stored: float | None = None
    streamed: float | None = None
    stream_seqs: list[int] = field(default_factory=list)
    channel: str = ""  # the channel the customer's page shows it on


class Stream:
    """One customer's chat page: its SSE stream, read line by line as a browser would."""

    def __init__(self, case: str, url: str) -> None:
        self.case = case
        self.url = url
        self.last_seq = 0
        self.seen: list[tuple[int, str]] = []  # (seq, text) of every message event
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.errors: Counter[str] = Counter()

    async def run(self, http: httpx.AsyncClient, by_text: dict[str, Sent]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            headers = {"Accept": "text/event-stream"}
            if self.last_seq:
                headers["Last-Event-ID"] = str(self.last_seq)  # as EventSource resumes
            try:
                async with http.stream("GET", self.url, headers=headers) as response:
                    if response.status_code != 200:
                        self.errors[f"HTTP {response.status_code}"] += 1
                        await asyncio.sleep(2)
                        continue
                    self.connected.set()
                    async for name, data, event_id in _events(response.aiter_lines()):
                        if name != "message":
                            continue
                        shown = json.loads(data)
                        now = loop.time()
                        seq = int(event_id or shown["seq"])
                        self.last_seq = max(self.last_seq, seq)
                        self.seen.append((seq, shown["text"]))
                        found = by_text.get(shown["text"])
                        if found is not None:
                            found.stream_seqs.append(seq)
                            found.channel = str(shown.get("channel", ""))
                            if found.streamed is None:
                                found.streamed = now
            except httpx.HTTPError as exc:
                self.errors[type(exc).__name__] += 1
            self.reconnects += 1
            await asyncio.sleep(2)  # the stream's `retry: 2000`


async def _events(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, str, str | None]]:
    """(event name, data, id) of each Server-Sent Event, dispatched at its blank line."""
    name, data, event_id = "message", list[str](), None
    async for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data), event_id
            name, data, event_id = "message", list[str](), None
            continue
        if line.startswith(":"):
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
        elif key == "id":
            event_id = value


# ----- the console, as a signed-in agent's browser uses it -------------------------------------
async def sign_in(http: httpx.AsyncClient, base: str, case: str) -> str:
    """Sign the demo agent in; the session's CSRF token, as a case page carries it."""
    form = await http.get(f"{base}/console/login")
    form.raise_for_status()
    match = _CSRF.search(form.text)
    if match is None:
        raise RuntimeError("no csrf field in the console's sign-in form")
    done = await http.post(
        f"{base}/console/login",
        data={"tenant": TENANT, "username": AGENT, "password": PASSWORD, "csrf": match[1]},
    )
    if done.status_code != 303:
        raise RuntimeError(f"console sign-in answered {done.status_code}: {done.text[:300]}")
    page = await http.get(f"{base}/console/cases/{quote(case, safe='')}")
    match = _CSRF.search(page.text) if page.status_code == 200 else None
    if match is None:
        raise RuntimeError(f"the console's case page answered {page.status_code} without a csrf")
    return match[1]


# ----- the run ---------------------------------------------------------------------------------
@dataclass
class System:
    base: str
    store: CaseStore
    cases: CaseClient
    links: ChatLinks
    processes: Processes


async def open_cases(system: System, pages: int) -> list[str]:
    """`pages` demo-express cases opened over SMS with a text that asks for the chat; back
    once the store shows each has offered it."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)
    ids = [new_case_id(TENANT, Channel.SMS) for _ in range(pages)]

    async def one(i: int) -> None:
        phone = customer_number(i)
        case = CaseInput(
            case_id=ids[i],
            tenant=TENANT,
            customer=Customer(id=customer_id(Channel.SMS, phone), phone=phone),
            channel=Channel.SMS,
            message=f"Hi, my parcel {1000 + i} is late, can we chat about it?",
            via=TENANT_NUMBER,
        )
        async with gate:
            await system.cases.open_case(case)

    await asyncio.gather(*(one(i) for i in range(pages)))
    await until_chat_state(system.store, ids, {"waiting", "joined"}, "offer the chat")
    return ids


async def until_chat_state(store: CaseStore, ids: list[str], states: set[str], what: str) -> None:
    deadline = time.monotonic() + 60
    pending = list(ids)
    while pending:
        found = await asyncio.to_thread(_chat_states, store, pending)
        pending = [c for c, state in zip(pending, found, strict=True) if state not in states]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} cases did not {what} within 60 s")
        await asyncio.sleep(0.2)


async def until_joined(cases: CaseClient, ids: list[str]) -> None:
    """Until every case says (its `state` query) that the customer opened the chat, so the
    replies go on chat; the store's summary catching up is measured apart (StoreChatState)."""
    gate = asyncio.Semaphore(SETUP_CONCURRENCY)

    async def joined(case: str) -> bool:
        async with gate:
            with contextlib.suppress(RPCError, WorkflowQueryFailedError):
                view = await cases.state(case)
                return view.chat is not None and view.chat.joined_at is not None
        return False

    deadline = time.monotonic() + 60
    pending = list(ids)
    while pending:
        found = await asyncio.gather(*(joined(c) for c in pending))
        pending = [c for c, ok in zip(pending, found, strict=True) if not ok]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{len(pending)} cases did not join the chat within 60 s")
        await asyncio.sleep(0.2)


class StoreChatState:
    """When each case's store summary first says "joined", read every few seconds (what the
    console's list of cases shows), from the moment its chat page was loaded."""

    EVERY = 2.0

    def __init__(self, store: CaseStore) -> None:
        self.store = store
        self.loaded: dict[str, float] = {}
        self.joined: dict[str, float] = {}

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.EVERY)
            pending = [c for c in self.loaded if c not in self.joined]
            if not pending:
                continue
            found = await asyncio.to_thread(_chat_states, self.store, pending)
            now = loop.time()
            for case, state in zip(pending, found, strict=True):
                if state == "joined":
                    self.joined[case] = now

    def summary(self) -> dict[str, Any]:
        return {
            "pages_loaded": len(self.loaded),
            "joined_in_store": len(self.joined),
            "seconds_from_page_load_to_store_joined": percentiles(
                [self.joined[c] - self.loaded[c] for c in self.joined]
            ),
            "read_every_s": self.EVERY,
        }


def _chat_states(store: CaseStore, cases: list[str]) -> list[str | None]:
    return [s.chat_state if (s := store.summary(c)) else None for c in cases]


MACHINE, OTHERS = "whole machine", "not ours"


def cpu_sample(processes: Processes) -> dict[str, float]:
    """CPU seconds used so far by each of our processes and by the whole machine (/proc/stat:
    all but idle and iowait), so that what else ran on the box shows."""
    found = processes.sample()
    fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    jiffies = [int(f) for f in fields[:8]]  # user nice system idle iowait irq softirq steal
    found[MACHINE] = (sum(jiffies) - jiffies[3] - jiffies[4]) / os.sysconf("SC_CLK_TCK")
    return found


def cpu_pct(before: dict[str, float], after: dict[str, float], wall: float) -> dict[str, float]:
    """Each one's CPU between two samples, in % of one core; OTHERS: the machine's besides ours."""
    pct = {k: 100 * (after[k] - before[k]) / wall for k in after if k in before}
    pct[OTHERS] = pct[MACHINE] - sum(v for k, v in pct.items() if k != MACHINE)
    return {k: round(v, 1) for k, v in pct.items()}


async def idle_cpu(processes: Processes, seconds: float) -> dict[str, float]:
    """CPU in % of one core over `seconds` of nothing sent."""
    before, started = cpu_sample(processes), time.monotonic()
    await asyncio.sleep(seconds)
    return cpu_pct(before, cpu_sample(processes), time.monotonic() - started)


def plan(count: int, warmup: int, case_ids: list[str], seed_tag: str) -> list[Sent]:
    """Message i goes to case i mod pages (so a case's messages are far apart), in round
    i // pages; it is A or B by the parity of case + round: A and B alternate, and each case
    gets both kinds in turn (a case's place in its stream's poll cycle is the same for both)."""
    pages = len(case_ids)
    items = []
    for i in range(warmup + count):
        kind = CONSOLE if (i % pages + i // pages) % 2 == 0 else SIGNAL
        text = f"Agent reply {i} ({kind}, {seed_tag}): your parcel is on its way."
        items.append(Sent(i, case_ids[i % pages], kind, text, i < warmup))
    return items


async def send_all(
    items: list[Sent],
    rate: float,
    seconds: float,
    send: Callable[[Sent], Awaitable[str]],
    store: CaseStore,
    poll: float,
    floor: Callable[[str], int],
) -> float:
    """Open loop: item i is sent at t0 + i/rate (at most IN_FLIGHT at once), until all are
    sent or `seconds` have passed; from the moment each is sent, the store is read every
    `poll` seconds until it holds it (only the case's entries after `floor(case)`, the last
    seq its stream had). Returns the sending window's length."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(IN_FLIGHT)

    async def in_store(item: Sent, after: int) -> None:
        deadline = item.sent + REQUEST_TIMEOUT
        while loop.time() < deadline:
            page = await asyncio.to_thread(store.transcript, item.case, after=after, limit=200)
            if any(e.text == item.text for e in page.entries):
                item.stored = loop.time()
                return
            await asyncio.sleep(poll)

    async def one(item: Sent) -> None:
        async with gate:
            after = floor(item.case)
            item.sent = loop.time()
            polling = loop.create_task(in_store(item, after))
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    item.status = await send(item)
            except Exception as exc:
                item.status = type(exc).__name__
            item.answered = loop.time()
            await polling

    t0 = loop.time() + 0.05
    tasks = []
    jitter = random.Random(7)
    for item in items:
        # Somewhere in its 1/rate slot: a case's messages are 1/rate * pages apart, a multiple
        # of the streams' poll period at round rates, so an exact grid would land each case's
        # messages at the same point of its stream's poll cycle every time.
        item.due = t0 + (item.index + 0.9 * jitter.random()) / rate
        if item.due - t0 > seconds:
            break
        delay = item.due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(item)))
    window = loop.time() - t0
    await asyncio.gather(*tasks)
    return window


async def wait_streamed(items: list[Sent], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if all(i.streamed is not None for i in items if i.sent):
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(2 * live.POLL_SECONDS)  # a duplicate would show within a poll or two


async def measure(system: System, args: argparse.Namespace) -> dict[str, Any]:
    processes = system.processes
    limits = httpx.Limits(
        max_connections=args.pages + 10, max_keepalive_connections=args.pages + 10
    )
    timeout = httpx.Timeout(REQUEST_TIMEOUT, read=None)  # a stream may be quiet for long
    async with (
        httpx.AsyncClient(limits=limits, timeout=timeout) as pages_http,
        httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as console,
    ):
        print(f"Opening {args.pages} cases...", flush=True)
        started = time.monotonic()
        case_ids = await open_cases(system, args.pages)
        opened_in = time.monotonic() - started
        csrf = await sign_in(console, system.base, case_ids[0])
        await asyncio.sleep(3)  # the relay process has started, the cases' first work done
        print(f"Idle CPU, no chat page open ({args.idle:g} s)...", flush=True)
        cpu_no_pages = await idle_cpu(processes, args.idle)

        items = plan(args.messages, args.warmup, case_ids, secrets.token_hex(3))
        by_text = {i.text: i for i in items}
        streams = [
            Stream(c, f"{system.base}/chat/{quote(c, safe='')}/events?t={system.links.token(c)}")
            for c in case_ids
        ]
        watch = StoreChatState(system.store)
        tasks: list[asyncio.Task[None]] = [asyncio.create_task(watch.run())]
        try:
            print(f"Opening {args.pages} chat pages and their streams...", flush=True)
            gate = asyncio.Semaphore(SETUP_CONCURRENCY)

            async def load(stream: Stream) -> None:
                async with gate:
                    page = await pages_http.get(
                        f"{system.base}/chat/{quote(stream.case, safe='')}?t="
                        + system.links.token(stream.case)
                    )
                    page.raise_for_status()
                    watch.loaded[stream.case] = asyncio.get_running_loop().time()
                    tasks.append(asyncio.create_task(stream.run(pages_http, by_text)))
                    await asyncio.wait_for(stream.connected.wait(), 30)

            await asyncio.gather(*(load(s) for s in streams))
            await until_joined(system.cases, case_ids)
            await asyncio.sleep(1)  # the page loads' own work done
            print(f"Idle CPU, {args.pages} streams open ({args.idle:g} s)...", flush=True)
            cpu_pages = await idle_cpu(processes, args.idle)

            async def send(item: Sent) -> str:
                if item.kind == CONSOLE:
                    response = await console.post(
                        f"{system.base}/console/cases/{quote(item.case, safe='')}/reply",
                        data={
                            "text": item.text,
                            "client_id": f"bench-{item.index}-{secrets.token_hex(4)}",
                            "csrf": csrf,
                        },
                    )
                    return str(response.status_code)
                message = AgentMessage(
                    agent=AGENT, text=item.text, message_id=f"bench-{secrets.token_hex(8)}"
                )
                await system.cases.signal(item.case, "agent_message", message)
                return "200"

            by_case = {s.case: s for s in streams}

            def floor(case: str) -> int:
                return by_case[case].last_seq

            measured = [i for i in items if not i.warmup]
            if args.warmup:
                print(f"Warming up ({args.warmup} messages)...", flush=True)
                warm = [i for i in items if i.warmup]
                await send_all(
                    warm, args.rate, args.seconds, send, system.store, args.store_poll, floor
                )
                await wait_streamed(warm, DRAIN_SECONDS)
                for n, item in enumerate(measured):  # renumbered: the open loop starts at 0
                    item.index = n
            print(
                f"Sending {len(measured)} messages at {args.rate:g}/s "
                f"(at most {args.seconds:g} s)...",
                flush=True,
            )
            before, wall = cpu_sample(processes), time.monotonic()
            with LoopLag() as lag:
                window = await send_all(
                    measured, args.rate, args.seconds, send, system.store, args.store_poll, floor
                )
                await wait_streamed(measured, DRAIN_SECONDS)
            after, wall = cpu_sample(processes), time.monotonic() - wall
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        stored_counts = await asyncio.to_thread(store_counts, system.store, case_ids, by_text)
        loop = asyncio.get_running_loop()
        first = min(i.due for i in measured)  # the sending's start, on the wall clock:
        start = datetime.fromtimestamp(time.time() - (loop.time() - first), UTC)
        events = await asyncio.to_thread(case_events, system.store, case_ids, start, window)

    return {
        "cases_opened_in_s": round(opened_in, 1),
        "idle_cpu_pct_of_a_core": {"no_pages": cpu_no_pages, f"{args.pages}_streams": cpu_pages},
        "sending_window_s": round(window, 1),
        "phase_cpu_pct_of_a_core": cpu_pct(before, after, wall),
        "load_average": os.getloadavg(),
        "generator_loop_lag_ms": percentiles([1000 * s for s in lag.samples]),
        "store_chat_state": watch.summary(),
        "case_events_while_sending": events,
        **summarise(items, streams, stored_counts),
    }


def store_counts(store: CaseStore, case_ids: list[str], by_text: dict[str, Sent]) -> Counter[str]:
    """How many times the store holds each message sent."""
    found: Counter[str] = Counter()
    for case in case_ids:
        after = 0
        while True:
            page = store.transcript(case, after=after, limit=200)
            found.update(e.text for e in page.entries if e.text in by_text)
            if not page.more_after or not page.entries:
                break
            after = page.entries[-1].seq
    return found


def case_events(
    store: CaseStore, case_ids: list[str], start: datetime, seconds: float
) -> dict[str, Any]:
    """The cases' own timeline events (escalations, SLA warnings...) in each 5 s of the
    sending, as the store has them at the end: the load besides the messages."""
    windows: dict[int, Counter[str]] = {}
    for case in case_ids:
        after = 0
        while True:
            page = store.timeline(case, after=after, limit=200)
            for event in page.events:
                offset = (event.at - start).total_seconds()
                if 0 <= offset <= seconds:
                    windows.setdefault(int(offset // 5) * 5, Counter())[event.type] += 1
            if not page.more_after or not page.events:
                break
            after = page.events[-1].seq
    total = sum(windows.values(), Counter())
    return {
        "total_by_type": dict(total.most_common()),
        "by_5s": {str(k): dict(v.most_common()) for k, v in sorted(windows.items())},
    }


def _ms(items: list[Sent], end: Callable[[Sent], float | None]) -> dict[str, float]:
    values = [1000 * (t - i.sent) for i in items if (t := end(i)) is not None]
    return {**percentiles(values), "n": len(values)}


def summarise(items: list[Sent], streams: list[Stream], stored: Counter[str]) -> dict[str, Any]:
    sent = [i for i in items if i.sent]
    measured = [i for i in sent if not i.warmup]
    latency: dict[str, dict[str, Any]] = {
        kind: {
            "answered_ms": _ms(group, lambda i: i.answered),
            "in_store_ms": _ms(group, lambda i: i.stored),
            "on_stream_ms": _ms(group, lambda i: i.streamed),
            "send_lag_ms": percentiles([1000 * (i.sent - i.due) for i in group]),
            "statuses": dict(Counter(i.status for i in group)),
        }
        for kind in (CONSOLE, SIGNAL)
        if (group := [i for i in measured if i.kind == kind])
    }
    a = latency.get(CONSOLE, {}).get("on_stream_ms", {})
    b = latency.get(SIGNAL, {}).get("in_store_ms", {})
    # Order: a case's messages arrive on its stream in the order it was sent them (each
    # message was sent long after the one before it had arrived: checked, not assumed).
    out_of_order = []
    texts = {i.text for i in sent}
    for stream in streams:
        ours = [(seq, text) for seq, text in stream.seen if text in texts]
        order = {i.text: n for n, i in enumerate(i for i in sent if i.case == stream.case)}
        ranks = [order[text] for _, text in ours]
        if ranks != sorted(ranks) or [s for s, _ in ours] != sorted(s for s, _ in ours):
            out_of_order.append(stream.case)
    missing = [i.index for i in sent if not i.stream_seqs]
    duplicated = [i.index for i in sent if len(i.stream_seqs) > 1]
    t0 = min((i.due for i in measured), default=0.0)

    def ms(t: float | None, since: float) -> float | None:
        return None if t is None else round(1000 * (t - since), 1)

    return {
        # Each measured message: when it was due (s from the first), to which case, and its
        # times (ms from sending) to the answer, the store and the stream.
        "per_message": [
            {
                "due_s": round(i.due - t0, 2),
                "kind": i.kind,
                "case": i.case,
                "answered_ms": ms(i.answered, i.sent),
                "in_store_ms": ms(i.stored, i.sent),
                "on_stream_ms": ms(i.streamed, i.sent),
                "status": i.status,
            }
            for i in measured
        ],
        "messages_sent": len(measured),
        "warmup_sent": len(sent) - len(measured),
        "latency": latency,
        "ratios": {
            "A_console_to_stream_vs_B_signal_to_store_p50": _ratio(a.get("p50"), b.get("p50")),
            "A_console_to_stream_vs_B_signal_to_store_p99": _ratio(a.get("p99"), b.get("p99")),
        },
        "checks": {
            "on_stream_exactly_once": sum(1 for i in sent if len(i.stream_seqs) == 1),
            "checked": len(sent),
            "missing_on_stream": missing[:20],
            "missing_on_stream_count": len(missing),
            "duplicated_on_stream": duplicated[:20],
            "duplicated_on_stream_count": len(duplicated),
            "cases_out_of_order": out_of_order[:20],
            "cases_out_of_order_count": len(out_of_order),
            "channels_on_stream": dict(Counter(i.channel for i in sent if i.stream_seqs)),
            "in_store_exactly_once": sum(1 for i in sent if stored[i.text] == 1),
            "not_in_store": sum(1 for i in sent if stored[i.text] == 0),
            "in_store_more_than_once": sum(1 for i in sent if stored[i.text] > 1),
            "overlapping_sends_on_a_case": overlapping(sent),
            "stream_reconnects": sum(s.reconnects for s in streams),
            "stream_errors": dict(sum((s.errors for s in streams), Counter())),
        },
    }


def overlapping(sent: list[Sent]) -> int:
    """Messages sent to a case before its previous message had arrived on its stream (the
    order check then asks more than the app promises)."""
    last: dict[str, Sent] = {}
    found = 0
    for item in sorted(sent, key=lambda i: i.sent):
        previous = last.get(item.case)
        if previous is not None and (previous.streamed is None or previous.streamed > item.sent):
            found += 1
        last[item.case] = item
    return found


def _ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


async def main(args: argparse.Namespace) -> dict[str, Any]:
    # SIGTERM stops the run as Ctrl-C does (asyncio.run's own SIGINT handling): the main task
    # is cancelled, so every process below is stopped on the way out.
    me = asyncio.current_task()
    assert me is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, me.cancel)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes = Processes({"generator": os.getpid()})
    code = code_version()
    run_started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data"
        data.mkdir()
        url = sqlite_url(data / "records.sqlite3")
        migrate.upgrade(url)
        store = CaseStore(url)
        secret = secrets.token_urlsafe(32)
        print("Starting the Temporal dev server, the worker and the ingress...", flush=True)
        async with await start_dev_server(processes) as env:
            address = env.client.service_client.config.target_host
            # `base` is an http public URL: the console's cookie is not Secure.
            settings_env = system_env(
                env, TASK_QUEUE, data, url, base, port, ESCALATE_CHAT_LINK_SECRET=secret
            )
            # The ingress's own derivation of the link key, from the settings it is given.
            links = ChatLinks.from_settings(
                Settings(chat_link_secret=secret, public_url=base, data_dir=data)
            )
            worker_log, ingress_log = tmp / "worker.log", tmp / "ingress.log"
            async with httpx.AsyncClient(timeout=REQUEST_TIMEOUT) as http:
                with (
                    child([tool("escalate"), "worker"], settings_env, worker_log) as worker,
                    child([tool("escalate"), "ingress"], settings_env, ingress_log) as ingress,
                ):
                    processes.pids |= {"worker": worker.pid, "ingress": ingress.pid}
                    await wait_for_line(worker, worker_log, "worker started")
                    await wait_ready(http, base, ingress)
                    for pid, _name in children(ingress.pid):  # `escalate ingress` runs its relay
                        processes.pids["ingress relay"] = pid
                    plain = await Client.connect(address, data_converter=pydantic_data_converter)
                    system = System(
                        base,
                        store,
                        CaseClient(plain, TASK_QUEUE, store),
                        links,
                        processes,
                    )
                    result = await measure(system, args)
            result["worker_log"] = log_summary(worker_log)
            result["ingress_log"] = log_summary(ingress_log)
        store.close()
    return {
        "pages": args.pages,
        "messages": args.messages,
        "rate": args.rate,
        "seconds": args.seconds,
        "warmup": args.warmup,
        "store_poll_s": args.store_poll,
        "sse_poll_s": live.POLL_SECONDS,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores",
        "code": code,
        **result,
        "run_seconds": round(time.monotonic() - run_started, 1),
    }


# ----- the report ------------------------------------------------------------------------------
def table(result: dict[str, Any]) -> str:
    lat = result["latency"]
    lines = [
        f"Chat latency: {result['pages']} chat pages open (one SSE stream each, store polled "
        f"every {result['sse_poll_s']:g} s), {result['messages_sent']} agent messages at "
        f"{result['rate']:g}/s over {result['sending_window_s']:g} s, A and B alternating; "
        f"{result['machine']}, run {result['run_seconds']:g} s"
    ]
    code = result.get("code", {})
    if code.get("commit"):
        changed = ", ".join(code.get("modified", [])) or "none"
        lines.append(f"  code: {code['commit']}, uncommitted changes: {changed}")
    lines.append(f"  {'from sending, to:':<48} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>5}")
    rows = [
        ("A console reply: POST answered", CONSOLE, "answered_ms"),
        ("A console reply: in the store", CONSOLE, "in_store_ms"),
        ("A console reply: on the customer's stream  [A]", CONSOLE, "on_stream_ms"),
        ("B bare signal: call returned", SIGNAL, "answered_ms"),
        ("B bare signal: in the store  [B]", SIGNAL, "in_store_ms"),
        ("B bare signal: on the customer's stream", SIGNAL, "on_stream_ms"),
    ]
    for label, kind, key in rows:
        ms = lat.get(kind, {}).get(key)
        if ms:
            lines.append(
                f"  {label:<48} {ms['p50']:8.1f} {ms['p99']:8.1f} {ms['max']:8.1f} {ms['n']:5d}"
            )
    r = result["ratios"]
    lines.append(
        f"  A/B: p50 x{r['A_console_to_stream_vs_B_signal_to_store_p50']}, "
        f"p99 x{r['A_console_to_stream_vs_B_signal_to_store_p99']}"
    )
    statuses = {k: v["statuses"] for k, v in lat.items()}
    lines.append(f"  answers: {statuses}")
    idle = result["idle_cpu_pct_of_a_core"]
    none, full = idle["no_pages"], idle[f"{result['pages']}_streams"]
    extra = full.get("ingress", 0.0) - none.get("ingress", 0.0)
    lines.append(
        f"  SSE fan-out, idle: the ingress process uses {full.get('ingress', 0.0):.1f}% of a core "
        f"with {result['pages']} streams open, {none.get('ingress', 0.0):.1f}% with none: "
        f"{extra / result['pages']:.3f}% of a core per open chat page"
    )
    for name, cpu in (
        ("idle, no page", none),
        (f"idle, {result['pages']} streams", full),
        ("while sending", result["phase_cpu_pct_of_a_core"]),
    ):
        lines.append(
            f"  CPU % of a core, {name}: " + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        )
    load = result.get("load_average")
    if load:
        lines.append(f"  load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    c = result["checks"]
    lines.append(
        f"  on its stream exactly once: {c['on_stream_exactly_once']}/{c['checked']} "
        f"(missing {c['missing_on_stream_count']}, duplicated {c['duplicated_on_stream_count']}); "
        f"cases out of order: {c['cases_out_of_order_count']}; in the store exactly once: "
        f"{c['in_store_exactly_once']}/{c['checked']} (absent {c['not_in_store']}, more than "
        f"once {c['in_store_more_than_once']})"
    )
    events = result["case_events_while_sending"]
    busiest = max(events["by_5s"].items(), key=lambda kv: sum(kv[1].values()), default=None)
    lines.append(
        f"  cases' own events while sending: {events['total_by_type'] or 'none'}"
        + (
            f"; busiest 5 s from {busiest[0]} s: {sum(busiest[1].values())} events"
            if busiest
            else ""
        )
    )
    slowest = sorted(
        (m for m in result["per_message"] if m["on_stream_ms"] is not None),
        key=lambda m: -m["on_stream_ms"],
    )[:5]
    lines.append(
        "  slowest to the stream (sent at s: kind ms): "
        + ", ".join(f"{m['due_s']:g}: {m['kind']} {m['on_stream_ms']:.0f}" for m in slowest)
    )
    joined = result["store_chat_state"]
    lines.append(
        f"  channels the replies went on: {c['channels_on_stream']}; store summary says "
        f"'joined' for {joined['joined_in_store']}/{joined['pages_loaded']} cases, "
        f"{joined['seconds_from_page_load_to_store_joined']['p50']:.0f} s (p50) / "
        f"{joined['seconds_from_page_load_to_store_joined']['max']:.0f} s (max) after the "
        "page load (the workflow knew at once)"
    )
    lines.append(
        f"  stream reconnects {c['stream_reconnects']}, errors {c['stream_errors'] or 'none'}; "
        f"sends to a case before its previous message arrived: "
        f"{c['overlapping_sends_on_a_case']}; generator loop lag p99 "
        f"{result['generator_loop_lag_ms']['p99']:.1f} ms"
    )
    for name in ("ingress_log", "worker_log"):
        logged = result[name]["warnings_and_errors"]
        lines.append(f"  {name.replace('_', ' ')} warnings/errors: {logged or 'none'}")
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100, help="chat pages (cases) open")
    parser.add_argument("--messages", type=int, default=300, help="agent messages measured")
    parser.add_argument("--rate", type=float, default=5.0, help="messages per second")
    parser.add_argument("--seconds", type=float, default=120.0, help="longest the sending may last")
    parser.add_argument("--warmup", type=int, default=10, help="unmeasured messages first")
    parser.add_argument("--idle", type=float, default=8.0, help="seconds of each idle CPU sample")
    parser.add_argument(
        "--store-poll", type=float, default=0.005, help="seconds between reads of the store"
    )
    args = parser.parse_args()
    if not 1 <= args.pages <= 500:
        parser.error("--pages must be between 1 and 500")
    if not 1 <= args.messages <= 5000:
        parser.error("--messages must be between 1 and 5000")
    if not 0.1 <= args.rate <= 100:
        parser.error("--rate must be between 0.1 and 100")
    if not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    if not 0 <= args.warmup <= 100 or not 0 <= args.idle <= 60:
        parser.error("--warmup must be 0-100 and --idle 0-60")
    if not 0.001 <= args.store_poll <= 0.5:
        parser.error("--store-poll must be between 0.001 and 0.5")
    logs.configure("console", "warning")
    try:
        result = asyncio.run(main(args))
    except (KeyboardInterrupt, asyncio.CancelledError):
        print("Interrupted; every process it started has been stopped.", file=sys.stderr)
        sys.exit(130)
    report(f"chat-{args.pages}", result, table(result))


if __name__ == "__main__":
    cli()
