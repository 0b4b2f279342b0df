"""The `escalate` command line: cases, the outbox, the worker and the dev launcher."""

import asyncio
import json
import os
import sys
from collections.abc import Awaitable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, TypeVar
from zoneinfo import ZoneInfo

import typer
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from domain.commands import COMMANDS
from domain.models import CaseInput
from domain.problems import problems
from domain.record import TimelineEvent, TranscriptEntry
from domain.tenant import TenantConfig, TenantConfigError
from domain.views import CaseView
from records.store import CaseStore, StoreUnavailable
from service.settings import Settings
from starters.audit import audit_app
from starters.common import _since, fail, settings

T = TypeVar("T")

app = typer.Typer(help="Escalation engine for outsourced customer support.", no_args_is_help=True)
case_app = typer.Typer(help="Open, inspect and steer cases.", no_args_is_help=True)
app.add_typer(case_app, name="case")
db_app = typer.Typer(help="The case record store's schema.", no_args_is_help=True)
app.add_typer(db_app, name="db")
customer_app = typer.Typer(help="A customer's records across cases.", no_args_is_help=True)
app.add_typer(customer_app, name="customer")


def run(coro: Awaitable[T]) -> T:
    """Run a client call; turn the errors a person can fix into one clear line."""
    try:
        return asyncio.run(coro)  # type: ignore[arg-type]
    except WorkflowUpdateFailedError as exc:
        fail(f"rejected: {getattr(exc.cause, 'message', None) or exc}")
    except RPCError as exc:
        if exc.status.name == "NOT_FOUND":
            fail(f"not found: {exc.message}")
        fail(f"Temporal error: {exc.message}")
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    except RuntimeError as exc:
        if "connect" in str(exc).lower():
            fail(f"cannot reach Temporal: {exc}. Is it running? (`make run`)")
        raise


def emit(value: Any) -> None:
    if isinstance(value, BaseModel):
        typer.echo(value.model_dump_json(indent=2))
    elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
        typer.echo(json.dumps([v.model_dump(mode="json") for v in value], indent=2))
    else:
        typer.echo(json.dumps(value, indent=2, default=str))


async def _client(cfg: Settings):  # type: ignore[no-untyped-def]
    from starters.client import CaseClient

    return await CaseClient.connect(cfg)


@case_app.command("open")
def case_open(
    tenant: Annotated[str, typer.Option(help="tenant id, as in config/tenants/<id>.toml")],
    customer_id: Annotated[str, typer.Option(help="the tenant's customer id")],
    message: Annotated[str, typer.Option(help="the customer's first message")],
    channel: Annotated[str, typer.Option(help="sms | chat | email | voice")] = "sms",
    case_id: Annotated[str | None, typer.Option(help="defaults to a new random id")] = None,
    phone: Annotated[str | None, typer.Option(help="E.164, like +12025550123")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    name: Annotated[str | None, typer.Option()] = None,
    tier: Annotated[str, typer.Option(help="standard | vip")] = "standard",
    category: Annotated[str | None, typer.Option()] = None,
    priority: Annotated[str | None, typer.Option(help="P1..P4; default from the tenant")] = None,
    subject: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Open a case (or find the running one with the same id)."""
    import uuid

    cfg = settings()
    raw = {
        "case_id": case_id or uuid.uuid4().hex[:12],
        "tenant": tenant,
        "customer": {
            k: v
            for k, v in {
                "id": customer_id,
                "name": name,
                "phone": phone,
                "email": email,
                "tier": tier,
            }.items()
            if v is not None
        },
        "channel": channel,
        "category": category,
        "priority": priority,
        "subject": subject,
        "message": message,
    }
    try:
        case = CaseInput.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        fail("invalid case:\n" + "\n".join(f"  - {line}" for line in problems(exc)))

    async def go() -> str:
        client = await _client(cfg)
        handle = await client.open_case(case)
        return str(handle.id)

    wf_id = run(go())
    typer.echo(f"opened {case.case_id} (workflow {wf_id})")


@case_app.command("show")
def case_show(
    case_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="the full state as JSON")] = False,
) -> None:
    """The case at a glance: status, level, owner, SLA clocks and deadlines, last messages."""
    from starters.show import render_case, render_record

    cfg = settings()

    async def go() -> Any:
        client = await _client(cfg)
        try:
            return await client.state(case_id)
        except RPCError as exc:
            if exc.status.name != "NOT_FOUND":
                raise
            # The workflow is gone (retention passed): the store still has the summary.
            summary = await client.record_summary(case_id)
            if summary is None:
                raise
            return summary

    found = run(go())
    if as_json:
        emit(found)
    elif isinstance(found, CaseView):
        typer.echo(render_case(found))
    else:
        typer.echo(render_record(found))


_SINCE_HELP = "only entries at or after this time (ISO 8601, e.g. 2026-11-25T09:00Z)"
_ALL_HELP = "every entry, oldest first, paged through the case record store"


PAGE = 500


@case_app.command("timeline")
def case_timeline(
    case_id: str,
    all_: Annotated[bool, typer.Option("--all", help=_ALL_HELP)] = False,
    since: Annotated[str | None, typer.Option(help=_SINCE_HELP)] = None,
    limit: Annotated[int, typer.Option(min=1, help="how many of the latest (without --all)")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """The audit log from the case record store: every event with its actor, reason and time."""
    for page in _pages(case_id, _since(since), limit, all_, events=True):
        _print_events(page.events, as_json)
        if not all_ and page.more_before and not as_json:
            typer.echo(f"(latest {len(page.events)} of {page.total}; --all for every event)")


@case_app.command("transcript")
def case_transcript(
    case_id: str,
    all_: Annotated[bool, typer.Option("--all", help=_ALL_HELP)] = False,
    since: Annotated[str | None, typer.Option(help=_SINCE_HELP)] = None,
    limit: Annotated[int, typer.Option(min=1, help="how many of the latest (without --all)")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per line")] = False,
) -> None:
    """Messages of the case on every channel, in order, full bodies, from the record store."""
    for page in _pages(case_id, _since(since), limit, all_):
        _print_messages(page.entries, as_json)
        if not all_ and page.more_before and not as_json:
            typer.echo(f"(latest {len(page.entries)} of {page.total}; --all for every message)")


def _pages(
    case_id: str, since: datetime | None, limit: int, all_: bool, events: bool = False
) -> Any:
    """The latest `limit` entries as one page, or with `all_` every page, oldest first."""
    store = CaseStore(settings().records_url)  # the store alone: no Temporal server needed
    read = store.timeline if events else store.transcript
    try:
        pages = (
            store.every_page(case_id, events=events, since=since, limit=PAGE)
            if all_
            else [read(case_id, since=since, limit=limit, newest=True)]
        )
        for page in pages:
            _not_found(page.total, case_id)
            yield page
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")


def _not_found(total: int, case_id: str) -> None:
    if total == 0:
        fail(f"no record of case {case_id!r} in the case record store (yet)", code=1)


def _print_events(events: list[TimelineEvent], as_json: bool) -> None:
    for event in events:
        if as_json:
            typer.echo(event.model_dump_json())
            continue
        detail = " ".join(f"{k}={v}" for k, v in event.detail.items())
        reason = f" — {event.reason}" if event.reason else ""
        typer.echo(
            f"{event.seq:>5} {event.at:%Y-%m-%d %H:%M:%S} {event.type:<28} {event.actor:<12}"
            f"{reason} {detail}".rstrip()
        )


def _print_messages(entries: list[TranscriptEntry], as_json: bool) -> None:
    for entry in entries:
        if as_json:
            typer.echo(entry.model_dump_json())
            continue
        text = "[erased]" if entry.erased else entry.text
        media = f" (+{entry.media_count} media)" if entry.media_count else ""
        typer.echo(
            f"{entry.seq:>5} {entry.at:%Y-%m-%d %H:%M:%S} [{entry.channel}] "
            f"{entry.author}/{entry.who}: {text}{media}"
        )


@case_app.command("list")
def case_list(
    tenant: Annotated[str | None, typer.Option()] = None,
    status: Annotated[
        str | None, typer.Option(help="open | awaiting_customer | resolved | closed")
    ] = None,
    priority: Annotated[str | None, typer.Option(help="P1..P4")] = None,
    breached: Annotated[
        bool | None, typer.Option("--breached/--not-breached", help="SLA breached or not")
    ] = None,
    team: Annotated[str | None, typer.Option()] = None,
    limit: Annotated[int, typer.Option()] = 50,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """List cases, filtered by the search attributes the cases keep current."""
    cfg = settings()

    async def go() -> Any:
        return await (await _client(cfg)).list_cases(
            limit=limit,
            tenant=tenant,
            status=status,
            priority=priority,
            breached=breached,
            team=team,
        )

    found = run(go())
    if as_json:
        emit(found)
        return
    typer.echo(
        f"{'CASE':<31} {'TENANT':<18} {'STATUS':<18} {'PRI':<4} {'LVL':<4} {'TEAM':<14} BREACHED"
    )
    for c in found:
        typer.echo(
            f"{c.case_id:<31} {c.tenant or '-':<18} {c.status or '-':<18} {c.priority or '-':<4} "
            f"{'L' + str(c.level) if c.level else '-':<4} {c.team or '-':<14} {'yes' if c.sla_breached else 'no'}"
        )


@case_app.command("signal")
def case_signal(
    case_id: str,
    name: Annotated[str, typer.Argument(help=f"one of: {', '.join(COMMANDS)}")],
    payload: Annotated[
        str, typer.Argument(help='one JSON object, e.g. \'{"actor": "sam"}\'')
    ] = "{}",
    wait: Annotated[
        bool, typer.Option("--wait", help="send as an update and wait for the verdict")
    ] = False,
) -> None:
    """Send a signal (or, with --wait, an update) to a case."""
    if name not in COMMANDS:
        fail(f"unknown signal {name!r}; one of: {', '.join(COMMANDS)}")
    try:
        body = json.loads(payload)
    except json.JSONDecodeError as exc:
        fail(f"payload is not JSON: {exc}")
    cfg = settings()

    async def go() -> Any:
        client = await _client(cfg)
        if wait:
            return await client.update(case_id, name, body)
        await client.signal(case_id, name, body)
        return None

    result = run(go())
    if result is None:
        typer.echo(f"sent {name} to {case_id}")
    else:
        emit(result)


@app.command()
def outbox(
    case: Annotated[str | None, typer.Option(help="only this case")] = None,
    limit: Annotated[int, typer.Option()] = 50,
) -> None:
    """What the engine delivered locally (notifications and customer messages)."""
    from activities.outbox import Outbox

    cfg = settings()
    if not cfg.outbox_path.exists():
        typer.echo("outbox is empty")
        return
    for entry in Outbox(cfg.outbox_path).list(case_id=case, limit=limit):
        typer.echo(
            f"{entry.at:%Y-%m-%d %H:%M:%S} {entry.case_id:<31} {entry.kind:<13} "
            f"{entry.channel:<6} {entry.recipient}: {entry.text}"
        )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the case record store's migrations (creates the SQLite file if needed)."""
    from records import migrate

    cfg = settings()
    try:
        migrate.upgrade(cfg.records_url)
        revision = migrate.current(cfg.records_url)
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    typer.echo(f"case record store at revision {revision} ({cfg.records_where})")


@db_app.command("rebuild")
def db_rebuild(
    since: Annotated[str | None, typer.Option(help="only workflows started since (ISO)")] = None,
) -> None:
    """Rebuild the case record store from the workflow histories: every case's messages,
    events and summary, and every RCA, written in order (idempotent: run it into a fresh,
    upgraded store, or over the current one). Bodies stored by reference (long emails) are
    not in the histories: their preview and SHA-256 are, and the count is reported."""
    from records import migrate
    from starters.histories import Rebuilt, histories, rebuild_one, workflows
    from workers.worker import connect

    cfg = settings()
    try:
        migrate.require_current(cfg.records_url)
    except (migrate.SchemaOutOfDate, StoreUnavailable) as exc:
        fail(str(exc))
    start = _since(since)
    query = 'WorkflowType = "CaseWorkflow" OR WorkflowType = "RcaWorkflow"'
    if start is not None:
        query = f'({query}) AND StartTime >= "{start.isoformat()}"'

    async def go() -> Rebuilt:
        client = await connect(cfg)
        ids = sorted({workflow_id async for workflow_id, _, _ in workflows(client, query)})
        store = CaseStore(cfg.records_url)
        tally = Rebuilt()
        try:
            with typer.progressbar(ids, label="rebuilding", file=sys.stderr) as bar:
                for workflow_id in bar:
                    rebuild_one(store, await histories(client, workflow_id), tally)
        finally:
            store.close()
        return tally

    try:
        done = run(go())
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    typer.echo(
        f"rebuilt {done.workflows} workflows from their histories: {done.batches} journal "
        f"batches, {done.messages} messages and {done.events} events written, {done.rcas} "
        f"RCA records; {done.bodies_missing} long bodies are references only (not in histories)"
    )


@db_app.command("current")
def db_current() -> None:
    """The store's schema revision, and whether it is the one this code needs."""
    from records import migrate

    cfg = settings()
    try:
        revision = migrate.current(cfg.records_url)
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    head = migrate.head()
    where = cfg.records_where
    if revision != head:
        fail(
            f"{where}: at {revision or 'no revision'}, code needs {head}: run `escalate db upgrade`",
            1,
        )
    typer.echo(f"{where}: at {revision} (current)")


@customer_app.command("erase")
def customer_erase(
    customer_id: str,
    tenant: Annotated[str, typer.Option(help="the tenant the customer belongs to")],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Redact one customer's messages in the case record store; counts and times stay."""
    cfg = settings()
    if not yes:
        typer.confirm(
            f"Erase the message bodies of customer {customer_id!r} in {tenant!r}?", abort=True
        )

    async def go() -> Any:
        return await asyncio.to_thread(
            CaseStore(cfg.records_url).erase_customer, tenant, customer_id, datetime.now(UTC)
        )

    report = run(go())
    typer.echo(
        f"erased {report.messages} messages, {report.bodies} stored bodies and "
        f"{report.events} event reasons in {len(report.cases)} cases"
    )


@app.command()
def worker() -> None:
    """Run a worker (hosts CaseWorkflow and its activities) until Ctrl-C / SIGTERM."""
    from workers.worker import run_worker

    cfg = settings()
    from records.migrate import SchemaOutOfDate

    try:
        asyncio.run(run_worker(cfg))
    except (TenantConfigError, SchemaOutOfDate, StoreUnavailable) as exc:
        fail(f"refusing to start: {exc}")
    except RuntimeError as exc:
        if "connect" in str(exc).lower():
            fail(f"cannot reach Temporal at {cfg.temporal_address}: {exc}")
        raise


def load_tenants(cfg: Settings) -> dict[str, TenantConfig]:
    """The tenant files, or a clear refusal naming the file and the problem."""
    from activities.tenants import load_directory

    try:
        return load_directory(cfg.tenants_dir)
    except TenantConfigError as exc:
        fail(str(exc))


def known_tenant(cfg: Settings, tenant: str) -> TenantConfig:
    found = load_tenants(cfg)
    if tenant not in found:
        fail(f"unknown tenant {tenant!r}; known: {', '.join(sorted(found))}")
    return found[tenant]


@app.command()
def tenants(
    as_json: Annotated[
        bool, typer.Option("--json", help="every tenant with its SMS numbers and inbound address")
    ] = False,
) -> None:
    """Validate the tenant configuration files and list them."""
    found = load_tenants(settings())
    if as_json:
        emit(
            [
                {
                    "id": tenant.id,
                    "name": tenant.name,
                    "timezone": tenant.timezone,
                    "sms_numbers": list(tenant.sms.numbers),
                    "inbound_email": tenant.email.inbound_address,
                }
                for tenant in found.values()
            ]
        )
        return
    for tenant in found.values():
        typer.echo(f"{tenant.id:<20} {tenant.name:<26} {tenant.timezone}")


@app.command("ingress")
def ingress_command(
    show_parse_url: Annotated[
        bool,
        typer.Option(
            "--show-parse-url",
            help="print the Inbound Parse URL to configure at SendGrid (it holds a secret) and exit",
        ),
    ] = False,
) -> None:
    """Run the HTTP ingress (Twilio and SendGrid webhooks) until Ctrl-C / SIGTERM."""
    from ingress.signing import parse_url, twilio_signing_key

    cfg = settings()
    if show_parse_url:
        typer.echo(parse_url(cfg, twilio_signing_key(cfg)))
        return
    from ingress.server import serve
    from records.migrate import SchemaOutOfDate
    from starters.dev import port_free

    if not port_free(cfg.ingress_host, cfg.ingress_port):
        fail(
            f"ingress port {cfg.ingress_port} on {cfg.ingress_host} is already in use "
            "(set ESCALATE_INGRESS_PORT)"
        )
    typer.echo(
        f"Ingress on http://{cfg.ingress_host}:{cfg.ingress_port}; providers call "
        f"{cfg.public_url}/webhooks/twilio/sms, /webhooks/twilio/status, "
        "/webhooks/sendgrid/inbound and /webhooks/sendgrid/events"
    )
    try:
        serve(cfg)
    except (SchemaOutOfDate, ValueError) as exc:  # a bad tenant file or provider key, too
        fail(f"refusing to start: {exc}")


simulate_app = typer.Typer(
    help="Post a customer's text or email to the running ingress, as the provider would.",
    no_args_is_help=True,
)
app.add_typer(simulate_app, name="simulate")


def _simulated(request: Any, url: str | None, cfg: Settings) -> None:
    import httpx

    from starters.simulate import post

    base = (url or cfg.public_url).rstrip("/")
    try:
        response = asyncio.run(post(request, base))
    except httpx.HTTPError as exc:
        fail(f"cannot reach the ingress at {base}: {exc}. Is it running? (`escalate dev`)")
    typer.echo(f"HTTP {response.status_code}")
    typer.echo(response.text)
    if response.status_code >= 400:
        raise typer.Exit(1)


@simulate_app.command("sms")
def simulate_sms(
    from_: Annotated[str, typer.Option("--from", help="the customer's number, E.164")],
    to: Annotated[str, typer.Option(help="the tenant number the customer texts")],
    text: Annotated[str, typer.Argument(help="what the customer writes")] = "",
    media_url: Annotated[
        list[str] | None, typer.Option("--media-url", help="an MMS attachment (repeatable)")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="the ingress's base URL; default: settings.public_url")
    ] = None,
) -> None:
    """A text to a tenant number, signed like Twilio's webhook."""
    from starters.simulate import sms_request

    cfg = settings()
    request = sms_request(cfg, from_=from_, to=to, text=text, media_urls=media_url or [])
    _simulated(request, url, cfg)


@simulate_app.command("email")
def simulate_email(
    from_: Annotated[str, typer.Option("--from", help="the customer's address")],
    to: Annotated[str, typer.Option(help="the tenant's inbound address (+token for a reply)")],
    text: Annotated[str, typer.Argument(help="the email's text")],
    subject: Annotated[str, typer.Option(help="the subject line")] = "Support request",
    url: Annotated[
        str | None, typer.Option(help="the ingress's base URL; default: settings.public_url")
    ] = None,
) -> None:
    """An email to a tenant's inbound address, posted like SendGrid's Inbound Parse."""
    from starters.simulate import email_request

    cfg = settings()
    _simulated(email_request(cfg, from_=from_, to=to, subject=subject, text=text), url, cfg)


@app.command()
def demo() -> None:
    """Seed a few realistic cases that escalate by different routes."""
    from starters.demo import seed

    cfg = settings()
    ids = run(seed(cfg))
    typer.echo(f"seeded {len(ids)} demo cases: {', '.join(ids)}")


@app.command()
def dev(
    with_demo: Annotated[bool, typer.Option("--demo/--no-demo", help="seed demo cases")] = True,
) -> None:
    """Start the Temporal dev server (Web UI, SQLite) and a worker: what `make run` runs."""
    from activities.tenants import load_directory
    from starters.dev import run_dev

    cfg = settings()
    try:
        load_directory(cfg.tenants_dir)
    except TenantConfigError as exc:
        fail(f"refusing to start: {exc}")
    raise typer.Exit(run_dev(cfg, demo=with_demo))


def main() -> None:
    """Console entry point.

    Ends with os._exit once output is flushed: the SDK's Rust runtime can crash while
    the interpreter finalises a short-lived client process (temporalio/sdk-python#300),
    which would turn a successful command into a segfault exit code.
    """
    code = 0
    try:
        app()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    main()


agents_app = typer.Typer(help="Agents of the chat console, per tenant.", no_args_is_help=True)
app.add_typer(agents_app, name="agents")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@agents_app.command("add")
def agents_add(
    tenant: Annotated[str, typer.Option(help="the tenant id the agent works for")],
    username: Annotated[str, typer.Option(help="lower-case letters, digits, . _ -")],
    name: Annotated[str, typer.Option(help="shown to colleagues in the console")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Add an agent to the record store (the password is asked for, and stored hashed)."""
    from pydantic import ValidationError

    from domain.tenant import AgentConfig
    from records import migrate
    from records.agents import AgentExists, AgentStore, hash_password
    from records.store import StoreUnavailable

    cfg = settings()
    if any(a.username == username for a in known_tenant(cfg, tenant).agents):
        fail(f"{tenant} lists {username!r} in its tenant file already")
    try:
        password_hash = hash_password(_password(password_stdin))
        AgentConfig(username=username, name=name, password_hash=password_hash)
    except (ValueError, ValidationError) as exc:
        problem = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else str(exc)
        fail(f"refused: {problem}")
    try:
        migrate.require_current(cfg.records_url)
        AgentStore(url=cfg.records_url).add(tenant, username, name, password_hash)
    except AgentExists as exc:
        fail(str(exc))
    except (StoreUnavailable, migrate.SchemaOutOfDate) as exc:
        fail(f"the record store: {exc}")
    typer.echo(f"added agent {username} ({name}) to {tenant}")


@agents_app.command("hash")
def agents_hash(
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="read the password from standard input")
    ] = False,
) -> None:
    """Print the argon2 hash of a password, for an agent listed in a tenant file."""
    from records.agents import hash_password

    try:
        typer.echo(hash_password(_password(password_stdin)))
    except ValueError as exc:
        fail(f"refused: {exc}")


@agents_app.command("list")
def agents_list(tenant: Annotated[str, typer.Option(help="the tenant id")]) -> None:
    """The tenant's agents: from its tenant file and from the record store."""
    from records import migrate
    from records.agents import AgentStore
    from records.store import StoreUnavailable

    cfg = settings()
    for agent in known_tenant(cfg, tenant).agents:
        typer.echo(f"{agent.username:<20} {agent.name:<30} tenant file")
    try:
        migrate.require_current(cfg.records_url)
        stored = AgentStore(url=cfg.records_url).listed(tenant)
    except (StoreUnavailable, migrate.SchemaOutOfDate) as exc:
        fail(f"the record store: {exc}")
    for found in stored:
        typer.echo(f"{found.username:<20} {found.name:<30} record store")


@app.command("report")
def report_command(
    tenant: Annotated[str, typer.Option(help="the tenant's id")],
    since: Annotated[datetime, typer.Option(formats=["%Y-%m-%d"], help="first day, YYYY-MM-DD")],
    until: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="last day, YYYY-MM-DD (default: today)"),
    ] = None,
    channel: Annotated[
        str | None, typer.Option(help="only cases opened on this channel (sms, email, chat…)")
    ] = None,
    csv_path: Annotated[
        Path | None, typer.Option("--csv", help="also write the figures as CSV")
    ] = None,
    json_path: Annotated[
        Path | None, typer.Option("--json", help="also write them as JSON")
    ] = None,
    html_path: Annotated[
        Path | None, typer.Option("--html", help="also write the HTML report with its charts")
    ] = None,
) -> None:
    """The operational metrics for cases opened from SINCE to UNTIL (whole days in the tenant's
    time zone), from the case record store; the definitions are in the README."""
    from activities.tenants import load_directory
    from records.metrics import report
    from reports.text import csv_text, period, table

    cfg = settings()
    try:
        tenants = load_directory(cfg.tenants_dir)
    except TenantConfigError as exc:
        fail(str(exc))
    config = tenants.get(tenant)
    if config is None:
        fail(f"unknown tenant {tenant!r}; known: {', '.join(sorted(tenants))}")
    last = (until or datetime.now(ZoneInfo(config.timezone))).date()  # the tenant's today
    if last < since.date():
        fail(f"--until {last} is before --since {since.date()}")
    start, end = period(since.date(), last, config.timezone)
    store = CaseStore(cfg.records_url)
    try:
        found = report(
            store, tenant, start, end, datetime.now(UTC), channel=channel, tz=config.timezone
        )
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    finally:
        store.close()
    typer.echo(table(found))
    if csv_path is not None:
        csv_path.write_text(csv_text(found), encoding="utf-8")
        typer.echo(f"\nwrote {csv_path}")
    if json_path is not None:
        json_path.write_text(found.model_dump_json(indent=1), encoding="utf-8")
        typer.echo(f"wrote {json_path}")
    if html_path is not None:
        from reports.html import render

        html_path.write_text(render(found, config.name), encoding="utf-8")
        typer.echo(f"wrote {html_path}")


app.add_typer(audit_app, name="audit")

rca_app = typer.Typer(help="Root-cause follow-ups of resolved cases.", no_args_is_help=True)
app.add_typer(rca_app, name="rca")


@rca_app.command("list")
def rca_list(
    case_id: str,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON object per RCA")] = False,
) -> None:
    """The case's RCAs from the case record store: owner, due date, status, outcome."""
    cfg = settings()
    store = CaseStore(cfg.records_url)
    try:
        found = store.rcas(case_id)
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    finally:
        store.close()
    if not found:
        typer.echo(f"no RCA for case {case_id}")
    for row in found:
        if as_json:
            typer.echo(row.model_dump_json())
            continue
        typer.echo(
            f"{row.rca_id}  {row.status.value}{' (was overdue)' if row.overdue else ''}  "
            f"owner {row.owner}  due {row.due_at:%Y-%m-%d %H:%M} UTC  "
            f"({', '.join(row.reasons)})"
        )
        if row.completed_at is not None:
            typer.echo(
                f"  cause {row.cause_category}: {row.corrective_action} "
                f"(action owner {row.action_owner}; done by {row.completed_by} "
                f"{row.completed_at:%Y-%m-%d %H:%M} UTC)"
            )


@rca_app.command("complete")
def rca_complete(
    rca_id: str,
    actor: Annotated[str, typer.Option(help="who completes it")],
    cause: Annotated[str, typer.Option(help="a cause category of the tenant's [rca] list")],
    action: Annotated[str, typer.Option(help="the corrective action")],
    owner: Annotated[str, typer.Option(help="who carries the corrective action out")],
) -> None:
    """Complete an RCA (the `complete` update): its verdict, or why it refused."""
    cfg = settings()
    payload = {
        "actor": actor,
        "cause_category": cause,
        "corrective_action": action,
        "action_owner": owner,
    }

    async def go() -> Any:
        client = await _client(cfg)
        return await client.client.get_workflow_handle(rca_id).execute_update("complete", payload)

    emit(run(go()))
