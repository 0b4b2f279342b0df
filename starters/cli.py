"""The `escalate` command line: cases, the outbox, the worker and the dev launcher."""

import asyncio
import json
import os
import sys
from collections.abc import Awaitable
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from temporalio.client import WorkflowUpdateFailedError
from temporalio.service import RPCError

from domain.commands import COMMANDS
from domain.models import CaseInput
from domain.problems import problems
from domain.tenant import TenantConfigError
from service import logs
from service.settings import Settings, SettingsError, load_settings

T = TypeVar("T")

app = typer.Typer(help="Escalation engine for outsourced customer support.", no_args_is_help=True)
case_app = typer.Typer(help="Open, inspect and steer cases.", no_args_is_help=True)
app.add_typer(case_app, name="case")


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings() -> Settings:
    try:
        loaded = load_settings()
    except SettingsError as exc:
        fail(str(exc))
    logs.configure(loaded.log_format, loaded.log_level)
    return loaded


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
def case_show(case_id: str) -> None:
    """The case's state: status, level, team, SLA clocks, escalations."""
    cfg = settings()

    async def go() -> Any:
        return await (await _client(cfg)).state(case_id)

    emit(run(go()))


@case_app.command("timeline")
def case_timeline(case_id: str) -> None:
    """The audit log: every event with its actor, reason and time."""
    cfg = settings()

    async def go() -> Any:
        return await (await _client(cfg)).timeline(case_id)

    for event in run(go()):
        detail = " ".join(f"{k}={v}" for k, v in event.detail.items())
        reason = f" — {event.reason}" if event.reason else ""
        typer.echo(
            f"{event.at:%Y-%m-%d %H:%M:%S} {event.type:<28} {event.actor:<12}{reason} {detail}".rstrip()
        )


@case_app.command("transcript")
def case_transcript(case_id: str) -> None:
    """Every message of the case, all channels, in order."""
    cfg = settings()

    async def go() -> Any:
        return await (await _client(cfg)).transcript(case_id)

    for entry in run(go()):
        typer.echo(
            f"{entry.seq:>4} {entry.at:%Y-%m-%d %H:%M:%S} [{entry.channel}] {entry.author}/{entry.who}: {entry.text}"
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
        f"{'CASE':<24} {'TENANT':<18} {'STATUS':<18} {'PRI':<4} {'LVL':<4} {'TEAM':<14} BREACHED"
    )
    for c in found:
        typer.echo(
            f"{c.case_id:<24} {c.tenant or '-':<18} {c.status or '-':<18} {c.priority or '-':<4} "
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
            f"{entry.at:%Y-%m-%d %H:%M:%S} {entry.case_id:<22} {entry.kind:<13} "
            f"{entry.channel:<6} {entry.recipient}: {entry.text}"
        )


@app.command()
def worker() -> None:
    """Run a worker (hosts CaseWorkflow and its activities) until Ctrl-C / SIGTERM."""
    from workers.worker import run_worker

    cfg = settings()
    try:
        asyncio.run(run_worker(cfg))
    except TenantConfigError as exc:
        fail(f"refusing to start: {exc}")
    except RuntimeError as exc:
        if "connect" in str(exc).lower():
            fail(f"cannot reach Temporal at {cfg.temporal_address}: {exc}")
        raise


@app.command()
def tenants() -> None:
    """Validate the tenant configuration files and list them."""
    from activities.tenants import load_directory

    cfg = settings()
    try:
        found = load_directory(cfg.tenants_dir)
    except TenantConfigError as exc:
        fail(str(exc))
    for tenant in found.values():
        typer.echo(f"{tenant.id:<20} {tenant.name:<26} {tenant.timezone}")


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
