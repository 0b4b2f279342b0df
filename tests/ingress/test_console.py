"""The agent console: signed-in agents only, their own tenant's cases, CSRF on every form."""

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from domain.models import Channel
from domain.tenant import TenantDirectory
from ingress.app import create_app
from ingress.chat_links import ChatLinks
from ingress.console import LOGIN_CSRF, SESSION
from ingress.spool import Spool
from records.agents import AgentStore, hash_password
from records.channels import ChannelStore
from records.store import CaseStore
from service.settings import Settings
from tests.ingress.conftest import FakeCases
from tests.ingress.test_chat_page import entry
from tests.records.test_store import batch


@dataclass
class Console:
    http: httpx.AsyncClient
    records: CaseStore

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
    app = create_app(
        settings,
        tenants=directory,
        store=ChannelStore(engine=records.engine),
        cases=FakeCases(),
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
        yield Console(http, records)
    records.close()


def chat_case(case_id: str, tenant: str, text: str, **summary: object):
    written = batch([entry(1, text, channel=Channel.CHAT)], case_id=case_id, **summary)
    return written.model_copy(
        update={
            "summary": written.summary.model_copy(
                update={"tenant": tenant, "channel": Channel.CHAT}
            )
        }
    )


async def test_an_agent_signs_in_sees_only_their_tenants_chats_and_signs_out(console: Console):
    console.records.write(chat_case("nw-chat-1", "northwind-telecom", "photo attached", level=2))
    console.records.write(chat_case("hb-chat-1", "harbour-retail", "harbour's secret"))
    console.records.write(batch([entry(1, "just a text")], case_id="nw-sms-1"))  # on SMS

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
    assert "nw-sms-1" not in page.text

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
