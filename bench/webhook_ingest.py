"""Webhook ingest latency: signed inbound SMS webhooks to 200 OK, against bare signal-with-start.

Starts a real Temporal dev server (on 127.0.0.1) and a migrated SQLite case record store in
a temporary directory, then, each as its own process as `make run` starts them: the real
worker (`escalate worker`: CaseWorkflow and its real activities), the real ingress
(`escalate ingress`, on a free port of 127.0.0.1, signing key a random Twilio auth token so
every signature is checked for real), and a worker for the bare baseline workflow. This
process only generates the load, so the workers' CPU does not delay its clocks. Then, at a
steady open-loop rate (request i is sent at t0 + i/rate whether or not earlier ones have
answered):

- baseline: bare `start_workflow(..., start_signal=...)` calls (signal-with-start) from a
  plain Temporal client, with the same ids, start input, signal payload and id policy as the
  ingress's own call, to a workflow that only counts its signals;
- ingress: signed Twilio inbound-SMS webhooks to /webhooks/twilio/sms from `--customers`
  distinct numbers to one tenant number (each customer's first text opens a case, the others
  reach it), with a provider retry (same MessageSid) every `--dup-every` requests;
- baseline again, so drift over the run shows.

Latency runs from each request's scheduled time to its answer (a 200 for the webhooks: the
ingress answers once the text is in its durable spool, and its relay delivers it after; how
long each accepted text waited for its case is read from the ingress's log, `queued_ms`).
Afterwards every case is asked how many messages it holds (exactly the distinct texts its
customer sent), and a sample of histories gives history events per inbound text, against
the bare workflow's events per signal. `--breakdown` serves the same ingress (same factory,
store, spool, client and uvicorn settings) with timers around each part of a webhook (form,
signature, each store and spool call, signal-with-start, logging), to say where its time
goes. Prints a table and writes JSON to bench/results/. All traffic
stays on 127.0.0.1.
"""

import argparse
import asyncio
import contextlib
import contextvars
import functools
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from temporalio import client as temporal_client
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.common import WorkflowIDReusePolicy
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.tenants import load_directory
from bench.report import report
from bench.sla_lateness import percentiles
from bench.workflows import BareCase
from domain.commands import CustomerMessage
from domain.models import CaseInput, Channel, Customer
from domain.views import CaseView
from ingress.relay import customer_id
from ingress.signing import twilio_signature
from records import migrate
from records.channels import ChannelStore
from records.store import sqlite_url
from service import logs
from starters.client import CaseClient, static_summary, workflow_id
from starters.dev import server_limit_flags, tool
from workflows import visibility

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "bench-webhook-ingest"
BARE_QUEUE = "bench-webhook-ingest-bare"
SMS_PATH = "/webhooks/twilio/sms"
TENANT = "northwind-telecom"
TENANT_NUMBER = "+12125550100"  # northwind-telecom's SMS number (config/tenants)
CAP = 500  # requests in flight at most: a safety cap, never reached at a rate the box sustains
REQUEST_TIMEOUT = 30.0
WARMUP_CUSTOMERS = 20
# No consent keyword (STOP, START, HELP, YES...) and no escalation keyword: plain texts.
TEXTS = [
    "My phone has had no signal at home since Monday evening",
    "Still no bars indoors, outside it works",
    "I restarted it twice as the app said, nothing changed",
    "Is there an outage on my street? Zip code 10027",
    "Can you check my line please, I work from home",
    "Thanks, I will wait for the technician",
]


def customer_number(index: int, warmup: bool = False) -> str:
    """+1 202 555 1000-8999 for the measured customers, 9000 on for the warm-up ones (all
    valid numbers)."""
    return f"+1202555{(9000 if warmup else 1000) + index:04d}"


# ----- the load: which customer sends what, and when ------------------------------------------
@dataclass(frozen=True)
class Item:
    customer: int
    message: int  # the distinct message number (a retry repeats the original's)
    retry: bool


def plan(
    requests: int,
    customers: int,
    dup_every: int,
    retry_back: int,
    seed: int,
    arrivals: str = "steady",
    active: int = 0,
) -> list[Item]:
    """`requests` items; every `dup_every`-th is a provider retry of the text sent
    `retry_back` requests earlier (same MessageSid). The others, by `arrivals`:

    - "steady": customers arrive evenly over the phase (one every requests/customers texts,
      their first text at that moment) and each text comes from one of the customers who
      arrived within the last `active` requests: cases open at a steady rate too;
    - "burst": every text from any of the customers, at random: most of them are new in
      the first seconds, so most cases open at once.
    """
    rng = random.Random(seed)
    items: list[Item] = []
    distinct = 0
    every = requests / customers
    arrived = 0
    for i in range(requests):
        if dup_every and i % dup_every == dup_every - 1 and i >= retry_back:
            original = items[i - retry_back]
            items.append(Item(original.customer, original.message, True))
            continue
        if arrivals == "burst":
            customer = rng.randrange(customers)
        elif arrived < customers and i >= arrived * every:
            customer, arrived = arrived, arrived + 1
        else:
            oldest = max(0, int((i - active) / every)) if active else 0
            customer = rng.randrange(oldest, max(arrived, oldest + 1))
        items.append(Item(customer, distinct, False))
        distinct += 1
    return items


@dataclass
class Message:
    """One text as the ingress receives it and as it reaches Temporal (for the baseline)."""

    phone: str
    sid: str
    text: str
    case: dict[str, Any]  # the CaseInput the ingress offers with signal-with-start
    payload: dict[str, Any]  # the customer_message signal's payload


def make_message(phone: str, number: int, sid: str) -> Message:
    text = f"{TEXTS[number % len(TEXTS)]} (#{number})"
    payload = CustomerMessage(
        channel=Channel.SMS, text=text, provider_message_id=sid, via=TENANT_NUMBER
    ).model_dump(mode="json", exclude_none=True)
    case = CaseInput(
        case_id="placeholder",
        tenant=TENANT,
        customer=Customer(id=customer_id(Channel.SMS, phone), phone=phone),
        channel=Channel.SMS,
        message=text,
        message_id=sid,
        via=TENANT_NUMBER,
    )
    return Message(phone, sid, text, case.model_dump(mode="json", exclude_none=True), payload)


def sms_form(message: Message, token: str, public_url: str) -> tuple[bytes, dict[str, str]]:
    """Twilio's inbound-SMS webhook for one text: the urlencoded body and its headers."""
    fields = {
        "ToCountry": "US",
        "ToState": "NY",
        "SmsMessageSid": message.sid,
        "NumMedia": "0",
        "ToCity": "NEW YORK",
        "FromZip": "20001",
        "SmsSid": message.sid,
        "FromState": "DC",
        "SmsStatus": "received",
        "FromCity": "WASHINGTON",
        "Body": message.text,
        "FromCountry": "US",
        "To": TENANT_NUMBER,
        "ToZip": "10001",
        "NumSegments": "1",
        "MessageSid": message.sid,
        "AccountSid": "AC" + "0" * 32,
        "From": message.phone,
        "ApiVersion": "2010-04-01",
    }
    signature = twilio_signature(token, public_url + SMS_PATH, fields)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": signature,
        "User-Agent": "TwilioProxy/1.1",
    }
    return urlencode(fields).encode(), headers


# ----- open-loop load and what it measures ----------------------------------------------------
@dataclass
class Outcome:
    due: float
    started: float
    done: float
    status: str


class LoopLag:
    """How late the running event loop wakes a 10 ms sleep (a process's own delay)."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _probe(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(0.01)
            self.samples.append(loop.time() - before - 0.01)

    def __enter__(self) -> "LoopLag":
        self._task = asyncio.get_running_loop().create_task(self._probe())
        return self

    def __exit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(of: int) -> list[tuple[int, str]]:
    """(pid, command name) of the processes whose parent is `of`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            stat = (entry / "stat").read_text()
            name = stat[stat.index("(") + 1 : stat.rindex(")")]
            if int(stat.rpartition(")")[2].split()[1]) == of:
                found.append((int(entry.name), name))
    return found


@dataclass
class Processes:
    """The processes whose CPU time each phase reports."""

    pids: dict[str, int] = field(default_factory=dict)

    def sample(self) -> dict[str, float]:
        found = {}
        for name, pid in self.pids.items():
            with contextlib.suppress(OSError):
                found[name] = cpu_seconds(pid)
        return found


async def open_loop(
    count: int, rate: float, send: Callable[[int], Awaitable[str]]
) -> list[Outcome]:
    """Send request i at t0 + i/rate without waiting for earlier answers (at most CAP in
    flight); each outcome is timed from its scheduled time, so a slow answer is never
    hidden by sending the next request later."""
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(CAP)
    outcomes: list[Outcome | None] = [None] * count

    async def one(i: int, due: float) -> None:
        async with gate:
            started = loop.time()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT):
                    status = await send(i)
            except Exception as exc:
                status = type(exc).__name__
            outcomes[i] = Outcome(due, started, loop.time(), status)

    t0 = loop.time() + 0.05
    tasks = []
    for i in range(count):
        due = t0 + i / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    return [o for o in outcomes if o is not None]


def _latency(outcomes: list[Outcome]) -> dict[str, float]:
    ms = [1000 * (o.done - o.due) for o in outcomes if o.status == "200"]
    return {**percentiles(ms), "mean": statistics.fmean(ms) if ms else float("nan")}


def summarise(
    name: str,
    outcomes: list[Outcome],
    openers: set[int],
    lag: LoopLag,
    cpu: dict[str, float],
    seconds: float,
) -> dict[str, Any]:
    ok = [o for o in outcomes if o.status == "200"]
    errors = Counter(o.status for o in outcomes if o.status != "200")
    return {
        "phase": name,
        "requests": len(outcomes),
        "ok": len(ok),
        "errors": dict(errors),
        "wall_seconds": seconds,
        "achieved_rate": len(outcomes) / seconds if seconds else 0.0,
        "latency_ms": _latency(outcomes),
        # A customer's first text starts a workflow; the others signal a running one.
        "latency_ms_first_text": _latency([o for i, o in enumerate(outcomes) if i in openers]),
        "latency_ms_later_texts": _latency([o for i, o in enumerate(outcomes) if i not in openers]),
        # Most customers' first texts fall in the first seconds: the rest of the phase apart.
        "latency_ms_after_10s": _latency([o for o in outcomes if o.due - outcomes[0].due >= 10]),
        "first_texts_after_10s": sum(
            1 for i, o in enumerate(outcomes) if i in openers and o.due - outcomes[0].due >= 10
        ),
        "send_lag_ms": percentiles([1000 * (o.started - o.due) for o in outcomes]),
        "slowest_ms_by_second": _by_second(outcomes),
        "slowest_5": [
            {"request": i, "due_s": round(o.due - outcomes[0].due, 2), "ms": round(ms, 1)}
            for ms, i, o in sorted(
                ((1000 * (o.done - o.due), i, o) for i, o in enumerate(outcomes)),
                key=lambda x: -x[0],
            )[:5]
        ],
        "generator_loop_lag_ms": percentiles([1000 * s for s in lag.samples]),
        "cpu_seconds": cpu,
        "cpu_ms_per_request": {k: 1000 * v / max(len(outcomes), 1) for k, v in cpu.items()},
        "cpu_cores_busy": {k: v / seconds for k, v in cpu.items()} if seconds else {},
    }


def _by_second(outcomes: list[Outcome]) -> list[float]:
    """The slowest answer among the requests due in each second of the phase (a time series)."""
    if not outcomes:
        return []
    t0 = outcomes[0].due
    slowest: dict[int, float] = {}
    for o in outcomes:
        second = int(o.due - t0)
        slowest[second] = max(slowest.get(second, 0.0), round(1000 * (o.done - o.due), 1))
    return [slowest.get(i, 0.0) for i in range(max(slowest) + 1)]


async def phase(
    name: str,
    count: int,
    rate: float,
    send: Callable[[int], Awaitable[str]],
    processes: Processes,
    openers: set[int],
) -> dict[str, Any]:
    before = processes.sample()
    started = time.monotonic()
    wall_start = time.time()
    series: dict[str, list[float]] = {k: [] for k in before}

    async def every_second() -> None:
        last = before
        while True:
            await asyncio.sleep(1)
            now = processes.sample()
            for k in series:
                if k in now:
                    series[k].append(round(now[k] - last[k], 2))
            last = now

    sampler = asyncio.get_running_loop().create_task(every_second())
    with LoopLag() as lag:
        outcomes = await open_loop(count, rate, send)
    sampler.cancel()
    seconds = time.monotonic() - started
    after = processes.sample()
    cpu = {k: after[k] - before[k] for k in after if k in before}
    result = summarise(name, outcomes, openers, lag, cpu, seconds)
    result["cpu_cores_by_second"] = series
    result["wall_window"] = [wall_start, time.time()]
    lat = result["latency_ms"]
    print(
        f"  {name:<12} {result['ok']}/{result['requests']} ok, p50 {lat['p50']:.1f} ms, "
        f"p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms",
        flush=True,
    )
    return result


# ----- the other processes ----------------------------------------------------------------------
async def start_dev_server(processes: Processes) -> WorkflowEnvironment:
    """A dev server on 127.0.0.1 with the search attributes, its pid in `processes`."""
    known = {pid for pid, _ in children(os.getpid())}
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        dev_server_existing_path=tool("temporal"),
        search_attributes=visibility.ALL,
        ip="127.0.0.1",
        dev_server_log_level="error",
        dev_server_extra_args=server_limit_flags(),
    )
    for pid, _name in children(os.getpid()):
        if pid not in known:
            processes.pids["dev server"] = pid
    return env


def system_env(
    env: WorkflowEnvironment,
    task_queue: str,
    data: Path,
    url: str,
    base: str,
    port: int,
    **extra: str,
) -> dict[str, str]:
    """What `escalate dev` hands its worker and ingress (plus `extra` settings)."""
    return {
        "ESCALATE_TEMPORAL_ADDRESS": env.client.service_client.config.target_host,
        "ESCALATE_TASK_QUEUE": task_queue,
        "ESCALATE_DATA_DIR": str(data),
        "ESCALATE_DATABASE_URL": url,
        "ESCALATE_TENANTS_DIR": str(ROOT / "config" / "tenants"),
        "ESCALATE_PUBLIC_URL": base,
        "ESCALATE_INGRESS_HOST": "127.0.0.1",
        "ESCALATE_INGRESS_PORT": str(port),
        "ESCALATE_LOG_FORMAT": "json",  # as deployed (docker-compose); level: the default
        **extra,
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def child(
    command: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """A process with these ESCALATE_* settings (and none of ours), its output in `log_path`;
    stopped with SIGTERM (then SIGKILL after 20 s) on exit."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("ESCALATE_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), clean.get("PYTHONPATH")]))
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            command,
            env={**clean, **env},
            cwd=log_path.parent,  # no escalate.toml of the checkout's is read
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def wait_for_line(proc: subprocess.Popen[bytes], log_path: Path, text: str) -> None:
    """Until the process has logged `text` (it is ready), or it exits."""
    deadline = time.monotonic() + 60
    name = " ".join(str(a) for a in proc.args) if isinstance(proc.args, list) else str(proc.args)
    while text not in await asyncio.to_thread(log_path.read_text, errors="replace"):
        if proc.poll() is not None:
            tail = (await asyncio.to_thread(log_path.read_text, errors="replace"))[-2000:]
            raise RuntimeError(f"{name} exited ({proc.returncode}):\n{tail}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{name} did not log {text!r} within 60 s")
        await asyncio.sleep(0.1)


async def wait_ready(http: httpx.AsyncClient, base: str, proc: subprocess.Popen[bytes]) -> None:
    """Until /readyz says the store and Temporal are reachable (it also connects the client)."""
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the ingress exited ({proc.returncode}) before it was ready")
        with contextlib.suppress(httpx.HTTPError):
            if (await http.get(base + "/readyz", timeout=5)).status_code == 200:
                return
        if time.monotonic() > deadline:
            raise TimeoutError("the ingress was not ready within 60 s")
        await asyncio.sleep(0.2)


def delivery_lag(path: Path, window: list[float]) -> dict[str, Any]:
    """From the ingress's log: how long the texts accepted in `window` (wall clock) waited in
    the spool before their case had them (the relay's `queued_ms`), overall and for those
    accepted from the 10th second on."""
    start, end = window
    lags: list[float] = []
    later: list[float] = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if not isinstance(record, dict) or record.get("event") != "delivered to its case":
            continue
        if record.get("kind") != "message":
            continue
        queued = float(record["queued_ms"])
        accepted = datetime.fromisoformat(record["timestamp"]).timestamp() - queued / 1000
        if start <= accepted <= end:
            lags.append(queued)
            if accepted - start >= 10:
                later.append(queued)
    return {
        "messages": len(lags),
        "queued_ms": percentiles(lags) if lags else {},
        "queued_ms_after_10s": percentiles(later) if later else {},
    }


def log_summary(path: Path) -> dict[str, Any]:
    """A JSON-lines log: lines by level, and the warnings and errors by event."""
    levels: Counter[str] = Counter()
    events: Counter[str] = Counter()
    other = 0
    for line in path.read_text(errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            other += 1
            continue
        if not isinstance(record, dict):
            other += 1
            continue
        level = str(record.get("level", "?"))
        levels[level] += 1
        if level not in ("debug", "info"):
            events[f"{level}: {record.get('event')}"] += 1
    return {"lines_by_level": dict(levels), "warnings_and_errors": dict(events), "non_json": other}


def bare_worker(address: str) -> None:
    """`--bare-worker`: host the baseline workflow until SIGTERM."""

    async def run() -> None:
        client = await Client.connect(address, data_converter=pydantic_data_converter)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with Worker(client, task_queue=BARE_QUEUE, workflows=[BareCase]):
            print("bare worker started", flush=True)
            await stop.wait()

    asyncio.run(run())


# ----- --breakdown: the same ingress with timers around what a webhook waits on -----------------
_SPENT: contextvars.ContextVar[dict[str, float] | None] = contextvars.ContextVar(
    "spent", default=None
)
REST = "rest: routing, models, TwiML, loop turns"
IN_THREAD = "(inside the thread) "


def _add(part: str, seconds: float) -> None:
    spent = _SPENT.get()
    if spent is not None:  # asyncio.to_thread copies the context: the same dict
        spent[part] = spent.get(part, 0.0) + seconds


def _timed(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def call(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            _add(part, time.perf_counter() - t0)

    return call


def _timed_async(part: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    @functools.wraps(fn)
    async def call(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await fn(*args, **kwargs)
        finally:
            _add(part, time.perf_counter() - t0)

    return call


class _TimedLog:
    """A module's structlog logger, its calls counted as "logging"."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name in ("debug", "info", "warning", "error", "exception"):
            return _timed("logging (structlog, JSON)", found)
        return found


def timed_ingress(out: Path) -> None:
    """`--timed-ingress OUT`: the ingress exactly as `escalate ingress` builds it (same
    factory, store, spool, client, uvicorn settings), with what a webhook waits on timed:
    reading and parsing the form, the signature, each thread hop to SQLite (awaited, and
    inside the thread), signal-with-start, logging, uvicorn's send (its access log).
    Per-request timings go to OUT at shutdown."""
    import uvicorn

    import ingress.cases
    import ingress.relay
    import ingress.twilio
    from domain.tenant import TenantDirectory
    from ingress.app import create_app
    from ingress.cases import TemporalCases
    from ingress.server import RelayProcess
    from ingress.server import running as running_relay
    from ingress.spool import Spool
    from records.store import CaseStore
    from service.settings import Settings, load_settings

    class TimedStart(temporal_client.OutboundInterceptor):
        async def start_workflow(
            self, input: temporal_client.StartWorkflowInput
        ) -> temporal_client.WorkflowHandle[Any, Any]:
            t0 = time.perf_counter()
            try:
                return await super().start_workflow(input)
            finally:
                _add("temporal: signal-with-start", time.perf_counter() - t0)

    class Timing(temporal_client.Interceptor):
        def intercept_client(
            self, next: temporal_client.OutboundInterceptor
        ) -> temporal_client.OutboundInterceptor:
            return TimedStart(next)

    real_to_thread = asyncio.to_thread

    async def to_thread(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await real_to_thread(func, *args, **kwargs)
        finally:
            _add(f"thread: {func.__qualname__}", time.perf_counter() - t0)

    asyncio.to_thread = to_thread  # this process only: the ingress's calls, awaited
    for name in ("read_body", "parse_form"):  # the names ingress.twilio calls them by
        setattr(
            ingress.twilio, name, _timed_async("read + parse form", getattr(ingress.twilio, name))
        )
    ingress.twilio.validated = _timed("validate InboundSms", ingress.twilio.validated)  # type: ignore[attr-defined]
    for module in (ingress.twilio, ingress.relay, ingress.cases):
        module.log = _TimedLog(module.log)  # type: ignore[attr-defined]

    settings = load_settings()
    logs.configure(settings.log_format, settings.log_level)
    store = ChannelStore(url=settings.records_url)
    for name in ("opted_out", "claim_conversation"):
        setattr(store, name, _timed(IN_THREAD + name, getattr(store, name)))
    spool = Spool.in_data_dir(settings.data_dir)
    spool.depth = _timed(IN_THREAD + "depth", spool.depth)  # type: ignore[method-assign]

    async def timed_connect(s: Settings) -> CaseClient:
        case_store = CaseStore(s.records_url)
        case_store.has_message = _timed(  # type: ignore[method-assign]
            IN_THREAD + "has_message", case_store.has_message
        )
        client = await Client.connect(  # as workers.worker.connect, plus the timer
            s.temporal_address,
            namespace=s.namespace,
            data_converter=pydantic_data_converter,
            interceptors=[Timing()],
        )
        return CaseClient(client, s.task_queue, case_store)

    relay = RelayProcess()  # as ingress.server.serve: deliveries in a process of their own
    app = create_app(
        settings,
        tenants=TenantDirectory(load_directory(settings.tenants_dir)),
        store=store,
        cases=TemporalCases(settings, connect=timed_connect),
        spool=spool,
        deliver=False,
        relay_status=relay.status,
    )
    services = app.state.services
    services.twilio.validate = _timed("signature check", services.twilio.validate)
    services.relay.submit = _timed_async(
        "accept: spool write (fsync), its thread hop", services.relay.submit
    )
    records: list[dict[str, float]] = []
    lag = LoopLag()

    def write() -> None:
        out.write_text(json.dumps({"requests": records, "loop_lag": lag.samples}))

    async def timed_app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            # Written at shutdown from here: uvicorn re-raises SIGTERM once it has served.
            async def shutdown(message: Any) -> None:
                if message["type"] == "lifespan.shutdown.complete":
                    write()
                await send(message)

            await app(scope, receive, shutdown)
            return
        if scope["type"] != "http" or scope["path"] != SMS_PATH:
            await app(scope, receive, send)
            return
        t0 = time.perf_counter()
        spent: dict[str, float] = {"at": t0}
        token = _SPENT.set(spent)

        async def sent(message: Any) -> None:
            s0 = time.perf_counter()
            await send(message)
            _add("uvicorn send (with its access log)", time.perf_counter() - s0)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                spent["total"] = time.perf_counter() - t0

        try:
            await app(scope, receive, sent)
        finally:
            _SPENT.reset(token)
            records.append(spent)

    async def serve() -> None:
        config = uvicorn.Config(  # as ingress.server.serve
            timed_app,
            host=settings.ingress_host,
            port=settings.ingress_port,
            log_config=None,
            proxy_headers=True,
            timeout_graceful_shutdown=10,
        )
        with lag:
            await uvicorn.Server(config).serve()

    with running_relay(relay):
        asyncio.run(serve())


def breakdown(path: Path, phase_slice: slice) -> dict[str, Any]:
    """Where the webhooks' time went (from the request reaching the app to its response
    sent), from the timed ingress's records of the measured phase."""
    raw = json.loads(path.read_text())
    records = [r for r in raw["requests"][phase_slice] if "total" in r]
    if not records:
        return {}
    parts = sorted({k for r in records for k in r if k not in ("total", "at")})
    summed = [p for p in parts if not p.startswith(IN_THREAD)]
    for r in records:
        r[REST] = r["total"] - sum(r.get(p, 0.0) for p in summed)
    ordered = sorted(records, key=lambda r: r["total"])
    slowest = ordered[int(0.99 * len(ordered)) :]
    t0 = min(r["at"] for r in records)

    def top(r: dict[str, float]) -> dict[str, float]:
        found = sorted(((p, r.get(p, 0.0)) for p in [*summed, REST]), key=lambda x: -x[1])
        return {p: round(1000 * v, 1) for p, v in found[:3]}

    return {
        "requests": len(records),
        "total_ms": percentiles([1000 * r["total"] for r in records]),
        "parts_ms": {
            p: {
                **percentiles([1000 * r.get(p, 0.0) for r in records]),
                "mean": statistics.fmean(1000 * r.get(p, 0.0) for r in records),
                "mean_in_slowest_1pct": statistics.fmean(1000 * r.get(p, 0.0) for r in slowest),
            }
            for p in [*summed, REST, *(p for p in parts if p.startswith(IN_THREAD))]
        },
        "slowest_1pct_total_ms_mean": statistics.fmean(1000 * r["total"] for r in slowest),
        "slowest_1pct": [
            {"at_s": round(r["at"] - t0, 2), "total_ms": round(1000 * r["total"], 1), **top(r)}
            for r in sorted(slowest, key=lambda r: r["at"])
        ],
        "ingress_loop_lag_ms": percentiles([1000 * s for s in raw["loop_lag"]]),
    }


# ----- after the run: did the cases get their texts, and at what cost in history --------------
async def ask(call: Awaitable[Any]) -> Any:
    try:
        return await call
    except (RPCError, WorkflowQueryFailedError):
        return None


def _kind(event_type: int) -> str:
    name = EventType.Name(event_type).removeprefix("EVENT_TYPE_")  # type: ignore[arg-type]
    for prefix, kind in (
        ("WORKFLOW_TASK_", "workflow task"),
        ("ACTIVITY_TASK_", "activity"),
        ("TIMER_", "timer"),
        ("WORKFLOW_EXECUTION_SIGNALED", "signal"),
    ):
        if name.startswith(prefix):
            return kind
    return name.lower()


@dataclass
class History:
    runs: int = 0
    kinds: Counter[str] = field(default_factory=Counter)
    # Events from each signal up to the next one: what one more text costs, flushes included.
    gaps: list[int] = field(default_factory=list)


async def history_events(client: Client, wf_id: str) -> History:
    """A workflow's history events over all its runs (continue-as-new too)."""
    found = History()
    async for execution in client.list_workflows(f"WorkflowId = '{wf_id}'"):
        found.runs += 1
        handle = client.get_workflow_handle(wf_id, run_id=execution.run_id)
        gap: int | None = None
        async for event in handle.fetch_history_events():
            kind = _kind(event.event_type)
            found.kinds[kind] += 1
            if kind == "signal":
                if gap is not None:
                    found.gaps.append(gap)
                gap = 0
            if gap is not None:
                gap += 1
        if gap is not None:
            found.gaps.append(gap)
    return found


async def check_cases(
    client: Client,
    channels: ChannelStore,
    expected: dict[int, int],
    delivered: dict[int, int],
    sample: int,
) -> dict[str, Any]:
    """Every customer's case holds exactly the distinct texts they sent; history per text."""
    case_ids: dict[int, str | None] = {
        c: await asyncio.to_thread(channels.conversation, TENANT, Channel.SMS, customer_number(c))
        for c in expected
    }
    cases = CaseClient(client, TASK_QUEUE)
    views: dict[int, CaseView | None] = {}
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        pending = [
            c
            for c in expected
            if case_ids[c] and ((v := views.get(c)) is None or v.messages != expected[c])
        ]
        if not pending:
            break
        found = await asyncio.gather(*(ask(cases.state(str(case_ids[c]))) for c in pending))
        views.update(zip(pending, found, strict=True))
        await asyncio.sleep(1)
    wrong = {
        c: {"expected": expected[c], "held": None if v is None else v.messages}
        for c in expected
        if (v := views.get(c)) is None or v.messages != expected[c]
    }
    per_message, per_webhook, runs_seen = [], [], []
    kinds: Counter[str] = Counter()
    gaps: list[int] = []
    messages = 0
    for c in sorted(expected)[:sample]:
        view = views.get(c)
        if view is None or case_ids[c] is None:
            continue
        history = await history_events(client, workflow_id(str(case_ids[c])))
        events = sum(history.kinds.values())
        runs_seen.append(history.runs)
        kinds += history.kinds
        gaps += history.gaps
        messages += view.messages
        per_message.append(events / view.messages)
        per_webhook.append(events / delivered[c])
    return {
        "customers": len(expected),
        "cases_found_in_store": sum(1 for v in case_ids.values() if v),
        "distinct_cases": len({v for v in case_ids.values() if v}),
        "messages_expected": sum(expected.values()),
        "messages_held": sum(v.messages for v in views.values() if v is not None),
        "cases_wrong": len(wrong),
        "wrong": dict(list(wrong.items())[:10]),
        "escalated": sum(1 for v in views.values() if v is not None and int(v.level) > 1),
        "sample": len(per_message),
        "runs_max": max(runs_seen, default=0),
        "events_per_message": _spread(per_message),
        "events_per_webhook": _spread(per_webhook),
        "events_per_message_by_kind": {k: n / max(messages, 1) for k, n in kinds.most_common()},
        "events_from_one_signal_to_the_next": _spread([float(g) for g in gaps]),
    }


async def check_bare(
    client: Client, prefix: str, delivered: dict[int, int], sample: int
) -> dict[str, Any]:
    per_signal, short = [], 0
    kinds: Counter[str] = Counter()
    gaps: list[int] = []
    for c in sorted(delivered)[:sample]:
        handle = client.get_workflow_handle(f"{prefix}-{c}")
        if await ask(handle.query(BareCase.count)) != delivered[c]:
            short += 1
        history = await history_events(client, handle.id)
        kinds += history.kinds
        gaps += history.gaps
        per_signal.append(sum(history.kinds.values()) / delivered[c])
    signals = sum(delivered[c] for c in sorted(delivered)[:sample])
    return {
        "sample": len(per_signal),
        "count_mismatches": short,
        "events_per_signal": _spread(per_signal),
        "events_per_signal_by_kind": {k: n / max(signals, 1) for k, n in kinds.most_common()},
        "events_from_one_signal_to_the_next": _spread([float(g) for g in gaps]),
    }


def _spread(values: list[float]) -> dict[str, float]:
    if not values:
        return {"median": float("nan"), "mean": float("nan"), "max": float("nan")}
    return {
        "median": statistics.median(values),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


# ----- the run ------------------------------------------------------------------------------------
async def main(args: argparse.Namespace) -> dict[str, Any]:
    count = int(args.rate * args.seconds)
    items = plan(
        count,
        args.customers,
        args.dup_every,
        int(args.retry_after * args.rate),
        args.seed,
        args.arrivals,
        int(args.active * args.rate),
    )
    warm = [Item(i % WARMUP_CUSTOMERS, i, False) for i in range(int(args.rate * args.warmup))]
    expected = Counter(it.customer for it in items if not it.retry)
    delivered = Counter(it.customer for it in items)
    token = secrets.token_hex(16)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    processes = Processes({"generator": os.getpid()})
    code = code_version()  # at the start: the processes below import this tree

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "data"
        data.mkdir()
        url = sqlite_url(data / "records.sqlite3")
        migrate.upgrade(url)
        channels = ChannelStore(url=url)
        env = await start_dev_server(processes)
        address = env.client.service_client.config.target_host
        # Twilio signs for the public URL it was given.
        settings_env = system_env(
            env, TASK_QUEUE, data, url, base, port, ESCALATE_TWILIO_AUTH_TOKEN=token
        )
        timings = tmp / "ingress-timings.json"
        ingress_command = (
            [sys.executable, "-m", "bench.webhook_ingest", "--timed-ingress", str(timings)]
            if args.breakdown
            else [tool("escalate"), "ingress"]
        )
        limits = httpx.Limits(max_connections=CAP, max_keepalive_connections=CAP)
        async with env, httpx.AsyncClient(limits=limits, timeout=REQUEST_TIMEOUT) as http:
            with (
                child([tool("escalate"), "worker"], settings_env, tmp / "worker.log") as worker,
                child(
                    [sys.executable, "-m", "bench.webhook_ingest", "--bare-worker", address],
                    {},
                    tmp / "bare-worker.log",
                ) as bare,
                child(ingress_command, settings_env, tmp / "ingress.log") as ingress,
            ):
                processes.pids |= {"worker": worker.pid, "bare worker": bare.pid}
                processes.pids["ingress"] = ingress.pid
                await wait_for_line(worker, tmp / "worker.log", "worker started")
                await wait_for_line(bare, tmp / "bare-worker.log", "bare worker started")
                await wait_ready(http, base, ingress)
                for pid, _name in children(ingress.pid):  # `escalate ingress` runs its relay
                    processes.pids["ingress relay"] = pid
                # A plain client of its own, as the ingress has its own connection.
                plain = await Client.connect(address, data_converter=pydantic_data_converter)
                result = await run_phases(args, items, warm, plain, http, base, token, processes)
                await asyncio.sleep(2)  # let the worker apply the last texts
                result["cases"] = await check_cases(
                    env.client, channels, expected, delivered, args.sample
                )
                result["bare"] = await check_bare(env.client, "bare-a", delivered, args.sample)
            result["delivery"] = delivery_lag(
                tmp / "ingress.log", result["phases"]["ingress"]["wall_window"]
            )
            result["ingress_log"] = log_summary(tmp / "ingress.log")
            result["worker_log"] = log_summary(tmp / "worker.log")
            if args.breakdown:
                # The timed ingress saw the warm-up first, then the measured phase.
                result["breakdown"] = breakdown(timings, slice(len(warm), len(warm) + count))
        channels.close()

    base_p99 = max(result["phases"][k]["latency_ms"]["p99"] for k in ("baseline_a", "baseline_b"))
    base_p50 = max(result["phases"][k]["latency_ms"]["p50"] for k in ("baseline_a", "baseline_b"))
    ingress_lat = result["phases"]["ingress"]["latency_ms"]
    return {
        "rate": args.rate,
        "seconds": args.seconds,
        "customers": args.customers,
        "arrivals": args.arrivals,
        "requests_per_phase": count,
        "provider_retries": sum(it.retry for it in items),
        "ingress": "timed (--breakdown)" if args.breakdown else "escalate ingress",
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": f"{os.cpu_count()} cores",
        "code": code,
        **result,
        "ratios": {
            "ingress_vs_baseline_p99": _ratio(ingress_lat["p99"], base_p99),
            "ingress_vs_baseline_p50": _ratio(ingress_lat["p50"], base_p50),
            "goal_p99": 1.5,
        },
    }


async def run_phases(
    args: argparse.Namespace,
    items: list[Item],
    warm: list[Item],
    plain: Client,
    http: httpx.AsyncClient,
    base: str,
    token: str,
    processes: Processes,
) -> dict[str, Any]:
    def messages(batch: list[Item], tag: str, warmup: bool) -> list[Message]:
        """The texts; a provider retry carries its original's MessageSid."""
        sids = [f"SM{tag}{secrets.token_hex(15)}" for _ in batch]
        return [
            make_message(customer_number(it.customer, warmup), it.message, sids[it.message])
            for it in batch
        ]

    def signed(batch: list[Message]) -> list[tuple[bytes, dict[str, str]]]:
        return [sms_form(m, token, base) for m in batch]

    def bare_sender(
        batch: list[Item], msgs: list[Message], prefix: str
    ) -> Callable[[int], Awaitable[str]]:
        """The ingress's Temporal call (CaseClient.post_customer_message with a CaseInput),
        to the bare workflow: the same start input, signal, summary and id policy."""
        starts = []
        for it, m in zip(batch, msgs, strict=True):
            case = {**m.case, "case_id": f"{prefix}-{it.customer}"}
            starts.append((case, static_summary(CaseInput.model_validate(case))))

        async def send(i: int) -> str:
            case, summary = starts[i]
            await plain.start_workflow(
                BareCase.run,
                case,
                id=case["case_id"],
                task_queue=BARE_QUEUE,
                start_signal="customer_message",
                start_signal_args=[msgs[i].payload],
                static_summary=summary,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            )
            return "200"

        return send

    def webhook_sender(
        forms: list[tuple[bytes, dict[str, str]]],
    ) -> Callable[[int], Awaitable[str]]:
        async def send(i: int) -> str:
            body, headers = forms[i]
            response = await http.post(base + SMS_PATH, content=body, headers=headers)
            return str(response.status_code)

        return send

    # Each phase's requests are made (and signed) before it starts, not while it runs.
    measured = messages(items, "m", False)
    forms = signed(measured)
    warm_msgs = messages(warm, "w", True)
    print("Warming up...", flush=True)
    await open_loop(len(warm), args.rate, bare_sender(warm, warm_msgs, "bare-warm"))
    await open_loop(len(warm), args.rate, webhook_sender(signed(warm_msgs)))
    first: dict[int, int] = {}
    for i, it in enumerate(items):
        first.setdefault(it.customer, i)
    openers = set(first.values())
    phases = {}
    for name in ("baseline_a", "ingress", "baseline_b"):
        await asyncio.sleep(args.idle)
        if name == "ingress":
            send = webhook_sender(forms)
        else:
            send = bare_sender(items, measured, f"bare-{name[-1]}")
        phases[name] = await phase(name, len(items), args.rate, send, processes, openers)
    return {"phases": phases}


def code_version() -> dict[str, Any]:
    """The commit measured, and the files changed since (the figures are of that tree)."""
    found: dict[str, Any] = {}
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found["commit"] = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        status = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout
        found["modified"] = [line[3:] for line in status.splitlines()]
    return found


def _ratio(a: float, b: float) -> float:
    return a / b if b else float("inf")


def table(result: dict[str, Any]) -> str:
    phases, cases, bare = result["phases"], result["cases"], result["bare"]
    rows = [("", "p50 (ms)", "p99 (ms)", "max (ms)", "ok", "errors")]
    labels = {
        "baseline_a": "bare signal-with-start (1)",
        "ingress": "signed webhook to 200",
        "baseline_b": "bare signal-with-start (2)",
    }
    for key, label in labels.items():
        p = phases[key]
        lat = p["latency_ms"]
        rows.append(
            (
                label,
                f"{lat['p50']:.1f}",
                f"{lat['p99']:.1f}",
                f"{lat['max']:.1f}",
                f"{p['ok']}/{p['requests']}",
                str(sum(p["errors"].values())),
            )
        )
    lines = [
        f"Webhook ingest: {result['rate']:g}/s for {result['seconds']:g} s per phase "
        f"({result['requests_per_phase']} requests, {result['customers']} customers "
        f"arriving {result.get('arrivals', 'burst')}, "
        f"{result['provider_retries']} provider retries; ingress: {result['ingress']}), "
        f"{result['machine']}"
    ]
    code = result.get("code", {})
    if code.get("commit"):
        changed = ", ".join(code.get("modified", [])) or "none"
        lines.append(f"  code: {code['commit']}, uncommitted changes: {changed}")
    lines += [f"  {r[0]:<28} {r[1]:>9} {r[2]:>9} {r[3]:>9} {r[4]:>11} {r[5]:>7}" for r in rows]
    ratios = result["ratios"]
    lines.append(
        f"  webhook vs bare call: p99 x{ratios['ingress_vs_baseline_p99']:.2f} "
        f"(goal x{ratios['goal_p99']}), p50 x{ratios['ingress_vs_baseline_p50']:.2f} "
        "(against the slower of the two baselines)"
    )
    lines.append(
        "  p99 of first texts (start a workflow) / later texts (signal it): "
        + ", ".join(
            f"{k} {p['latency_ms_first_text']['p99']:.1f} / {p['latency_ms_later_texts']['p99']:.1f} ms"
            for k, p in phases.items()
        )
    )
    if result["seconds"] > 10:
        lines.append(
            "  p99 from the 10th second on: "
            + ", ".join(f"{k} {p['latency_ms_after_10s']['p99']:.1f} ms" for k, p in phases.items())
            + f" ({phases['ingress']['first_texts_after_10s']} first texts fall after it)"
        )
    busy = {k: v for k, v in phases["ingress"]["cpu_cores_by_second"].items() if len(v) > 5}
    if busy:
        lines.append(
            "  CPU cores busy in the ingress phase, first 5 s / the rest: "
            + ", ".join(
                f"{k} {statistics.fmean(v[:5]):.2f} / {statistics.fmean(v[5:]):.2f}"
                for k, v in busy.items()
            )
        )
    errors = {k: p["errors"] for k, p in phases.items() if p["errors"]}
    if errors:
        lines.append(f"  non-200 answers: {errors}")
    for key in ("baseline_a", "ingress"):
        cpu = phases[key]["cpu_ms_per_request"]
        lines.append(
            f"  CPU ms per request ({labels[key]}): "
            + ", ".join(f"{k} {v:.1f}" for k, v in cpu.items())
        )
    lines.append(
        "  generator loop lag p99: "
        + ", ".join(f"{k} {p['generator_loop_lag_ms']['p99']:.1f} ms" for k, p in phases.items())
    )
    delivery = result.get("delivery") or {}
    if delivery.get("queued_ms"):
        q, q10 = delivery["queued_ms"], delivery.get("queued_ms_after_10s") or {}
        lines.append(
            f"  accepted text to its case (the relay's queue, {delivery['messages']} texts): "
            f"p50 {q['p50']:.1f}, p99 {q['p99']:.1f}, max {q['max']:.1f} ms"
            + (f"; from the 10th second on p99 {q10['p99']:.1f} ms" if q10 else "")
        )
    lines.append(
        f"  cases: {cases['distinct_cases']} for {cases['customers']} customers; "
        f"{cases['messages_held']}/{cases['messages_expected']} distinct texts held "
        f"({cases['cases_wrong']} cases wrong)"
    )
    kinds = ", ".join(f"{k} {v:.2f}" for k, v in cases["events_per_message_by_kind"].items())
    lines.append(
        f"  history events per inbound text ({cases['sample']} cases): median "
        f"{cases['events_per_message']['median']:.2f}, "
        f"mean {cases['events_per_message']['mean']:.2f} ({kinds})"
    )
    gap = cases["events_from_one_signal_to_the_next"]
    lines.append(
        f"  events from one text's signal to the next: median {gap['median']:.0f}, "
        f"mean {gap['mean']:.2f}"
    )
    bare_gap = bare["events_from_one_signal_to_the_next"]
    lines.append(
        f"  bare workflow, events per signal: median {bare['events_per_signal']['median']:.2f}, "
        f"mean {bare['events_per_signal']['mean']:.2f}; from one signal to the next: median "
        f"{bare_gap['median']:.0f}, mean {bare_gap['mean']:.2f}"
    )
    for name in ("ingress_log", "worker_log"):
        logged = result[name]["warnings_and_errors"]
        lines.append(f"  {name.replace('_', ' ')} warnings/errors: {logged or 'none'}")
    if result.get("breakdown"):
        b = result["breakdown"]
        lines.append(
            f"  breakdown in the ingress ({b['requests']} webhooks; total p50 "
            f"{b['total_ms']['p50']:.1f}, p99 {b['total_ms']['p99']:.1f} ms; mean of the "
            f"slowest 1%: {b['slowest_1pct_total_ms_mean']:.1f} ms):"
        )
        for part, ms in b["parts_ms"].items():
            lines.append(
                f"    {part:<72} p50 {ms['p50']:6.2f}  p99 {ms['p99']:6.2f}  "
                f"in slowest 1% {ms['mean_in_slowest_1pct']:6.2f} ms"
            )
        lines.append(f"    ingress loop lag p99 {b['ingress_loop_lag_ms']['p99']:.1f} ms")
    return "\n".join(lines)


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="requests per second")
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument(
        "--arrivals",
        choices=["steady", "burst"],
        default="steady",
        help="customers arrive evenly over the phase (steady), or all are new at its start",
    )
    parser.add_argument(
        "--active",
        type=float,
        default=20.0,
        help="steady: seconds a customer keeps texting after their first text",
    )
    parser.add_argument("--dup-every", type=int, default=50, help="a provider retry every N")
    parser.add_argument(
        "--retry-after", type=float, default=5.0, help="seconds between a text and its retry"
    )
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of unmeasured load")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds between phases")
    parser.add_argument("--sample", type=int, default=20, help="cases whose history is read")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--breakdown", action="store_true", help="time the parts of each webhook in the ingress"
    )
    parser.add_argument("--bare-worker", metavar="ADDRESS", help=argparse.SUPPRESS)
    parser.add_argument("--timed-ingress", metavar="OUT", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare_worker:
        bare_worker(args.bare_worker)
        return
    if args.timed_ingress:
        timed_ingress(args.timed_ingress)
        return
    logs.configure("console", "warning")
    if not 1 <= args.rate <= 1000:
        parser.error("--rate must be between 1 and 1000")
    if not 1 <= args.seconds <= 600:
        parser.error("--seconds must be between 1 and 600")
    if not 1 <= args.customers <= 8000:
        parser.error("--customers must be between 1 and 8000")
    result = asyncio.run(main(args))
    suffix = ("-burst" if args.arrivals == "burst" else "") + (
        "-breakdown" if args.breakdown else ""
    )
    report(f"webhook_ingest-{args.rate:g}x{args.seconds:g}{suffix}", result, table(result))


if __name__ == "__main__":
    cli()
