"""The customer's chat page: opened by a valid link only, the SMS story first, older messages
on demand, new ones live (and again after a reconnect), and what the customer writes reaching
the case once."""

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from domain.models import Author, Channel
from domain.record import TranscriptEntry
from domain.tenant import TenantDirectory
from ingress import live
from ingress.app import create_app
from ingress.chat_links import ChatLinks
from ingress.spool import Spool
from records.channels import ChannelStore
from records.store import CaseStore
from service.settings import Settings
from tests.ingress.conftest import FakeCases, running
from tests.records.test_store import T0, batch, event

CASE = "northwind-telecom-sms-0123456789ab"


@dataclass
class ChatApp:
    app: FastAPI
    http: httpx.AsyncClient
    records: CaseStore
    cases: FakeCases
    links: ChatLinks

    def url(self, case_id: str = CASE, path: str = "") -> str:
        token = self.links.token(case_id)
        return f"/chat/{case_id}{path}?t={token}"


def entry(seq: int, text: str, author: Author = Author.CUSTOMER, channel=Channel.SMS):
    return TranscriptEntry(
        seq=seq,
        at=T0 + timedelta(minutes=seq),
        author=author,
        who="cust-1" if author is Author.CUSTOMER else "dana",
        channel=channel,
        text=text,
        provider_message_id=f"SM{seq}",
    )


@pytest.fixture
async def chat_app(
    settings: Settings,
    directory: TenantDirectory,
    store_url: str,
    spool: Spool,
    monkeypatch: pytest.MonkeyPatch,
) -> AsyncIterator[ChatApp]:
    monkeypatch.setattr(live, "POLL_SECONDS", 0.02)
    records = CaseStore(store_url)
    links = ChatLinks("k" * 32, "https://ingress.example.com", timedelta(hours=1))
    cases = FakeCases()
    app = create_app(
        settings,
        tenants=directory,
        store=ChannelStore(engine=records.engine),
        cases=cases,
        spool=spool,
        records=records,
        links=links,
    )
    async with running(app) as http:
        yield ChatApp(app, http, records, cases, links)
    records.close()


async def test_the_page_opens_with_the_sms_story(chat_app: ChatApp):
    chat_app.records.write(
        batch(
            [
                entry(1, "My router keeps dropping"),
                entry(2, "Sorry! Can you restart it?", Author.AGENT),
                entry(3, "Done <b>twice</b>, still broken"),
            ],
            case_id=CASE,
        )
    )
    page = await chat_app.http.get(chat_app.url())
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert "Northwind" in html
    assert html.index("My router keeps dropping") < html.index("Can you restart it?")
    assert "&lt;b&gt;twice&lt;/b&gt;" in html and "<b>twice" not in html  # escaped
    assert "Show earlier messages" not in html
    # Opening the page tells the case the customer joined (through the spool, like a text).
    assert chat_app.cases.signals == [(CASE, "chat_joined", {})]


@pytest.mark.parametrize(
    ("token", "status", "says"),
    [
        ("tampered", 403, "not valid"),
        ("other", 403, "another conversation"),
        ("expired", 410, "expired"),
        ("", 403, "not valid"),
    ],
)
async def test_a_bad_link_gets_a_page_that_says_why(
    chat_app: ChatApp, token: str, status: int, says: str
):
    chat_app.records.write(batch([entry(1, "hi")], case_id=CASE))
    if token == "tampered":
        token = chat_app.links.token(CASE)[:-3] + "abc"
    elif token == "other":
        token = chat_app.links.token("northwind-telecom-sms-ffffffffffff")
    elif token == "expired":
        token = ChatLinks("k" * 32, "https://x", timedelta(hours=1)).token(CASE)
        chat_app.links.valid_for = timedelta(seconds=-1)
    page = await chat_app.http.get(f"/chat/{CASE}?t={token}")
    assert page.status_code == status and says in page.text
    assert "Traceback" not in page.text and "text/html" in page.headers["content-type"]


async def test_a_link_to_a_case_the_store_does_not_have_says_so(chat_app: ChatApp):
    page = await chat_app.http.get(chat_app.url())
    assert page.status_code == 404 and "could not find" in page.text


async def test_a_long_case_shows_the_recent_messages_and_pages_back(chat_app: ChatApp):
    chat_app.records.write(
        batch([entry(i, f"text number {i}") for i in range(1, 131)], case_id=CASE)
    )
    html = (await chat_app.http.get(chat_app.url())).text
    assert "text number 130" in html and "text number 81<" in html
    assert "text number 80<" not in html and "Show earlier messages" in html
    older = await chat_app.http.get(chat_app.url(path="/messages") + "&before=81")
    body = older.json()
    assert [m["seq"] for m in body["messages"]] == list(range(31, 81)) and body["more_before"]


async def read_events(
    response: httpx.Response | AsyncIterator[str], count: int, kind: str = "message"
) -> list[dict]:
    """The next `count` events named `kind` (the stream also says whether the case ended);
    pass `response.aiter_lines()` to read one stream more than once."""
    found: list[dict] = []
    name = ""
    lines = response.aiter_lines() if isinstance(response, httpx.Response) else response
    async for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: ") and name == kind:
            found.append(json.loads(line.removeprefix("data: ")))
            if len(found) == count:
                break
    return found


@contextlib.asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """The app on a real socket (httpx's ASGI transport buffers whole responses: no SSE)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers a flag, not an event)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def test_new_messages_stream_live_and_a_reconnect_misses_nothing(chat_app: ChatApp):
    chat_app.records.write(batch([entry(1, "first")], case_id=CASE))
    async with served(chat_app.app) as base, httpx.AsyncClient(base_url=base) as http:
        url = chat_app.url(path="/events") + "&after=1"
        async with http.stream("GET", url) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            chat_app.records.write(
                batch([entry(1, "first"), entry(2, "an answer", Author.AGENT)], case_id=CASE)
            )
            [event] = await asyncio.wait_for(read_events(response, 1), 5)
        assert event["seq"] == 2 and event["who"] == "dana" and not event["mine"]
        # Offline meanwhile: two more arrive; the browser comes back with Last-Event-ID 2.
        chat_app.records.write(batch([entry(i, f"m{i}") for i in (1, 2, 3, 4)], case_id=CASE))
        async with http.stream("GET", url, headers={"Last-Event-ID": "2"}) as response:
            events = await asyncio.wait_for(read_events(response, 2), 5)
    assert [e["seq"] for e in events] == [3, 4]


async def test_what_the_customer_writes_reaches_the_case_once(chat_app: ChatApp):
    chat_app.records.write(batch([entry(1, "first")], case_id=CASE))
    form = {"text": "Here is the photo you asked for", "client_id": "3f1c2a9e-0001"}
    for _ in range(2):  # a double click: the same client id twice
        sent = await chat_app.http.post(chat_app.url(path="/messages"), data=form)
        assert sent.status_code == 202 and sent.json()["id"] == "chat-3f1c2a9e-0001"
    # The case keeps one (a real case drops a provider id it has, like this fake).
    kept = chat_app.cases.messages[CASE]
    assert [(m.text, m.channel) for m in kept] == [
        ("Here is the photo you asked for", Channel.CHAT)
    ]
    assert {c.message.provider_message_id for c in chat_app.cases.calls} == {"chat-3f1c2a9e-0001"}
    empty = await chat_app.http.post(chat_app.url(path="/messages"), data={"client_id": "x" * 10})
    assert empty.status_code == 400 and "write a message" in empty.json()["error"]
    forged = await chat_app.http.post(f"/chat/{CASE}/messages?t=nope", data=form)
    assert forged.status_code == 403


async def test_the_page_hears_when_its_case_ends(chat_app: ChatApp):
    chat_app.records.write(batch([entry(1, "first")], case_id=CASE))
    async with (
        served(chat_app.app) as base,
        httpx.AsyncClient(base_url=base) as http,
        http.stream("GET", chat_app.url(path="/events")) as response,
    ):
        lines = response.aiter_lines()
        [open_case] = await asyncio.wait_for(read_events(lines, 1, "case"), 5)
        assert open_case == {"closed": False, "rate": False}
        await asyncio.sleep(0.2)  # the stream waits on the watch now
        closing = [event(1, "closed")]
        ended = batch([entry(1, "first")], closing, case_id=CASE, status="closed", closed_at=T0)
        chat_app.records.write(ended)
        [closed] = await asyncio.wait_for(read_events(lines, 1, "case"), 5)
    assert closed == {"closed": True, "rate": False}
