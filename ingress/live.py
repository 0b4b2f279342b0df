"""Server-Sent Events read from the case record store, for the chat page and the console.

New transcript entries go out as `message` events with their seq as the event id, so a
browser that reconnects sends `Last-Event-ID` and misses nothing; a `watch` callable (the
case summary, the list of cases) goes out as one named event whenever what it returns
changes. The store is read, never the workflow.

A case's streams do not poll the store each: one `StoreWatch` per process reads the
version (messages + events written) of every case an open page follows, in one query every
`POLL_SECONDS`, and wakes the streams of the cases that changed, which then read what is
new. So a page costs a read when its case changes, not twice a second, and the poll can
be short. Streams without a case (the console's list) poll at their own pace.
"""

import asyncio
import json
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import structlog
from fastapi import Request
from fastapi.responses import JSONResponse, StreamingResponse

from domain.record import TranscriptEntry
from records.store import CaseStore, StoreUnavailable

log = structlog.get_logger(__name__)

POLL_SECONDS = 0.1  # how often the watch reads the versions of the followed cases
LIST_POLL_SECONDS = 1.0  # streams with no case of their own
KEEPALIVE_SECONDS = 15.0
FORGET_AFTER_SECONDS = 60.0  # a case nobody waits on this long is dropped from the watch
PAGE = 50  # messages per read, and per page shown

Watch = Callable[[], Awaitable[Any]]


async def older(
    records: CaseStore, case_id: str, before: int, shown: Callable[[TranscriptEntry], Any]
) -> JSONResponse:
    """The page of messages before seq `before`, for a page scrolling back."""
    page = await asyncio.to_thread(
        records.transcript, case_id, before=before, limit=PAGE, newest=True
    )
    return JSONResponse(
        {"messages": [shown(e) for e in page.entries], "more_before": page.more_before}
    )


def resume_from(request: Request, after: int) -> int:
    """Where a stream starts: the browser's Last-Event-ID on a reconnect, else `after`."""
    resume = request.headers.get("last-event-id", "")
    if resume.isascii() and resume.isdigit() and len(resume) <= 18:
        return int(resume)
    return after


def sse(stream: AsyncIterator[str]) -> StreamingResponse:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


def event(name: str, data: Any, event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {json.dumps(data, default=str)}\n\n"


class StoreWatch:
    """One poller per process for the cases open pages follow; see the module's docstring."""

    def __init__(self, records: CaseStore) -> None:
        self.records = records
        self._generation: dict[str, int] = defaultdict(int)
        self._version: dict[str, tuple[int, int] | None] = {}
        self._wakers: dict[str, asyncio.Event] = {}
        self._waiting: dict[str, int] = defaultdict(int)
        self._last_wait: dict[str, float] = {}
        self._poller: asyncio.Task[None] | None = None
        self.reads = 0  # version reads so far (one per poll, whatever the number of pages)

    def generation(self, case_id: str) -> int:
        """Take this before reading the store; `wait` returns once the case changed after."""
        return self._generation.get(case_id, 0)

    async def wait(self, case_id: str, seen: int, timeout: float) -> bool:
        """Until the case changes after generation `seen` (True), or `timeout` (False)."""
        if self._generation.get(case_id, 0) > seen:
            return True
        waker = self._wakers.setdefault(case_id, asyncio.Event())
        self._waiting[case_id] += 1
        self._last_wait[case_id] = time.monotonic()
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="store-watch")
        try:
            async with asyncio.timeout(timeout):
                await waker.wait()
            return True
        except TimeoutError:
            return False
        finally:
            self._waiting[case_id] -= 1
            if not self._waiting[case_id]:
                del self._waiting[case_id]

    async def _poll(self) -> None:
        failing_since: float | None = None
        while self._waiting:
            await asyncio.sleep(POLL_SECONDS)
            self._forget_idle()
            followed = list(self._waiting)
            if not followed:
                break
            try:
                versions = await asyncio.to_thread(self.records.versions, followed)
            except Exception as exc:  # never let the watch die: every open page stalls
                if failing_since is None:
                    failing_since = time.monotonic()
                    unavailable = isinstance(exc, StoreUnavailable)
                    log.warning(
                        "chat pages cannot read the store" if unavailable else "store watch",
                        error=f"{type(exc).__name__}: {exc}",
                    )
                await asyncio.sleep(max(1.0, POLL_SECONDS))
                continue
            if failing_since is not None:
                log.info("chat pages read the store again", after=time.monotonic() - failing_since)
                failing_since = None
            self.reads += 1
            for case_id in followed:
                version = versions.get(case_id)
                # A case seen for the first time counts as changed: a page that read the
                # store before the watch's first look reads once more, and misses nothing.
                if case_id in self._version and self._version[case_id] == version:
                    continue
                self._version[case_id] = version
                self._generation[case_id] += 1
                waker = self._wakers.pop(case_id, None)
                if waker is not None:
                    waker.set()

    def _forget_idle(self) -> None:
        horizon = time.monotonic() - FORGET_AFTER_SECONDS
        for case_id, at in list(self._last_wait.items()):
            if at < horizon and case_id not in self._waiting:
                for table in (self._last_wait, self._version, self._generation, self._wakers):
                    table.pop(case_id, None)


async def updates(
    request: Request,
    *,
    records: CaseStore | None = None,
    store_watch: StoreWatch | None = None,
    case_id: str | None = None,
    after: int = 0,
    shown: Callable[[TranscriptEntry], dict[str, Any]] | None = None,
    watch: dict[str, Watch] | None = None,
    poll: float | None = None,
    lasting: float | None = None,
) -> AsyncIterator[str]:
    """New messages of `case_id` after seq `after`, and each watched value when it changes.

    With `store_watch` and a case, the stream sleeps until the case changes (or a keep-alive
    is due); otherwise it reads every `poll` seconds. With `lasting`, the stream ends after
    that many seconds: the browser reconnects by itself, and the request is checked again."""
    loop = asyncio.get_running_loop()
    quiet_since = loop.time()
    ends = loop.time() + lasting if lasting is not None else None
    sent: dict[str, str] = {}
    yield "retry: 2000\n\n"
    while not await request.is_disconnected():
        if ends is not None and loop.time() >= ends:
            return
        seen = store_watch.generation(case_id) if store_watch and case_id else 0
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
        if more:
            continue
        pause = KEEPALIVE_SECONDS - (loop.time() - quiet_since)
        if ends is not None:
            pause = min(pause, ends - loop.time())
        if store_watch is not None and case_id is not None:
            await store_watch.wait(case_id, seen, max(pause, 0.05))
        else:
            await asyncio.sleep(max(0.0, min(poll or LIST_POLL_SECONDS, pause)))
