"""`escalate audit`: a case's record as an auditor reads it, files it, and checks it.

`timeline` and `export` read the case record store; `verify` checks the store against the
workflow histories and `replay` replays those histories against today's code.
"""

import getpass
import sys
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import structlog
import typer

from records.store import CaseStore, StoreUnavailable
from starters.common import _since, fail, settings

log = structlog.get_logger(__name__)

audit_app = typer.Typer(
    help="What auditors need: a case's full record, exports, and checks against the histories.",
    no_args_is_help=True,
)

# The workflow types a deploy can break (what `replay --all` replays).
REPLAYED = ("CaseWorkflow", "RcaWorkflow", "BreachDigestWorkflow")

_REVEAL_HELP = "show message texts (recorded in the store: who, when, what)"
_BY_HELP = "who asks to reveal (default: the login name)"


class Format(StrEnum):
    JSON = "json"
    CSV = "csv"


def _revealed(store: "CaseStore", by: str | None, command: str, scope: str) -> None:
    from records.audit import note_reveal

    login = getpass.getuser()
    actor = f"{by} (login {login})" if by and by != login else login
    note_reveal(store, actor, command, scope, datetime.now(UTC))
    log.warning("message texts revealed", actor=actor, command=command, scope=scope)


@audit_app.command("timeline")
def audit_timeline(
    case_id: str,
    reveal: Annotated[bool, typer.Option("--reveal", help=_REVEAL_HELP)] = False,
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
) -> None:
    """Every message, escalation, assignment, acknowledgement, timer, notice, RCA and
    rating of the case, with its actor and time, across all its runs (texts masked)."""
    from records.audit import record
    from records.store import CaseStore
    from reports.audit import timeline

    cfg = settings()
    store = CaseStore(cfg.records_url)
    try:
        found = record(store, case_id)
        if found.summary is None and not found.events:
            fail(f"no case {case_id!r} in the case record store")
        if reveal:
            _revealed(store, by, "timeline", case_id)
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    finally:
        store.close()
    if found.summary is not None:
        s = found.summary
        typer.echo(
            f"case {case_id} ({s.tenant}): {s.status}, {s.priority}, L{s.level}, team {s.team}, "
            f"{s.messages} messages, {s.events} events"
        )
    for line in timeline(found, reveal):
        typer.echo(line)


@audit_app.command("export")
def audit_export(
    case_id: Annotated[str | None, typer.Argument(help="one case (or --tenant)")] = None,
    tenant: Annotated[str | None, typer.Option(help="every case of this tenant")] = None,
    since: Annotated[
        str | None, typer.Option(help="with --tenant: cases opened since (ISO)")
    ] = None,
    fmt: Annotated[Format, typer.Option("--format", help="json or csv")] = Format.JSON,
    out: Annotated[Path | None, typer.Option(help="write here (default: standard output)")] = None,
    reveal: Annotated[bool, typer.Option("--reveal", help=_REVEAL_HELP)] = False,
    by: Annotated[str | None, typer.Option(help=_BY_HELP)] = None,
) -> None:
    """The complete record an auditor files: summary, messages, events and RCAs."""
    from records.audit import FullRecord, case_ids, record
    from records.store import CaseStore
    from reports.audit import csv_chunks, json_chunks

    if (case_id is None) == (tenant is None):
        fail("give one case id, or --tenant (with --since)")
    start = _since(since)
    cfg = settings()
    store = CaseStore(cfg.records_url)
    written = 0

    def records(ids: list[str]) -> Iterator[FullRecord]:
        """One case read at a time (a tenant's export never sits in memory whole)."""
        nonlocal written
        for one in ids:
            found = record(store, one)
            written += 1
            yield found

    try:
        ids = [case_id] if case_id is not None else case_ids(store, str(tenant), start)
        if case_id is not None:
            first = record(store, case_id)
            if first.summary is None and not first.events:
                fail(f"no case {case_id!r} in the case record store")
        if reveal:
            scope = case_id or f"tenant {tenant} since {since or 'the start'}"
            _revealed(store, by, "export", scope)
        chunks = (json_chunks if fmt is Format.JSON else csv_chunks)(records(ids), reveal)
        if out is None:
            for chunk in chunks:
                typer.echo(chunk, nl=False)
        else:
            with out.open("w", encoding="utf-8") as target:
                target.writelines(chunks)
            typer.echo(f"wrote {written} case(s) to {out}", err=True)
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    finally:
        store.close()


def _case_ids_for(case_id: str | None, tenant: str | None, since: str | None) -> list[str]:
    from records.audit import case_ids
    from records.store import CaseStore

    if (case_id is None) == (tenant is None):
        fail("give one case id, or --tenant (with --since)")
    if case_id is not None:
        return [case_id]
    cfg = settings()
    store = CaseStore(cfg.records_url)
    try:
        return case_ids(store, str(tenant), _since(since))
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    finally:
        store.close()


@audit_app.command("verify")
def audit_verify(
    case_id: Annotated[str | None, typer.Argument(help="one case (or --tenant)")] = None,
    tenant: Annotated[str | None, typer.Option(help="every case of this tenant")] = None,
    since: Annotated[
        str | None, typer.Option(help="with --tenant: cases opened since (ISO)")
    ] = None,
) -> None:
    """Check the store's record against the workflow histories: every message and event
    present and the same, every stored body matching the SHA-256 the history holds, the
    summary row as the journal last wrote it. Exits 1 on any difference, naming the case and
    the sequence number. With --tenant, the cases come from the store and from Temporal's
    visibility both (a case deleted from the store is still checked)."""
    import asyncio

    from records.audit import record
    from records.store import CaseStore
    from starters.histories import histories, in_flight, journal, verify_case, workflows

    ids = set(_case_ids_for(case_id, tenant, since))
    cfg = settings()

    async def go() -> tuple[int, int, list[str]]:
        from workers.worker import connect

        client = await connect(cfg)
        if tenant is not None:
            start = _since(since)
            query = f'WorkflowType = "CaseWorkflow" AND Tenant = "{tenant}"'
            if start is not None:
                query += f' AND StartTime >= "{start.isoformat()}"'
            ids.update({wid.removeprefix("case-") async for wid, _, _ in workflows(client, query)})
        store = CaseStore(cfg.records_url)
        problems: list[str] = []
        checked = missing_bodies = 0
        problems_note: list[str] = []
        try:
            with typer.progressbar(sorted(ids), label="verifying", file=sys.stderr) as bar:
                for one in bar:
                    found = record(store, one)  # first: the journal commits before its history
                    runs = await histories(client, f"case-{one}")
                    if not runs:
                        problems.append(f"case {one}: no workflow history (deleted, or retention)")
                        continue
                    batches = [b for run in runs for b in journal(run)]
                    pending = [b for run in runs for b in in_flight(run)]
                    verdict = verify_case(found, batches, pending)
                    problems += [str(d) for d in verdict.differences]
                    missing_bodies += verdict.bodies_missing
                    if verdict.expired:
                        problems_note.append(
                            f"case {one}: {verdict.expired} entries predate its oldest history "
                            "left (retention): not compared"
                        )
                    checked += 1
        finally:
            store.close()
        for note in problems_note:
            typer.echo(note)
        return checked, missing_bodies, problems

    try:
        checked, missing_bodies, problems = asyncio.run(go())
    except StoreUnavailable as exc:
        fail(f"case record store unavailable: {exc}")
    for line in problems:
        typer.echo(line)
    if missing_bodies:
        typer.echo(
            f"{missing_bodies} long bodies are not in the store (a store rebuilt from the "
            "histories holds their reference and SHA-256 only)"
        )
    if problems:
        fail(f"{len(problems)} difference(s) between the store and the histories", code=1)
    typer.echo(f"{checked} case(s) verified: the store holds what the histories say, unaltered")


@audit_app.command("replay")
def audit_replay(
    case_id: Annotated[str | None, typer.Argument(help="one case (or --all)")] = None,
    all_: Annotated[bool, typer.Option("--all", help="every workflow (with --since)")] = False,
    since: Annotated[str | None, typer.Option(help="with --all: started since (ISO)")] = None,
    history: Annotated[
        list[Path] | None, typer.Option(help="a history file (JSON, as the Web UI downloads)")
    ] = None,
) -> None:
    """Replay histories against today's workflow code (run it before every deploy): any
    non-determinism is reported with the workflow and the event; exits 1 on one."""
    import asyncio

    from temporalio.client import WorkflowHistory

    from starters.histories import histories, replay_one, replayer, workflows

    files = list(history or [])
    if sum([case_id is not None, all_, bool(files)]) != 1:
        fail("give one case id, or --all (with --since), or --history FILE")
    cfg = settings()

    async def sources() -> AsyncIterator[WorkflowHistory]:
        """Histories one at a time: fetched, replayed and dropped (a big namespace never
        sits in memory)."""
        if files:
            for f in files:
                yield WorkflowHistory.from_json(f.stem, f.read_text(encoding="utf-8"))
            return
        from workers.worker import connect

        client = await connect(cfg)
        if case_id is not None:
            for one in await histories(client, f"case-{case_id}"):
                yield one
            return
        start = _since(since)
        query = " OR ".join(f'WorkflowType = "{t}"' for t in REPLAYED)
        if start is not None:
            query = f'({query}) AND StartTime >= "{start.isoformat()}"'
        async for workflow_id, run_id, _ in workflows(client, query):
            yield await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()

    async def go() -> tuple[int, list[str]]:
        replay = replayer()
        failures: list[str] = []
        count = 0
        async for one in sources():
            count += 1
            if count % 100 == 0:
                typer.echo(f"replayed {count}…", err=True)
            failed = await replay_one(replay, one)
            if failed is not None:
                failures.append(str(failed))
        return count, failures

    count, failures = asyncio.run(go())
    for line in failures:
        typer.echo(line)
    if failures:
        fail(f"{len(failures)} of {count} histories do not replay on this code", code=1)
    typer.echo(f"{count} histories replay on this code")
