"""Server-Sent Events read from the case record store, for the chat page and the console.

A stream polls the store (never the workflow) every `POLL_SECONDS`: new transcript entries
go out as `message` events with their seq as the event id, so a browser that reconnects
sends `Last-Event-ID` and misses nothing; a `watch` callable (the case summary, the list of
cases) goes out as one named event whenever what it returns changes.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from fastapi import Request
from fastapi.responses import StreamingResponse

from domain.record import TranscriptEntry
from records.store import CaseStore

POLL_SECONDS = 0.5
KEEPALIVE_SECONDS = 15.0
PAGE = 50  # messages per read, and per page shown

Watch = Callable[[], Awaitable[Any]]


def resume_from(request: Request, after: int) -> int:
    """Where a stream starts: the browser's Last-Event-ID on a reconnect, else `after`."""
    resume = request.headers.get("last-event-id", "")
    return int(resume) if resume.isdigit() else after


def sse(stream: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


async def updates(
    request: Request,
    *,
    records: CaseStore | None = None,
    case_id: str | None = None,
    after: int = 0,
    shown: Callable[[TranscriptEntry], dict[str, Any]] | None = None,
    watch: dict[str, Watch] | None = None,
    poll: float | None = None,
) -> AsyncIterator[str]:
    """New messages of `case_id` after seq `after`, and each watched value when it changes."""
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    sent: dict[str, str] = {}
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        more = False
        if records is not None and case_id is not None and shown is not None:
            page = await asyncio.to_thread(records.transcript, case_id, after=after, limit=PAGE)
            for entry in page.entries:
                after = entry.seq
                quiet_since = loop.time()
                yield event("message", shown(entry), entry.seq)
            more = page.more_after
        for name, read in (watch or {}).items():
            value = json.dumps(await read(), default=str, sort_keys=True)
            if sent.get(name) != value:
                sent[name] = value
                quiet_since = loop.time()
                yield f"event: {name}\ndata: {value}\n\n"
        if loop.time() - quiet_since > KEEPALIVE_SECONDS:
            quiet_since = loop.time()
            yield ": keep-alive\n\n"
        if not more:
            await asyncio.sleep(poll or POLL_SECONDS)
