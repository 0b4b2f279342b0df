"""The agent console: signed-in agents only, their own tenant's cases, CSRF on every form."""

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from domain.case import CaseState
from domain.models import Author, CaseInput, Channel, Customer
from domain.record import JournalBatch, TranscriptEntry
from domain.tenant import TenantDirectory, resolve
from ingress import live
from ingress.app import create_app
from ingress.chat_links import ChatLinks
from ingress.console import LOGIN_CSRF, SESSION
from ingress.spool import Spool
from ingress.throttle import SignInThrottle
from records.agents import AgentStore, hash_password
from records.channels import ChannelStore
from records.schema import agents as agents_table
from records.store import CaseStore
from service.settings import Settings
from tests.ingress.conftest import FakeCases
from tests.ingress.test_chat_page import entry, served
from tests.records.test_store import T0, batch


@dataclass
class Console:
    http: httpx.AsyncClient
    records: CaseStore
    cases: FakeCases
    app: FastAPI
    directory: TenantDirectory

    async def csrf(self, path: str = "/console") -> str:
        page = await self.http.get(path)
        found = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert found is not None, page.text
        return found.group(1)

    def live_case(self, case_id: str, tenant: str = "northwind-telecom") -> CaseState:
        """A case in the store (SMS story, then chat) that takes updates through the fake."""
        policy = resolve(self.directory.tenants[tenant], range(2025, 2029))
        state, _ = CaseState.open(
            CaseInput(
                case_id=case_id,
                tenant=tenant,
                customer=Customer(id="cust-1", phone="+12025550123"),
                channel=Channel.SMS,
                message="My router blinks red",
                message_id="SM1",
            ),
            policy,
            "run-origin-1",
            T0,
        )
        self.cases.states[case_id] = state
        story = [
            entry(1, "My router blinks red"),
            entry(2, "Try restarting it", Author.AGENT),
            entry(3, "Still red, here is a photo", channel=Channel.CHAT),
            entry(4, "Router lights explained: red means no signal", Author.BOT, Channel.CHAT),
        ]
        self.records.write(chat_case(case_id, tenant, "", messages=story))
        return state

    async def sign_in(self, tenant: str, username: str, password: str) -> httpx.Response:
        form = await self.http.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert csrf is not None
        data = {"tenant": tenant, "username": username, "password": password}
        return await self.http.post("/console/login", data=data | {"csrf": csrf.group(1)})


@pytest.fixture
async def console(
    settings: Settings, directory: TenantDirectory, store_url: str, spool: Spool
) -> AsyncIterator[Console]:
    records = CaseStore(store_url)
    agents = AgentStore(engine=records.engine)
    agents.add("northwind-telecom", "sam", "Sam Ortiz", hash_password("sam password"))
    agents.add("harbour-retail", "kim", "Kim Lee", hash_password("kim password"))
    cases = FakeCases()
    app = create_app(
        settings,
        tenants=directory,
        store=ChannelStore(engine=records.engine),
        cases=cases,
        spool=spool,
        records=records,
        links=ChatLinks("k" * 32, settings.public_url, timedelta(hours=1)),
    )
    # https, as the public URL: the session cookie is Secure.
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="https://ingress.example.com") as http,
    ):
        yield Console(http, records, cases, app, directory)
    records.close()


def chat_case(
    case_id: str,
    tenant: str,
    text: str,
    chat_state: str | None = "joined",
    messages: list[TranscriptEntry] | None = None,
    **summary: object,
) -> JournalBatch:
    entries = messages or [entry(1, text, channel=Channel.CHAT)]
    written = batch(entries, case_id=case_id, **summary)
    channel = Channel.CHAT if chat_state == "joined" else Channel.SMS
    return written.model_copy(
        update={
            "summary": written.summary.model_copy(
                update={"tenant": tenant, "channel": channel, "chat_state": chat_state}
            )
        }
    )


async def test_an_agent_signs_in_sees_only_their_tenants_chats_and_signs_out(console: Console):
    console.records.write(chat_case("nw-chat-1", "northwind-telecom", "photo attached", level=2))
    console.records.write(chat_case("hb-chat-1", "harbour-retail", "harbour's secret"))
    console.records.write(batch([entry(1, "just a text")], case_id="nw-sms-1"))  # on SMS
    console.records.write(chat_case("nw-wait-1", "northwind-telecom", "hello?", "waiting"))

    assert (await console.http.get("/console")).headers["location"] == "/console/login"
    signed = await console.sign_in("northwind-telecom", "sam", "sam password")
    assert signed.status_code == 303 and signed.headers["location"] == "/console"
    cookie = signed.cookies.get(SESSION)
    assert cookie and "sam password" not in cookie
    set_cookie = signed.headers.get_list("set-cookie")
    assert any("HttpOnly" in c and "Secure" in c and "SameSite=strict" in c for c in set_cookie)

    page = await console.http.get("/console")
    assert page.status_code == 200 and "Sam Ortiz" in page.text
    assert "nw-chat-1" in page.text and "photo attached" in page.text and "L2" in page.text
    assert "hb-chat-1" not in page.text and "harbour" not in page.text
    assert "nw-sms-1" not in page.text  # never offered the chat
    assert "nw-wait-1" in page.text and "waiting for the customer" in page.text

    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf is not None
    refused = await console.http.post("/console/logout", data={"csrf": "forged"})
    assert refused.status_code == 403
    out = await console.http.post("/console/logout", data={"csrf": csrf.group(1)})
    assert out.status_code == 303
    assert (await console.http.get("/console")).headers["location"] == "/console/login"


@pytest.mark.parametrize(
    ("tenant", "username", "password"),
    [
        ("northwind-telecom", "sam", "wrong password"),
        ("northwind-telecom", "nobody", "sam password"),
        ("harbour-retail", "sam", "sam password"),  # an agent of another tenant
        ("no-such-tenant", "sam", "sam password"),
    ],
)
async def test_a_wrong_tenant_username_or_password_gets_one_answer(
    console: Console, tenant: str, username: str, password: str
):
    refused = await console.sign_in(tenant, username, password)
    assert refused.status_code == 401
    assert "Wrong tenant, username or password." in refused.text
    assert SESSION not in refused.cookies
    assert (await console.http.get("/console")).status_code == 303


async def test_signing_in_without_the_forms_token_is_refused(console: Console):
    await console.http.get("/console/login")
    data = {"tenant": "northwind-telecom", "username": "sam", "password": "sam password"}
    forged = await console.http.post("/console/login", data=data | {"csrf": "guessed"})
    assert forged.status_code == 403 and "form expired" in forged.text
    console.http.cookies.delete(LOGIN_CSRF)
    missing = await console.http.post("/console/login", data=data | {"csrf": ""})
    assert missing.status_code == 403


async def test_a_tampered_session_cookie_is_signed_out(console: Console):
    await console.sign_in("northwind-telecom", "sam", "sam password")
    value = console.http.cookies.get(SESSION)
    assert value is not None
    assert (await console.http.get("/console")).status_code == 200
    console.http.cookies.delete(SESSION, domain="ingress.example.com", path="/console")
    tampered = value[:-2] + ("yy" if value.endswith("xx") else "xx")
    console.http.cookies.set(SESSION, tampered, domain="ingress.example.com", path="/console")
    assert (await console.http.get("/console")).headers["location"] == "/console/login"


async def test_the_case_view_shows_the_story_across_channels_to_its_own_tenant_only(
    console: Console,
):
    console.live_case("nw-case-1")
    console.records.write(chat_case("hb-case-1", "harbour-retail", "harbour's own"))
    assert (await console.http.get("/console/cases/nw-case-1")).status_code == 303  # signed out
    await console.sign_in("northwind-telecom", "sam", "sam password")
    page = await console.http.get("/console/cases/nw-case-1")
    assert page.status_code == 200
    text = page.text
    assert text.index("My router blinks red") < text.index("Try restarting it")
    assert text.index("Try restarting it") < text.index("Still red, here is a photo")
    assert "Customer · sms" in text and "dana · sms" in text and "Customer · chat" in text
    assert "in chat" in text  # the chat state in the side panel
    assert 'class="mine bot"' in text and "Bot · chat" in text  # the FAQ bot's part
    other = await console.http.get("/console/cases/hb-case-1")
    assert other.status_code == 404 and "harbour" not in other.text
    assert (await console.http.get("/console/cases/hb-case-1/messages")).status_code == 404
    assert (await console.http.get("/console/cases/nope/events")).status_code == 404


async def test_a_reply_reaches_the_case_once_however_often_it_is_sent(console: Console):
    state = console.live_case("nw-case-1")
    await console.sign_in("northwind-telecom", "sam", "sam password")
    csrf = await console.csrf("/console/cases/nw-case-1")
    form = {"text": "A technician is on the way", "client_id": "a1b2c3d4-0001", "csrf": csrf}
    for _ in range(2):  # a double click
        sent = await console.http.post("/console/cases/nw-case-1/reply", data=form)
        assert sent.status_code == 200 and sent.json()["message"] == "Sent."
    replies = [m for m in state.record.recent_messages if m.author is Author.AGENT]
    assert [(m.who, m.text) for m in replies] == [("sam", "A technician is on the way")]
    assert replies[0].provider_message_id == "console-a1b2c3d4-0001"
    forged = await console.http.post(
        "/console/cases/nw-case-1/reply", data=form | {"csrf": "forged", "client_id": "x" * 12}
    )
    assert forged.status_code == 403
    empty = await console.http.post("/console/cases/nw-case-1/reply", data=form | {"text": " "})
    assert empty.status_code == 400
    assert len(console.cases.acts) == 2


async def test_each_action_is_an_update_and_a_refusal_says_why(console: Console):
    state = console.live_case("nw-case-1")
    await console.sign_in("northwind-telecom", "sam", "sam password")
    csrf = await console.csrf("/console/cases/nw-case-1")

    async def act(action: str, reason: str = "", action_id: str | None = None) -> httpx.Response:
        data = {"csrf": csrf, "reason": reason, "action_id": action_id or uuid.uuid4().hex}
        return await console.http.post(f"/console/cases/nw-case-1/actions/{action}", data=data)

    escalated = await act("escalate", "customer is a hospital", "press-0001")
    assert escalated.status_code == 200 and escalated.json()["level"] == "L2"
    again = await act("escalate", "customer is a hospital", "press-0001")  # no answer seen
    assert again.status_code == 200 and again.json()["level"] == "L2"  # applied once
    data = {"csrf": csrf, "reason": "x"}
    no_id = await console.http.post("/console/cases/nw-case-1/actions/escalate", data=data)
    assert no_id.status_code == 400
    assert (await act("acknowledge")).json()["message"] == "Acknowledged: the case is yours."
    again = await act("acknowledge")
    assert again.status_code == 409 and again.json()["error"].startswith("The case refused: ")
    assert (await act("await_customer")).json()["status"] == "awaiting_customer"
    assert (await act("resolve")).status_code == 400  # a resolution is needed
    resolved = await act("resolve", "replaced the router")
    assert resolved.json() == {
        "status": "resolved",
        "level": "L2",
        "message": "Resolved.",
    }
    refused = await act("resolve", "again")
    assert refused.status_code == 409 and "resolved" in refused.json()["error"]
    assert (await act("delete")).status_code == 404
    assert state.resolution == "replaced the router"
    assert [name for _, name, _ in console.cases.acts] == [
        "escalate",
        "acknowledge",
        "await_customer",
        "resolve",
    ]
    assert all(payload.get("actor") == "sam" for _, _, payload in console.cases.acts)
    console.cases.closed.add("nw-case-1")
    ended = await act("acknowledge")
    assert ended.status_code == 410 and ended.json()["error"] == "This case has ended."
    console.cases.up = False
    down = await act("acknowledge")
    assert down.status_code == 503 and "applied once" in down.json()["error"]


async def test_an_agent_of_another_tenant_cannot_act_on_a_case(console: Console):
    console.live_case("nw-case-1")
    await console.sign_in("harbour-retail", "kim", "kim password")
    csrf = await console.csrf()
    for path in ("/reply", "/actions/resolve"):
        form = {"csrf": csrf, "text": "hi", "client_id": "a1b2c3d4-0002", "reason": "x"}
        sent = await console.http.post(f"/console/cases/nw-case-1{path}", data=form)
        assert sent.status_code == 404
    assert console.cases.acts == []


async def take(lines: AsyncIterator[str], count: int) -> list[Any]:
    """The next `count` events' data from one stream's lines."""
    found: list[Any] = []
    async for line in lines:
        if line.startswith("data: "):
            found.append(json.loads(line.removeprefix("data: ")))
            if len(found) == count:
                break
    return found


async def test_the_list_and_the_case_follow_the_store_live(
    console: Console, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(live, "POLL_SECONDS", 0.02)
    monkeypatch.setattr(live, "LIST_POLL_SECONDS", 0.02)
    console.records.write(chat_case("nw-wait-1", "northwind-telecom", "hello?", "waiting"))
    await console.sign_in("northwind-telecom", "sam", "sam password")
    session = console.http.cookies.get(SESSION)
    headers = {"Cookie": f"{SESSION}={session}"}  # Secure cookie, plain-http test socket
    async with served(console.app) as base, httpx.AsyncClient(base_url=base) as http:
        async with http.stream("GET", "/console/events", headers=headers) as response:
            lines = response.aiter_lines()
            [first] = await asyncio.wait_for(take(lines, 1), 5)
            assert [(r["case_id"], r["chat"]) for r in first] == [("nw-wait-1", "waiting")]
            joined = chat_case("nw-wait-1", "northwind-telecom", "", "joined")
            console.records.write(
                joined.model_copy(
                    update={
                        "messages": [entry(2, "I'm here", channel=Channel.CHAT)],
                        "summary": joined.summary.model_copy(update={"messages": 2}),
                    }
                )
            )
            [second] = await asyncio.wait_for(take(lines, 1), 5)
            assert second[0]["chat"] == "joined" and second[0]["last_text"] == "I'm here"
        url = "/console/cases/nw-wait-1/events?after=2"
        async with http.stream("GET", url, headers=headers) as response:
            lines = response.aiter_lines()
            [panel] = await asyncio.wait_for(take(lines, 1), 5)
            assert panel["chat"] == "in chat" and panel["level"] == 1
            now = chat_case("nw-wait-1", "northwind-telecom", "", "joined")
            console.records.write(
                now.model_copy(
                    update={
                        "messages": [entry(3, "Sorted, thanks", channel=Channel.CHAT)],
                        "summary": now.summary.model_copy(
                            update={"messages": 3, "status": "resolved"}
                        ),
                    }
                )
            )
            events = await asyncio.wait_for(take(lines, 2), 5)
        assert {"seq": 3, "text": "Sorted, thanks"}.items() <= events[0].items()
        assert events[1]["status"] == "resolved"
        signed_out = await http.get("/console/events")
        assert signed_out.status_code == 401


async def test_repeated_wrong_passwords_close_sign_in_for_the_account_for_a_while(
    console: Console,
):
    throttle = console.app.state.services.sign_ins
    now = [1000.0]
    throttle.clock = lambda: now[0]
    for _ in range(5):
        assert (await console.sign_in("northwind-telecom", "sam", "guess")).status_code == 401
    closed = await console.sign_in("northwind-telecom", "sam", "sam password")  # even right
    assert closed.status_code == 429 and "Too many failed sign-ins" in closed.text
    assert closed.headers["retry-after"] == "900" and SESSION not in closed.cookies
    other = await console.sign_in("harbour-retail", "kim", "kim password")  # another account
    assert other.status_code == 303
    now[0] += 15 * 60 + 1
    assert (await console.sign_in("northwind-telecom", "sam", "sam password")).status_code == 303


def test_the_throttle_counts_attempts_per_account_and_address_in_a_sliding_window():
    now = [0.0]
    throttle = SignInThrottle(
        per_account_address=2, per_address=3, per_account=4, window=60, clock=lambda: now[0]
    )
    assert throttle.begin("t/a", "1.2.3.4") == 0
    now[0] = 10
    assert throttle.begin("t/a", "1.2.3.4") == 0
    assert throttle.begin("t/a", "1.2.3.4") == 50  # until the first leaves the window
    assert throttle.begin("t/a", "5.6.7.8") == 0  # the same account from elsewhere: fine
    assert throttle.begin("t/b", "1.2.3.4") == 0  # the address's third attempt
    assert throttle.begin("t/c", "1.2.3.4") == 50  # a fourth account from it: wait
    assert throttle.begin("t/a", "9.9.9.9") == 0  # the account's fourth attempt anywhere
    assert throttle.begin("t/a", "8.8.8.8") == 50  # a distributed guess stops too
    now[0] = 61
    assert throttle.begin("t/a", "1.2.3.4") == 0


def test_a_right_password_is_not_counted_against_anyone():
    throttle = SignInThrottle(per_account_address=2, per_address=2, per_account=2)
    for _ in range(5):
        assert throttle.begin("t/a", "1.2.3.4") == 0
        throttle.succeeded("t/a", "1.2.3.4")
    assert throttle._attempts == {}


async def test_parallel_wrong_passwords_cannot_slip_past_the_limit(console: Console):
    form = await console.http.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert csrf is not None
    data = {"tenant": "northwind-telecom", "username": "sam", "password": "guess"}
    tries = [console.http.post("/console/login", data=data | {"csrf": csrf.group(1)})]
    tries += [
        console.http.post("/console/login", data=data | {"csrf": csrf.group(1)}) for _ in range(11)
    ]
    answers = sorted(r.status_code for r in await asyncio.gather(*tries))
    assert answers == [401] * 5 + [429] * 7  # five checked; the rest refused unchecked


async def test_a_session_ends_when_its_agent_is_removed_or_changes_password(console: Console):
    await console.sign_in("northwind-telecom", "sam", "sam password")
    assert (await console.http.get("/console")).status_code == 200
    agents = AgentStore(engine=console.records.engine)
    with agents.engine.begin() as conn:
        conn.execute(
            agents_table.update()
            .where(agents_table.c.username == "sam")
            .values(password_hash=hash_password("a new password"))
        )
    assert (await console.http.get("/console")).headers["location"] == "/console/login"
    events = await console.http.get("/console/events")
    assert events.status_code == 401


async def test_a_supervisor_opens_their_tenants_report_and_an_agent_cannot(console: Console):
    from domain.tenant import ConsoleConfig
    from tests.records.test_metrics import seed

    seed(console.records)
    await console.sign_in("northwind-telecom", "sam", "sam password")
    listing = await console.http.get("/console")
    assert 'id="report"' not in listing.text  # an agent: no link
    refused = await console.http.get("/console/report")
    assert refused.status_code == 403 and "for supervisors" in refused.text

    tenants = console.app.state.services.tenants.tenants
    northwind = tenants["northwind-telecom"]
    tenants["northwind-telecom"] = northwind.model_copy(
        update={"console": ConsoleConfig(supervisors=["sam"])}
    )
    try:
        assert 'href="/console/report"' in (await console.http.get("/console")).text
        page = await console.http.get("/console/report?since=2026-03-01&until=2026-03-31")
        assert page.status_code == 200 and "Northwind Mobile: operations report" in page.text
        # Northwind's four March cases; harbour-retail's case in the same store is not there.
        assert '<th scope="row">cases opened</th><td>4</td>' in page.text
        assert page.text.count('<figure class="chart"') == 4
        bad = await console.http.get("/console/report?since=March")
        assert bad.status_code == 400 and "YYYY-MM-DD" in bad.text
        backwards = await console.http.get("/console/report?since=2026-03-10&until=2026-03-01")
        assert backwards.status_code == 400
    finally:
        tenants["northwind-telecom"] = northwind
